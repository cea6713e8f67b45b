"""Checker throughput and memory: the old networkx explorer against the compact one, one run.

    .venv/bin/python benchmarks/checker_throughput.py [--workloads any-1,any-2] [--variants ...] [--matrix]

Model: the strict preset with every fault kind (`any-1`: at most one fault, `any-2`: two).
Each (workload, variant) runs in a fresh process, so its peak memory is its own:
  networkx     the explorer before the compact store (benchmarks/networkx_explorer.py):
               states as NamedTuples, every edge in a networkx DiGraph;
  compact      model_check.explore: encoded states in an arena, CSR edges, parents in arrays;
  fingerprint  the same with 64-bit fingerprints instead of states (TLC's mode);
  partitioned  model_check.partition on every core: states owned by hash, one process each;
  spec-only    a BFS that keeps the states in a plain set and nothing else, with the same
               invariant checks: what the spec's successor function alone costs, the ceiling
               of any explorer that calls it.
Every variant checks every invariant on every state. Printed per run: states, transitions,
wall and CPU seconds, states per CPU second (the fair rate when other work shares the
cores), peak RSS, and what the explorer keeps per state (compact variants).
`--matrix` also times the default matrix (every preset x every single-fault scenario).
The machine's load (`uptime`) is printed before and after: other work shares the cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import cpu_seconds, uptime  # noqa: E402
from benchmarks.networkx_explorer import explore_into_networkx  # noqa: E402
from benchmarks.spec_only import spec_only  # noqa: E402
from noloss.model_check.explore import explore  # noqa: E402
from noloss.model_check.matrix import run_matrix  # noqa: E402
from noloss.spec.rocketmq.faults import DEFAULT_SCENARIOS  # noqa: E402
from noloss.spec.rocketmq.config import PRESETS, preset  # noqa: E402
from noloss.spec.rocketmq.faults import FAULTS, FAULT_KINDS, FaultModel  # noqa: E402
from noloss.spec.rocketmq.model import Model  # noqa: E402
from noloss.spec.rocketmq.protocol import ROCKETMQ  # noqa: E402

PRESET = "strict"
FAULT_BOUND = {"any-1": 1, "any-2": 2}
VARIANTS = ("compact", "networkx", "spec-only", "fingerprint", "partitioned")


def measure(variant: str, workload: str) -> dict[str, Any]:
    config, faults = preset(PRESET), FAULTS.of(FAULT_KINDS, FAULT_BOUND[workload])
    model = Model(config, faults)
    started = time.perf_counter()
    kept = 0
    omission = None
    if variant == "networkx":
        states, transitions = explore_into_networkx(model)
    elif variant == "spec-only":
        states, transitions = spec_only(model)
    elif variant == "partitioned":
        from noloss.model_check.partition import explore_partitioned

        result = explore_partitioned(lambda: Model(config, faults), workers=os.cpu_count() or 1)
        states, transitions = result.stats.states, result.stats.transitions
    else:
        stats = explore(model, fingerprint=variant == "fingerprint").stats
        states, transitions, kept, omission = stats.states, stats.transitions, stats.kept_bytes, stats.omission_probability
    seconds = time.perf_counter() - started
    cpu = cpu_seconds()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "states": states,
        "transitions": transitions,
        "seconds": seconds,
        "cpu": cpu,
        "peak_mib": peak_mib + children_mib,
        "kept": kept,
        "omission": omission,
    }


def report(workload: str, variant: str, figures: dict[str, Any]) -> None:
    states, seconds, kept = int(figures["states"]), float(figures["seconds"]), int(figures["kept"])
    per_state = f"{kept / states:>8.0f}" if kept else f"{'-':>8}"
    omission = f"  omission p <= {figures['omission']:.1e}" if figures["omission"] is not None else ""
    cpu = float(figures["cpu"])
    print(
        f"{workload:<6} {variant:<12} {states:>11,} {figures['transitions']:>12,} {seconds:>8.1f} {cpu:>8.1f} "
        f"{states / cpu:>10,.0f} {figures['peak_mib']:>9,.0f} {per_state}{omission}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="any-1")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--matrix", action="store_true", help="also time the default matrix")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child)))
        return 0
    print(f"load before: {uptime()}")
    print(f"{PRESET}, every fault kind; one fresh process per run; cores: {os.cpu_count()}")
    print("seconds: wall; cpu: CPU seconds of the run's processes (a shared machine slows the wall clock)")
    print(
        f"{'faults':<6} {'variant':<12} {'states':>11} {'transitions':>12} {'seconds':>8} {'cpu':>8} "
        f"{'states/cpu-s':>10} {'peak MiB':>9} {'B/state':>8}"
    )
    for workload in args.workloads.split(","):
        for variant in args.variants.split(","):
            if variant == "networkx" and workload != "any-1":
                print(f"{workload:<6} {variant:<12} (skipped: it does not close in this machine's memory)")
                continue
            command = [sys.executable, __file__, "--child", variant, workload]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            report(workload, variant, json.loads(output))
    if args.matrix:
        cpu_before = cpu_seconds()
        matrix = run_matrix(ROCKETMQ, list(PRESETS), list(DEFAULT_SCENARIOS))
        print(
            f"default matrix: {len(matrix.cells)} cells ({matrix.explored} models), {matrix.jobs} jobs: "
            f"{matrix.seconds:.1f} s wall, {cpu_seconds() - cpu_before:.1f} s CPU"
        )
    print(f"load after: {uptime()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
