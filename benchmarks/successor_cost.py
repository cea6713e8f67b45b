"""Where an exploration's CPU goes: the spec's successor function against the explorer's own work.

    .venv/bin/python benchmarks/successor_cost.py [--preset strict] [--scenario any-1]

One exploration (model_check.explore, edges kept, as `noloss check` runs it), then each part
of its work timed again on its own, over the same states in the same order, in CPU seconds:
  actions        Model.actions on every state (the guards, through their per-part cache)
  guards only    the same from the guards alone, without the cache
  next_state     Model.next_state on every (state, enabled action): effect + silent steps
  encode         the per-component codec on every successor
  seen-set       ExactStore.add of every successor's encoding
  decode         every stored state decoded once (the explorer expands each once)
  properties     every always-, sometimes- and eventually-predicate on every state
It then prints `next_state` per kind of action (count, CPU seconds, microseconds each) and
the ceiling: the states per CPU second of an explorer whose own work (encode, seen-set,
decode, bookkeeping) cost nothing, i.e. of the spec alone. The load (`uptime`) is printed
before and after: on shared cores every figure is slower than on a quiet machine.

The spec's modules run as they are imported: to measure them compiled (mypyc), put a
directory holding a compiled copy of the package on PYTHONPATH (the first line says which
`model` module ran); the state counts must not change.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Appended, not prepended: a compiled copy of the spec first on PYTHONPATH must win.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import uptime  # noqa: E402
from noloss.model_check.codec import codec_for  # noqa: E402
from noloss.model_check.explore import explore  # noqa: E402
from noloss.spec.rocketmq.faults import scenario  # noqa: E402
from noloss.model_check.store import ExactStore  # noqa: E402
from noloss.spec.rocketmq.config import preset  # noqa: E402
import noloss.spec.rocketmq.model as model_module  # noqa: E402
from noloss.spec.rocketmq.actions import Action  # noqa: E402
from noloss.spec.rocketmq.model import Model  # noqa: E402
from noloss.spec.rocketmq.state import State  # noqa: E402


def cpu_of(work: Callable[[], object]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="strict")
    parser.add_argument("--scenario", default="any-1")
    args = parser.parse_args()
    config, faults = preset(args.preset), scenario(args.scenario)
    print(f"load before: {uptime()}")
    print(f"{args.preset} x {args.scenario}; spec from {model_module.__file__}")

    model = Model(config, faults)
    started = time.process_time()
    exploration = explore(model, keep_edges=True)
    total = time.process_time() - started
    stats = exploration.stats
    print(f"explore: {stats.states:,} states, {stats.transitions:,} transitions, {total:.1f} CPU s, {stats.states / total:,.0f} states/CPU s")

    states = [exploration.state(node) for node in range(stats.states)]
    # The parts below hold a million states at once, which the explorer never does: without
    # this, the cyclic collector's full passes over them would be charged to the parts.
    gc.disable()
    fresh = Model(config, faults)  # a cold guard cache, as in the exploration
    parts: dict[str, float] = {}
    enabled: list[list[Action]] = []
    parts["actions"] = cpu_of(lambda: enabled.extend(fresh.actions(state) for state in states))
    parts["guards only"] = cpu_of(lambda: [fresh.enabled_unshared(state) for state in states])
    pairs = [(state, action) for state, actions in zip(states, enabled) for action in actions]
    successors: list[State] = []
    parts["next_state"] = cpu_of(lambda: successors.extend(fresh.next_state(state, action) for state, action in pairs))
    codec = codec_for(states[0])
    keys: list[bytes] = []
    parts["encode"] = cpu_of(lambda: keys.extend(codec.encode(successor) for successor in successors))
    store = ExactStore()
    parts["seen-set"] = cpu_of(lambda: [store.add(key) for key in keys])
    stored = [store[ident] for ident in range(len(store))]
    parts["decode"] = cpu_of(lambda: [codec.decode(key) for key in stored])
    predicates = [prop.predicate for prop in fresh.properties()]
    parts["properties"] = cpu_of(lambda: [predicate(fresh, state) for state in states for predicate in predicates])

    print(f"{'part':<12} {'CPU s':>7} {'share':>6}")
    for name, seconds in parts.items():
        share = "" if name == "guards only" else f"{seconds / total:>6.0%}"
        print(f"{name:<12} {seconds:>7.2f} {share}")
    spec = parts["actions"] + parts["next_state"] + parts["properties"]
    print(f"spec alone (actions + next_state + properties): {spec:.1f} CPU s, a ceiling of {stats.states / spec:,.0f} states/CPU s")

    counts: dict[tuple[str, str], int] = {}
    seconds_of: dict[tuple[str, str], float] = {}
    for state, action in pairs:
        kind = (action.actor, action.verb)
        began = time.process_time()
        fresh.next_state(state, action)
        seconds_of[kind] = seconds_of.get(kind, 0.0) + time.process_time() - began
        counts[kind] = counts.get(kind, 0) + 1
    print(f"{'next_state of':<28} {'count':>9} {'CPU s':>7} {'us each':>8}")
    for kind, seconds in sorted(seconds_of.items(), key=lambda item: -item[1])[:12]:
        print(f"{' '.join(kind):<28} {counts[kind]:>9,} {seconds:>7.2f} {seconds / counts[kind] * 1e6:>8.1f}")
    gc.enable()
    print(f"load after: {uptime()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
