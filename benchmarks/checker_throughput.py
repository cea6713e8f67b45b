"""Checker throughput: the networkx-graph explorer against a plain-dict BFS, same successor function.

    .venv/bin/python benchmarks/checker_throughput.py [--max-states N] [--workloads any-1,any-2]

For each workload it runs, each in a fresh process (so peak memory is its own):
  graph  model_check.explore: states in a networkx DiGraph with action-labelled edges, BFS
         parents, every invariant on every state;
  plain  the same BFS and invariant checks with a dict of states and parent pointers only.
and prints states, transitions, seconds, states/s and peak RSS, and the graph/plain ratios.
`any-2` (seed-strict, all fault kinds, --max-faults 2) is larger than memory allows here, so it
is explored up to --max-states and marked 'bounded': the rate is real, the run is not a proof.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model_check.explore import explore  # noqa: E402
from spec.config import preset  # noqa: E402
from spec.faults import FAULT_KINDS, FaultModel  # noqa: E402
from spec.model import Model  # noqa: E402
from spec.properties import ALWAYS  # noqa: E402

WORKLOADS = {
    "any-1": lambda: FaultModel.of(FAULT_KINDS, 1),
    "any-2": lambda: FaultModel.of(FAULT_KINDS, 2),
}


def plain_bfs(model: Model, max_states: int | None) -> tuple[int, int, bool]:
    """BFS with a dict of states -> parent id and the same invariant checks; no graph."""
    invariants = [p.predicate for p in model.properties() if p.kind == ALWAYS]
    initial = model.init_states()
    parent: dict[object, int] = {}
    order: list[object] = []
    for state in initial:
        parent[state] = -1
        order.append(state)
    frontier = list(initial)
    transitions = 0
    complete = True
    violations = 0
    parts: dict[object, object] = {}  # the same interning of state parts as the explorer does
    while frontier:
        following = []
        for state in frontier:
            here = parent[state]
            for action in model.actions(state):
                successor = model.next_state(state, action)
                transitions += 1
                if successor in parent:
                    continue
                if max_states is not None and len(order) >= max_states:
                    complete = False
                    continue
                successor = type(successor)._make(parts.setdefault(part, part) for part in successor)
                parent[successor] = here
                order.append(successor)
                violations += sum(1 for check in invariants if not check(model, successor))
                following.append(successor)
        frontier = following
    return len(order), transitions, complete


def measure(variant: str, workload: str, max_states: int | None) -> dict[str, object]:
    model = Model(preset("seed-strict"), WORKLOADS[workload]())
    started = time.perf_counter()
    if variant == "graph":
        stats = explore(model, max_states=max_states).stats
        states, transitions, complete = stats.states, stats.transitions, stats.complete
    else:
        states, transitions, complete = plain_bfs(model, max_states)
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"states": states, "transitions": transitions, "seconds": seconds, "complete": complete, "peak_mib": peak_mib}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="any-1,any-2")
    parser.add_argument("--max-states", type=int, default=1_500_000, help="bound for workloads too large to close")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        variant, workload = args.child
        bound = None if workload == "any-1" else args.max_states
        print(json.dumps(measure(variant, workload, bound)))
        return 0
    print("seed-strict, every fault kind; one process per run, one core each")
    print(f"{'workload':<8} {'variant':<6} {'states':>10} {'transitions':>12} {'seconds':>8} {'states/s':>9} {'peak MiB':>9}")
    for workload in args.workloads.split(","):
        figures = {}
        for variant in ("graph", "plain"):
            command = [sys.executable, __file__, "--child", variant, workload, "--max-states", str(args.max_states)]
            figures[variant] = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            f = figures[variant]
            note = "" if f["complete"] else "  bounded (not closed)"
            rate = f["states"] / f["seconds"]
            print(
                f"{workload:<8} {variant:<6} {f['states']:>10,} {f['transitions']:>12,} {f['seconds']:>8.1f} "
                f"{rate:>9,.0f} {f['peak_mib']:>9,.0f}{note}"
            )
        graph, plain = figures["graph"], figures["plain"]
        print(
            f"{workload:<8} graph/plain: time x{graph['seconds'] / plain['seconds']:.2f}, "
            f"peak memory x{graph['peak_mib'] / plain['peak_mib']:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
