"""Two faults together: does a preset's model with every fault kind and `--max-faults 2` close?

    .venv/bin/python benchmarks/two_faults.py [--presets strict,...] [--max-faults 2] [--progress]

Each preset runs the full check (every property, liveness included) in a fresh process, so
the peak memory printed is its own. Printed per preset: states, transitions, BFS depth, wall
and CPU seconds, distinct states per CPU second, peak RSS, what the explorer keeps per state,
and the verdicts that are violated. The load (`uptime`) is printed before and after: the
machine's cores are shared, so CPU seconds are the fairer figure.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import uptime  # noqa: E402
from noloss.model_check.check import VIOLATED, check  # noqa: E402
from noloss.spec.rocketmq.config import PRESETS, preset  # noqa: E402
from noloss.spec.rocketmq.faults import FAULTS, FAULT_KINDS, FaultModel  # noqa: E402
from noloss.spec.rocketmq.protocol import ROCKETMQ  # noqa: E402


def measure(name: str, max_faults: int, progress: bool) -> dict[str, Any]:
    started, cpu_started = time.perf_counter(), time.process_time()
    result = check(ROCKETMQ, preset(name), FAULTS.of(FAULT_KINDS, max_faults), progress=progress)
    stats = result.stats
    return {
        "states": stats.states,
        "transitions": stats.transitions,
        "depth": stats.depth,
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu_started,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "kept": stats.kept_bytes,
        "violated": [verdict.name for verdict in result.violated],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="strict", help="comma-separated preset names, or all")
    parser.add_argument("--max-faults", type=int, default=2)
    parser.add_argument("--progress", action="store_true", help="a progress bar on stderr (a terminal only)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.max_faults, args.progress)))
        return 0
    names = list(PRESETS) if args.presets == "all" else args.presets.split(",")
    print(f"load before: {uptime()}")
    print(f"every fault kind, at most {args.max_faults} faults in a run; one fresh process per preset")
    print(f"{'preset':<22} {'states':>12} {'transitions':>13} {'depth':>5} {'wall s':>8} {'cpu s':>8} {'states/cpu-s':>12} {'peak MiB':>9} {'B/state':>7}")
    for name in names:
        command = [sys.executable, __file__, "--child", name, "--max-faults", str(args.max_faults)]
        if args.progress:
            command.append("--progress")
        output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
        figures = json.loads(output)
        states = figures["states"]
        print(
            f"{name:<22} {states:>12,} {figures['transitions']:>13,} {figures['depth']:>5} {figures['seconds']:>8.1f} "
            f"{figures['cpu']:>8.1f} {states / figures['cpu']:>12,.0f} {figures['peak_mib']:>9,.0f} {figures['kept'] / states:>7.0f}"
            f"  violated: {', '.join(figures['violated']) or 'none'}",
            flush=True,
        )
    print(f"load after: {uptime()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
