"""The same `noloss` command on this checkout and on another one (an older version), in turns.

    python benchmarks/side_by_side.py --other DIR [--turns 3] -- check --preset strict --faults all --quiet

DIR is a checkout of another revision (`git worktree add DIR REV`). Each turn runs the
command once here and once there (A, B, A, B, ...), each in a fresh interpreter with that
checkout first on sys.path, and reads the child's CPU seconds from the kernel, so both see
the same neighbours; it prints one line per run and the median of each side. The command's
output must be the same on both sides (the verdicts and state counts a change must keep):
it says so, or prints the first line that differs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))
from benchmarks.machine import uptime  # noqa: E402


def one_run(checkout: Path, argv: list[str]) -> tuple[float, float, str]:
    """(wall s, CPU s, stdout minus timings) of `noloss ARGV` run from `checkout`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # `-m noloss` from the checkout's folder: its own package comes first on sys.path.
    done = subprocess.run([sys.executable, "-m", "noloss", *argv], cwd=checkout, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1, 3):
        raise SystemExit(f"{checkout}: noloss {' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    # Timings differ from run to run: compare everything else.
    kept = [line for line in done.stdout.splitlines() if " s " not in line and "states/s" not in line]
    return wall, cpu, "\n".join(kept)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", required=True, type=Path, help="a checkout of another revision")
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("argv", nargs=argparse.REMAINDER, help="-- then the noloss command")
    args = parser.parse_args()
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    sides = {"this": HERE, "other": args.other.resolve()}
    print(f"noloss {' '.join(argv)}; load before: {uptime()}")
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    outputs: dict[str, str] = {}
    for turn in range(1, args.turns + 1):
        for name, checkout in sides.items():
            wall, seconds, output = one_run(checkout, argv)
            cpu[name].append(seconds)
            outputs.setdefault(name, output)
            print(f"turn {turn}  {name:<5}  wall {wall:7.2f} s  cpu {seconds:7.2f} s")
    for name in sides:
        print(f"median {name:<5}  cpu {statistics.median(cpu[name]):7.2f} s  ({sides[name]})")
    print(f"this/other: {statistics.median(cpu['this']) / statistics.median(cpu['other']):.3f} of the CPU")
    same = outputs["this"] == outputs["other"]
    if not same:
        pairs = zip(outputs["this"].splitlines(), outputs["other"].splitlines())
        first = next(((a, b) for a, b in pairs if a != b), ("(lengths differ)", ""))
        print(f"outputs DIFFER: this {first[0]!r} / other {first[1]!r}")
    else:
        print("outputs: the same verdicts, counts and counterexamples on both sides")
    print(f"load after: {uptime()}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
