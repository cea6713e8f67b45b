"""Liveness on the explored graph: `eventually goal`, under weak fairness, once faults stop.

Faults are bounded, so every infinite run has a suffix without faults: only non-fault edges
matter. A run never reaches the goal if, among the states where the goal is false (the bad
states), it either
  - stops: a bad state with no non-fault successor (a deadlock), or
  - cycles fairly: it stays forever in a strongly connected component of bad states and
    treats every action fairly. Weak fairness: an action enabled in every state of the cycle
    is taken on it. A cycle through the whole component is the fairest it can offer, so the
    component admits a fair cycle iff every action enabled in all its states is taken by some
    edge inside it.
The goal of every liveness property here is monotone along runs (acknowledged and processed
only grow), so the states of a cycle agree on it. A violation is reported as a lasso: the
BFS path to the cycle's entry and the cycle; replayable like any counterexample.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from noloss.model_check.explore import CheckableModel, Edges, Exploration

S = TypeVar("S", bound=Hashable)
A = TypeVar("A", bound=Hashable)

Move = tuple[int, int, int]  # (source node, action id, target node)


@dataclass(frozen=True, slots=True)
class Lasso(Generic[S, A]):
    """A run that never reaches the goal: `prefix` to the entry state, then `cycle` forever."""

    prefix: list[tuple[A, S]]  # from an initial state to the cycle's entry
    cycle: list[tuple[A, S]]  # from the entry back to the entry; empty: the run stops there


def find_lasso(
    model: CheckableModel[S, A],
    exploration: Exploration[S, A],
    goal: str,
    is_fault: Callable[[A], bool],
) -> Lasso[S, A] | None:
    """The shortest-prefix run that never reaches the goal of the eventually-property `goal`,
    or None if every fair run does."""
    edges = exploration.edges
    if edges is None:
        raise ValueError("liveness needs the exploration's edges")
    fault_ids = frozenset(index for index, action in enumerate(exploration.actions) if is_fault(action))
    found = _first_trap(edges, exploration.unmet[goal], len(exploration.actions), fault_ids)
    if found is None:
        return None
    entry, component = found
    prefix = exploration.path_to(entry)
    if component is None:
        return Lasso(prefix, [])
    entry_state = prefix[-1][1] if prefix else exploration.roots[entry]
    moves = _fair_cycle(edges, component, entry, fault_ids, lambda action_id: repr(exploration.actions[action_id]))
    cycle: list[tuple[A, S]] = []
    state = entry_state
    for action_id in moves:  # the cycle's states, replayed from its entry
        action = exploration.actions[action_id]
        state = model.next_state(state, action)
        cycle.append((action, state))
    return Lasso(prefix, cycle)


def _first_trap(
    edges: Edges, unmet: bytearray, action_count: int, fault_ids: frozenset[int]
) -> tuple[int, list[int] | None] | None:
    """The least node where a fault-free run can stay away from the goal forever: a deadlock
    (None) or the least member of a fair strongly connected component (its members).

    Whole-graph passes run on the CSR arrays as numpy vectors; the strongly connected
    components of the bad states' non-fault edges come from scipy.sparse.csgraph.
    """
    # Imported here, not at the top: every `noloss` command imports this module, and a
    # broker process (started again at each restart of a conformance run) needs none of it.
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    nodes = len(unmet)
    bad = np.frombuffer(unmet, dtype=np.uint8).astype(bool)
    if not bad.any():
        return None
    starts = np.frombuffer(edges.starts, dtype=np.int64)[: nodes + 1]
    targets = np.frombuffer(edges.targets, dtype=np.int32)
    actions = np.frombuffer(edges.actions, dtype=np.int32)
    sources = np.repeat(np.arange(nodes, dtype=np.int64), np.diff(starts))
    fault_action = np.zeros(action_count, dtype=bool)
    fault_action[list(fault_ids)] = True
    calm = ~fault_action[actions]  # a non-fault transition
    moves_out = np.bincount(sources[calm], minlength=nodes)
    deadlocks = np.flatnonzero(bad & (moves_out == 0))  # nothing but faults can happen here
    enabled = calm & bad[sources]  # non-fault transitions out of bad states
    inside = enabled & bad[targets]  # ... that stay among bad states
    graph = csr_matrix(
        (np.ones(int(inside.sum()), dtype=np.int8), (sources[inside], targets[inside])), shape=(nodes, nodes)
    )
    _, labels = connected_components(graph, directed=True, connection="strong")
    bad_nodes = np.flatnonzero(bad)
    size = np.bincount(labels[bad_nodes], minlength=nodes)
    looped = size > 1
    self_loops = inside & (sources == targets)
    looped[labels[sources[self_loops]]] = True
    # Weak fairness: every action enabled in all of a component's states is taken inside it.
    keyed = np.unique(sources[enabled] * action_count + actions[enabled])  # (state, action) once each
    component_action = labels[keyed // action_count].astype(np.int64) * action_count + keyed % action_count
    keys, holders = np.unique(component_action, return_counts=True)
    always = keys[holders == size[keys // action_count]]
    taken_inside = inside & (labels[sources] == labels[targets])
    taken = np.unique(labels[sources[taken_inside]].astype(np.int64) * action_count + actions[taken_inside])
    unfair = np.zeros(nodes, dtype=bool)
    unfair[always[~np.isin(always, taken)] // action_count] = True
    fair = looped & ~unfair
    fair_members = bad_nodes[fair[labels[bad_nodes]]]
    if not deadlocks.size and not fair_members.size:
        return None
    if not fair_members.size or (deadlocks.size and deadlocks[0] < fair_members[0]):
        return int(deadlocks[0]), None
    entry = int(fair_members[0])
    members = bad_nodes[labels[bad_nodes] == labels[entry]]
    return entry, [int(node) for node in members]


def _calm_moves(edges: Edges, sources: Sequence[int], inside: Sequence[int], fault_ids: frozenset[int]) -> Iterator[Move]:
    """The non-fault transitions from `sources` to nodes flagged in `inside`."""
    targets, actions = edges.targets, edges.actions
    for source in sources:
        for index in edges.out(source):
            target, action = targets[index], actions[index]
            if inside[target] and action not in fault_ids:
                yield source, action, target


def _inner_moves(edges: Edges, members: Sequence[int], fault_ids: frozenset[int]) -> tuple[list[Move], list[set[int]]]:
    """The component's internal non-fault moves, and each member's enabled non-fault actions."""
    inside = _Membership(members)
    moves = list(_calm_moves(edges, members, inside, fault_ids))
    enabled = [{edges.actions[index] for index in edges.out(node)} - fault_ids for node in members]
    return moves, enabled


class _Membership(Sequence[int]):
    """members as a 0/1 lookup by node id (what _calm_moves reads of `inside`)."""

    def __init__(self, members: Sequence[int]) -> None:
        self.members = frozenset(members)

    def __getitem__(self, node: int) -> int:  # type: ignore[override]
        return 1 if node in self.members else 0

    def __len__(self) -> int:
        return len(self.members)


def _fair_cycle(
    edges: Edges, members: Sequence[int], entry: int, fault_ids: frozenset[int], name: Callable[[int], str]
) -> list[int]:
    """The action ids of a cycle from `entry` back to it that visits every state and takes
    every always-enabled action (those in the order of their `name`)."""
    import networkx as nx  # only for a reported violation (see _first_trap)

    moves, enabled = _inner_moves(edges, members, fault_ids)
    inner = nx.DiGraph()
    labels: dict[tuple[int, int], int] = {}
    for source, action, target in moves:
        inner.add_edge(source, target)
        labels.setdefault((source, target), action)
    always_enabled = set.intersection(*enabled) if enabled else set()
    # Waypoints: one move per always-enabled action, then every state, then home.
    required = [next(m for m in moves if m[1] == action) for action in sorted(always_enabled, key=name)]
    cycle: list[int] = []
    here = entry
    visited = {entry}

    def walk(to: int) -> None:
        nonlocal here
        path = nx.shortest_path(inner, here, to)
        for source, target in zip(path, path[1:]):
            cycle.append(labels[(source, target)])
        visited.update(path)
        here = to

    for source, action, target in required:
        walk(source)
        cycle.append(action)
        visited.add(target)
        here = target
    for node in members:
        if node not in visited:
            walk(node)
    walk(entry)
    if not cycle:  # a one-state component: its self-loop
        cycle.append(next(action for source, action, target in moves if source == entry and target == entry))
    return cycle
