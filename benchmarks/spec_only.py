"""A BFS over the spec that keeps the states in a plain set and nothing else, checking every
invariant and reachability predicate on each new state, as the explorer's Watch does (not
imported: model_check.explore needs networkx, which PyPy lacks): what the spec's successor function alone costs, the ceiling of
any explorer that calls it (benchmarks/checker_throughput.py, benchmarks/other_runtimes.py;
the latter also runs it under PyPy, so it imports only the spec and the checker).
"""

from __future__ import annotations

from noloss.model_check.kinds import ALWAYS, SOMETIMES
from noloss.spec.rocketmq.model import Model


def spec_only(model: Model) -> tuple[int, int]:
    """(states, transitions) of a BFS keeping only a set of the states."""
    predicates = [p.predicate for p in model.properties() if p.kind in (ALWAYS, SOMETIMES)]
    seen = set(model.init_states())
    frontier = list(seen)
    transitions = 0
    while frontier:
        following = []
        for state in frontier:
            for action in model.actions(state):
                successor = model.next_state(state, action)
                transitions += 1
                if successor not in seen:
                    seen.add(successor)
                    for predicate in predicates:
                        predicate(model, successor)
                    following.append(successor)
        frontier = following
    return len(seen), transitions
