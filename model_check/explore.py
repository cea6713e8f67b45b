"""Breadth-first exploration of every reachable state, kept as a networkx DiGraph.

Nodes are compact ints (discovery order); each edge carries `a`, the id of its action in
`Exploration.actions`. Every invariant is checked on every state as it is discovered, and
the BFS parent of each state is kept, so the first violating state found is at the least
depth and the path to it is a shortest counterexample. A state or depth bound stops the run
early and marks it incomplete: then only violations are conclusive, never a 'holds'.
"""

from __future__ import annotations

import sys
import time
from array import array
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import networkx as nx

from spec.properties import ALWAYS, SOMETIMES

S = TypeVar("S", bound=Hashable)
A = TypeVar("A", bound=Hashable)
S_contra = TypeVar("S_contra", contravariant=True)


class CheckableProperty(Protocol[S_contra]):
    """A named predicate (the spec's Property, or a toy model's)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def predicate(self) -> Callable[[Any, S_contra], bool]: ...


class CheckableModel(Protocol[S, A]):
    """What the checker needs of a model (the spec's Model, or a toy one in the tests)."""

    def init_states(self) -> Sequence[S]: ...
    def actions(self, state: S) -> Sequence[A]: ...
    def next_state(self, state: S, action: A) -> S: ...
    def properties(self) -> Sequence[CheckableProperty[S]]: ...


@dataclass(frozen=True, slots=True)
class Stats:
    states: int  # distinct states reached
    transitions: int  # (state, action) pairs applied, including those reaching known states
    depth: int  # BFS depth of the deepest state
    seconds: float
    complete: bool  # False: a bound stopped the run before the graph was closed

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else float(self.states)


@dataclass
class Exploration(Generic[S, A]):
    """The explored graph and what was found on it."""

    graph: nx.DiGraph
    states: list[S]  # node id -> state
    actions: list[A]  # action id -> action (edge attribute `a`)
    parent: array  # type: ignore[type-arg]  # node id -> BFS parent id (-1 for initial states)
    parent_action: array  # type: ignore[type-arg]  # node id -> action id of the BFS tree edge
    initial: list[int]
    stats: Stats
    first_violation: dict[str, int] = field(default_factory=dict)  # always-property -> node id
    first_witness: dict[str, int] = field(default_factory=dict)  # sometimes-property -> node id

    def path_to(self, node: int) -> list[tuple[A, S]]:
        """The BFS-tree path from an initial state to `node`: a shortest one."""
        steps: list[tuple[A, S]] = []
        while self.parent[node] >= 0:
            steps.append((self.actions[self.parent_action[node]], self.states[node]))
            node = self.parent[node]
        steps.reverse()
        return steps


class Progress:
    """Progress on stderr for runs longer than a second: states, states/s, queue depth."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.start = time.perf_counter()
        self.next_report = self.start + 1.0
        self.printed = False

    def tick(self, states: int, queue: int, depth: int) -> None:
        now = time.perf_counter()
        if not self.enabled or now < self.next_report:
            return
        self.next_report = now + 1.0
        rate = states / (now - self.start)
        print(f"\rexplored {states:,} states  {rate:,.0f}/s  queue {queue:,}  depth {depth}", end="", file=sys.stderr)
        self.printed = True

    def done(self) -> None:
        if self.printed:
            print(file=sys.stderr)


def explore(
    model: CheckableModel[S, A],
    max_states: int | None = None,
    max_depth: int | None = None,
    progress: bool = False,
) -> Exploration[S, A]:
    """Explore every state reachable from the initial states, checking every property on each."""
    started = time.perf_counter()
    reporter = Progress(progress)
    props = list(model.properties())
    invariants = [(p.name, p.predicate) for p in props if p.kind == ALWAYS]
    sometimes = [(p.name, p.predicate) for p in props if p.kind == SOMETIMES]
    graph = nx.DiGraph()
    ids: dict[S, int] = {}
    states: list[S] = []
    action_ids: dict[A, int] = {}
    actions: list[A] = []
    parent = array("l")
    parent_action = array("l")
    first_violation: dict[str, int] = {}
    first_witness: dict[str, int] = {}
    # Edges are written straight into the graph's adjacency dicts (what add_edge does, minus
    # its per-call checks): this loop is the checker's hot path.
    successors_of = graph._succ
    predecessors_of = graph._pred
    node_attributes = graph._node
    # Memory: every node shares one (empty, never written) attribute dict, and every edge of
    # one action shares one read-only label dict {"a": id}; a dict per edge would double
    # the graph's size. Sub-values of states (a node's log, the producer, ...) are interned so
    # that equal parts of different states are one object.
    no_attributes: dict[str, object] = {}
    labels: list[dict[str, int]] = []
    parts: dict[object, object] = {}

    def intern(state: S) -> S:
        if not isinstance(state, tuple) or not hasattr(state, "_fields"):
            return state
        shared = tuple(parts.setdefault(part, part) for part in state)
        return type(state)._make(shared)  # type: ignore[attr-defined, no-any-return]

    def discover(state: S, parent_id: int, action_id: int) -> int:
        node = len(states)
        state = intern(state)
        ids[state] = node
        states.append(state)
        parent.append(parent_id)
        parent_action.append(action_id)
        node_attributes[node] = no_attributes
        successors_of[node] = {}
        predecessors_of[node] = {}
        for name, predicate in invariants:
            if name not in first_violation and not predicate(model, state):
                first_violation[name] = node
        for name, predicate in sometimes:
            if name not in first_witness and predicate(model, state):
                first_witness[name] = node
        return node

    initial = [discover(state, -1, -1) for state in model.init_states() if state not in ids]
    frontier = list(initial)
    depth = 0
    transitions = 0
    complete = True
    while frontier:
        if max_depth is not None and depth >= max_depth:
            complete = False
            break
        following: list[int] = []
        for node in frontier:
            state = states[node]
            out = successors_of[node]
            for action in model.actions(state):
                successor = model.next_state(state, action)
                transitions += 1
                action_id = action_ids.get(action)
                if action_id is None:
                    action_id = action_ids[action] = len(actions)
                    actions.append(action)
                    labels.append({"a": action_id})
                target = ids.get(successor)
                if target is None:
                    if max_states is not None and len(states) >= max_states:
                        complete = False
                        continue
                    target = discover(successor, node, action_id)
                    following.append(target)
                if target not in out:
                    # Same as graph.add_edge(node, target, a=action_id), without its per-call checks.
                    data = labels[action_id]
                    out[target] = data
                    predecessors_of[target][node] = data
            reporter.tick(len(states), len(following), depth)
        frontier = following
        if frontier:
            depth += 1
    reporter.done()
    stats = Stats(len(states), transitions, depth, time.perf_counter() - started, complete)
    return Exploration(graph, states, actions, parent, parent_action, initial, stats, first_violation, first_witness)
