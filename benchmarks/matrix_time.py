"""The default guarantee matrix, timed: wall time, cells, states, the largest cell.

    .venv/bin/python benchmarks/matrix_time.py [--jobs N]

The aim: the default `noloss matrix` finishes in under 60 s on a 2-core machine. The CPU
seconds of the parent and its workers are printed beside the wall time, and the load
(`uptime`) before and after: on shared cores the wall time measures the neighbours too.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import cpu_seconds, uptime  # noqa: E402
from noloss.model_check.matrix import run_matrix  # noqa: E402
from noloss.spec.rocketmq.faults import DEFAULT_SCENARIOS  # noqa: E402
from noloss.spec.rocketmq.config import PRESETS  # noqa: E402
from noloss.spec.rocketmq.protocol import ROCKETMQ  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    print(f"load before: {uptime()}")
    cpu_before = cpu_seconds()
    matrix = run_matrix(ROCKETMQ, list(PRESETS), list(DEFAULT_SCENARIOS), jobs=args.jobs)
    cpu = cpu_seconds() - cpu_before
    cells = matrix.cells
    largest = max(cells, key=lambda cell: cell.result.stats.states)
    slowest = max(cells, key=lambda cell: cell.result.stats.seconds)
    print(f"cores: {os.cpu_count()}, jobs: {matrix.jobs}")
    print(f"cells: {len(cells)} ({matrix.explored} distinct models explored)")
    print(f"wall time: {matrix.seconds:.1f} s (aim: under 60 s on 2 cores); CPU: {cpu:.1f} s")
    print(f"states in all cells: {sum(cell.result.stats.states for cell in cells):,}")
    print(f"checking time summed over explored models: {sum(r.stats.seconds for r in {id(c.result): c.result for c in cells}.values()):.1f} s")
    print(
        f"largest cell: {largest.preset} × {largest.scenario}: {largest.result.stats.states:,} states, "
        f"{largest.result.stats.seconds:.1f} s"
    )
    print(f"slowest cell: {slowest.preset} × {slowest.scenario}: {slowest.result.stats.seconds:.1f} s")
    print(f"load after: {uptime()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
