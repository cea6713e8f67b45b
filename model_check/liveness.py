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

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import networkx as nx

from model_check.explore import CheckableModel, Exploration

S = TypeVar("S", bound=Hashable)
A = TypeVar("A", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Lasso(Generic[S, A]):
    """A run that never reaches the goal: `prefix` to the entry state, then `cycle` forever."""

    prefix: list[tuple[A, S]]  # from an initial state to the cycle's entry
    cycle: list[tuple[A, S]]  # from the entry back to the entry; empty: the run stops there


def find_lasso(
    model: CheckableModel[S, A],
    exploration: Exploration[S, A],
    goal: Callable[[Any, S], bool],
    is_fault: Callable[[A], bool],
) -> Lasso[S, A] | None:
    """The shortest-prefix run that never reaches `goal`, or None if every fair run does."""
    states = exploration.states
    bad = [node for node in range(len(states)) if not goal(model, states[node])]
    if not bad:
        return None
    fault_ids = {index for index, action in enumerate(exploration.actions) if is_fault(action)}
    bad_set = set(bad)
    calm = nx.DiGraph()  # bad states, and the non-fault edges between them
    calm.add_nodes_from(bad)
    successors = exploration.graph._succ
    for node in bad:
        for target, data in successors[node].items():
            if target in bad_set and data["a"] not in fault_ids:
                calm.add_edge(node, target)
    # (entry node, its component; None for a deadlock); the least entry has the shortest prefix.
    candidates: list[tuple[int, list[int] | None]] = []
    for node in bad:
        if not any(data["a"] not in fault_ids for data in successors[node].values()):
            candidates.append((node, None))  # nothing but faults can happen here
    for component in nx.strongly_connected_components(calm):
        members = sorted(component)
        looped = len(members) > 1 or calm.has_edge(members[0], members[0])
        if looped and _admits_fair_cycle(model, states, members, is_fault):
            candidates.append((members[0], members))
    if not candidates:
        return None
    entry, component = min(candidates, key=lambda item: item[0])
    prefix = exploration.path_to(entry)
    if component is None:
        return Lasso(prefix, [])
    return Lasso(prefix, _fair_cycle(model, states, component, entry, is_fault))


def _inner_moves(
    model: CheckableModel[S, A], states: list[S], members: Sequence[int], is_fault: Callable[[A], bool]
) -> tuple[dict[S, int], list[tuple[int, A, int]], list[set[A]]]:
    """Index of the component's states; its internal non-fault moves; each state's enabled actions."""
    index = {states[node]: node for node in members}
    moves: list[tuple[int, A, int]] = []
    enabled: list[set[A]] = []
    for node in members:
        actions = [a for a in model.actions(states[node]) if not is_fault(a)]
        enabled.append(set(actions))
        for action in actions:
            target = index.get(model.next_state(states[node], action))
            if target is not None:
                moves.append((node, action, target))
    return index, moves, enabled


def _admits_fair_cycle(
    model: CheckableModel[S, A], states: list[S], members: Sequence[int], is_fault: Callable[[A], bool]
) -> bool:
    _, moves, enabled = _inner_moves(model, states, members, is_fault)
    always_enabled = set.intersection(*enabled) if enabled else set()
    taken_inside = {action for _, action, _ in moves}
    return always_enabled <= taken_inside


def _fair_cycle(
    model: CheckableModel[S, A],
    states: list[S],
    members: Sequence[int],
    entry: int,
    is_fault: Callable[[A], bool],
) -> list[tuple[A, S]]:
    """A cycle from `entry` back to it that visits every state and takes every always-enabled action."""
    _, moves, enabled = _inner_moves(model, states, members, is_fault)
    inner = nx.DiGraph()
    labels: dict[tuple[int, int], A] = {}
    for source, action, target in moves:
        inner.add_edge(source, target)
        labels.setdefault((source, target), action)
    always_enabled = set.intersection(*enabled) if enabled else set()
    # Waypoints: one move per always-enabled action, then every state, then home.
    required = [next(m for m in moves if m[1] == action) for action in sorted(always_enabled, key=repr)]
    cycle: list[tuple[A, S]] = []
    here = entry
    visited = {entry}

    def walk(to: int) -> None:
        nonlocal here
        path = nx.shortest_path(inner, here, to)
        for source, target in zip(path, path[1:]):
            cycle.append((labels[(source, target)], states[target]))
        visited.update(path)
        here = to

    for source, action, target in required:
        walk(source)
        cycle.append((action, states[target]))
        visited.add(target)
        here = target
    for node in members:
        if node not in visited:
            walk(node)
    walk(entry)
    if not cycle:  # a one-state component: its self-loop
        action = next(a for source, a, target in moves if source == entry and target == entry)
        cycle.append((action, states[entry]))
    return cycle
