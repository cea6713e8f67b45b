"""Would another runtime or another seen-set make the checker faster? Measured side by side.

    .venv/bin/python benchmarks/other_runtimes.py [--preset strict] [--scenario net-dup]

One model, four rows, each in a fresh process (so each peak memory is its own):
  explore, compact store   model_check.explore as `noloss check` runs it (edges kept)
  explore, object store    the same explorer with the states themselves as dict keys: no
                           encoding, no decoding, ~5x the memory
  spec only, CPython       benchmarks/spec_only.py: a BFS over a set of states, the spec's
                           actions, next_state and invariants, and nothing the explorer keeps
                           (the ceiling of any explorer on this interpreter)
  spec only, PyPy          the same BFS under `pypy3` (Debian's package: PyPy 7.3 for Python
                           3.9), on a copy of the package with its two Python-3.10-only
                           constructs rewritten (`@dataclass(slots=True)`, an `A | B` alias
                           evaluated at import); skipped, with a line saying so, without pypy3
Printed per row: states, CPU seconds, states per CPU second, peak RSS. The states must be
equal in every row. The load (`uptime`) is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROWS = ("explore, compact store", "explore, object store", "spec only, CPython", "spec only, PyPy")
# The spec's packages as the interpreter imports them (noloss/<part> are links to these).
PARTS = ("spec", "model_check")


def spec_only_bfs(preset_name: str, scenario_name: str) -> int:
    """Distinct states of benchmarks/spec_only.py's BFS on one model."""
    from benchmarks.spec_only import spec_only
    from noloss.spec.rocketmq.faults import scenario
    from noloss.spec.rocketmq.config import preset
    from noloss.spec.rocketmq.model import Model

    return spec_only(Model(preset(preset_name), scenario(scenario_name)))[0]


class ObjectStore:
    """ExactStore's interface over a dict of the states themselves (the key *is* the state)."""

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}
        self.states: list[Any] = []

    def __len__(self) -> int:
        return len(self.states)

    def __getitem__(self, ident: int) -> Any:
        return self.states[ident]

    def add(self, key: Any, insert: bool = True) -> tuple[int, bool]:
        ident = self.ids.get(key)
        if ident is not None:
            return ident, False
        if not insert:
            return -1, True
        ident = self.ids[key] = len(self.states)
        self.states.append(key)
        return ident, True

    def nbytes(self) -> int:
        return 0  # not measured: the peak RSS says it


def explored(preset_name: str, scenario_name: str, objects: bool) -> int:
    from noloss.model_check import explore as explore_module
    from noloss.model_check.codec import Codec
    from noloss.spec.rocketmq.faults import scenario
    from noloss.spec.rocketmq.config import preset
    from noloss.spec.rocketmq.model import Model

    model = Model(preset(preset_name), scenario(scenario_name))
    if not objects:
        return explore_module.explore(model).stats.states
    # The explorer takes no store argument: for this one run, swap in the object store and an
    # identity codec.
    identity: Codec[Any] = Codec(lambda state: state, lambda state: state, "")
    with mock.patch.object(explore_module, "ExactStore", ObjectStore), mock.patch.object(
        explore_module, "codec_for", lambda example: identity
    ):
        return explore_module.explore(model).stats.states


def child(row: str, preset_name: str, scenario_name: str) -> None:
    started = time.process_time()
    if row == ROWS[0]:
        states = explored(preset_name, scenario_name, objects=False)
    elif row == ROWS[1]:
        states = explored(preset_name, scenario_name, objects=True)
    else:
        states = spec_only_bfs(preset_name, scenario_name)
    cpu = time.process_time() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"states": states, "cpu": cpu, "peak": peak}))


def pypy_copy(directory: Path) -> Path:
    """The package with PARTS copied (not linked) and rewritten for PyPy's Python 3.9."""
    package = directory / "noloss"
    shutil.copytree(ROOT / "noloss", package, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    for part in PARTS:
        (package / part).unlink()
        shutil.copytree(ROOT / part, package / part, ignore=shutil.ignore_patterns("__pycache__"))
        for source in (package / part).glob("*.py"):
            text = re.sub(r"(, )?slots=True(, )?", lambda m: ", " if m.group(1) and m.group(2) else "", source.read_text())
            text = text.replace("@dataclass()", "@dataclass")
            text = re.sub(
                r"^(\w+) = (\w+(?: \| \w+)+)$",
                lambda m: f"{m.group(1)} = __import__('typing').Union[{m.group(2).replace(' | ', ', ')}]",
                text,
                flags=re.MULTILINE,
            )
            source.write_text(text)
    (directory / "benchmarks").mkdir()
    shutil.copy(ROOT / "benchmarks" / "spec_only.py", directory / "benchmarks" / "spec_only.py")
    shutil.copy(Path(__file__), directory / "bench.py")
    return directory / "bench.py"


def run_row(row: str, args: argparse.Namespace, pypy_script: Path | None) -> dict[str, Any] | None:
    if row == ROWS[3]:
        if pypy_script is None:
            return None
        command = ["pypy3", str(pypy_script), "--child", row]
    else:
        command = [sys.executable, __file__, "--child", row]
    command += ["--preset", args.preset, "--scenario", args.scenario]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="strict")
    parser.add_argument("--scenario", default="net-dup")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.preset, args.scenario)
        return 0
    from benchmarks.machine import uptime

    print(f"load before: {uptime()}")
    print(f"{args.preset} x {args.scenario}")
    print(f"{'row':<24} {'states':>9} {'CPU s':>7} {'states/CPU s':>13} {'peak MiB':>9}")
    with tempfile.TemporaryDirectory(prefix="noloss-pypy-") as directory:
        pypy_script = pypy_copy(Path(directory)) if shutil.which("pypy3") else None
        for row in ROWS:
            result = run_row(row, args, pypy_script)
            if result is None:
                print(f"{row:<24} skipped: no pypy3 on PATH (Debian: apt-get install pypy3)")
                continue
            rate = result["states"] / result["cpu"]
            print(f"{row:<24} {result['states']:>9,} {result['cpu']:>7.1f} {rate:>13,.0f} {result['peak']:>9,.0f}")
    print(f"load after: {uptime()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
