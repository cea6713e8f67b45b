"""Breadth-first exploration of every reachable state, kept compactly.

States are kept encoded (model_check.codec) in a store without a Python object per state
(model_check.store); nodes are ints in discovery order. Every invariant is checked on every
state as it is discovered, and the BFS parent of each state (and the action leading to it)
is kept in arrays, so the first violating state found is at the least depth and the path to
it is a shortest counterexample. Safety needs nothing more; for liveness the explorer also
keeps every transition as CSR arrays (node -> its run of targets and action ids) and, per
`eventually` property, which states do not meet its goal.

A state or depth bound stops the run early and marks it incomplete: then only violations
are conclusive, never a 'holds'. In fingerprint mode only a 64-bit hash of each state is
kept; paths and states are rebuilt by replaying actions from the initial state.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from noloss.model_check.codec import Codec, codec_for
from noloss.model_check.progress import Progress, wanted
from noloss.model_check.store import ExactStore, FingerprintStore
from noloss.model_check.kinds import ALWAYS, EVENTUALLY, SOMETIMES

if TYPE_CHECKING:  # networkx is imported where a graph is built: a broker process never needs it
    import networkx as nx

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
    def statement(self) -> str: ...
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
    kept_bytes: int = 0  # memory of what the explorer keeps: store, parents, edges, goal flags
    omission_probability: float | None = None  # fingerprint mode: bound on a missed state

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else float(self.states)


@dataclass(frozen=True, slots=True)
class Edges:
    """Every transition applied, as CSR arrays: node n's run is starts[n]:starts[n+1]."""

    starts: array  # type: ignore[type-arg]  # one entry per expanded node, plus the end
    targets: array  # type: ignore[type-arg]
    actions: array  # type: ignore[type-arg]  # action ids

    def out(self, node: int) -> range:
        """Indexes into targets/actions of `node`'s transitions (none if it was not expanded)."""
        if node + 1 >= len(self.starts):
            return range(0)
        return range(self.starts[node], self.starts[node + 1])

    def nbytes(self) -> int:
        return sum(part.itemsize * len(part) for part in (self.starts, self.targets, self.actions))


@dataclass
class Exploration(Generic[S, A]):
    """What was explored and found: node ids, BFS parents, edges, first violations."""

    model: CheckableModel[S, A]
    codec: Codec[S]
    store: ExactStore | FingerprintStore
    roots: dict[int, S]  # node id -> initial state
    actions: list[A]  # action id -> action
    parent: array  # type: ignore[type-arg]  # node id -> BFS parent id (-1 for initial states)
    parent_action: array  # type: ignore[type-arg]  # node id -> action id of the BFS tree edge
    edges: Edges | None  # None when no liveness property asked for them
    unmet: dict[str, bytearray]  # eventually-property -> node id -> 1 where its goal is false
    stats: Stats
    first_violation: dict[str, int] = field(default_factory=dict)  # always-property -> node id
    first_witness: dict[str, int] = field(default_factory=dict)  # sometimes-property -> node id

    @property
    def initial(self) -> list[int]:
        return list(self.roots)

    def path_to(self, node: int) -> list[tuple[A, S]]:
        """The BFS-tree path from an initial state to `node` (a shortest one), replayed."""
        action_ids: list[int] = []
        while self.parent[node] >= 0:
            action_ids.append(self.parent_action[node])
            node = self.parent[node]
        state = self.roots[node]
        steps: list[tuple[A, S]] = []
        for action_id in reversed(action_ids):
            action = self.actions[action_id]
            state = self.model.next_state(state, action)
            steps.append((action, state))
        return steps

    def state(self, node: int) -> S:
        if isinstance(self.store, ExactStore):
            return self.codec.decode(self.store[node])
        path = self.path_to(node)
        return path[-1][1] if path else self.roots[node]

    def graph(self) -> nx.DiGraph:
        """The explored graph for networkx (edge attribute `a`: the action id), e.g. for exports."""
        if self.edges is None:
            raise ValueError("this exploration kept no edges")
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_nodes_from(range(self.stats.states))
        edges = self.edges
        graph.add_edges_from(
            (node, edges.targets[index], {"a": edges.actions[index]})
            for node in range(len(edges.starts) - 1)
            for index in edges.out(node)
        )
        return graph


class Watch(Generic[S]):
    """The always- and sometimes-properties, judged on each state as it is discovered."""

    def __init__(self, model: CheckableModel[S, Any]) -> None:
        self.model = model
        props = list(model.properties())
        self.invariants = [(p.name, p.predicate) for p in props if p.kind == ALWAYS]
        self.sometimes = [(p.name, p.predicate) for p in props if p.kind == SOMETIMES]
        self.first_violation: dict[str, int] = {}  # always-property -> first node breaking it
        self.first_witness: dict[str, int] = {}  # sometimes-property -> first node having it

    def see(self, node: int, state: S) -> None:
        model = self.model
        for name, predicate in self.invariants:
            if name not in self.first_violation and not predicate(model, state):
                self.first_violation[name] = node
        for name, predicate in self.sometimes:
            if name not in self.first_witness and predicate(model, state):
                self.first_witness[name] = node


def explore(
    model: CheckableModel[S, A],
    max_states: int | None = None,
    max_depth: int | None = None,
    progress: bool = False,
    fingerprint: bool = False,
    keep_edges: bool = True,
) -> Exploration[S, A]:
    """Explore every state reachable from the initial states, checking every property on each."""
    started = time.perf_counter()
    reporter = Progress(wanted(progress))
    watch = Watch(model)
    goals = [(p.name, p.predicate, bytearray()) for p in model.properties() if p.kind == EVENTUALLY]
    initial_states = list(model.init_states())
    codec = codec_for(initial_states[0])
    encode, decode = codec.encode, codec.decode
    store: ExactStore | FingerprintStore = FingerprintStore() if fingerprint else ExactStore()
    add = store.add
    action_ids: dict[A, int] = {}
    actions: list[A] = []
    parent = array("i")
    parent_action = array("i")
    edges = Edges(array("q", [0]), array("i"), array("i")) if keep_edges else None
    limit = max_states if max_states is not None else -1

    def discover(node: int, state: S, parent_id: int, action_id: int) -> None:
        parent.append(parent_id)
        parent_action.append(action_id)
        watch.see(node, state)
        for _, goal, unmet in goals:
            unmet.append(0 if goal(model, state) else 1)

    roots: dict[int, S] = {}
    frontier = array("i")
    keys: list[bytes] = []  # fingerprint mode: the frontier's encodings (the store has none)
    for state in initial_states:
        key = encode(state)
        node, new = add(key, True)
        if new:
            roots[node] = state
            discover(node, state, -1, -1)
            frontier.append(node)
            keys.append(key)
    depth = 0
    transitions = 0
    complete = True
    while frontier:
        if max_depth is not None and depth >= max_depth:
            complete = False
            break
        reporter.level(len(frontier))
        following = array("i")
        following_keys: list[bytes] = []
        for position, node in enumerate(frontier):
            state = decode(keys[position] if fingerprint else store[node])  # type: ignore[index]
            for action in model.actions(state):
                successor = model.next_state(state, action)
                transitions += 1
                action_id = action_ids.get(action)
                if action_id is None:
                    action_id = action_ids[action] = len(actions)
                    actions.append(action)
                key = encode(successor)
                target, new = add(key, len(parent) != limit)
                if new:
                    if target < 0:  # the state bound: not stored, not expanded
                        complete = False
                        continue
                    discover(target, successor, node, action_id)
                    following.append(target)
                    if fingerprint:
                        following_keys.append(key)
                if edges is not None:
                    edges.targets.append(target)
                    edges.actions.append(action_id)
            if edges is not None:
                edges.starts.append(len(edges.targets))
            reporter.tick(len(parent), depth)
        frontier, keys = following, following_keys
        if frontier:
            depth += 1
    reporter.done()
    kept = store.nbytes() + parent.itemsize * len(parent) * 2 + sum(len(unmet) for _, _, unmet in goals)
    if edges is not None:
        kept += edges.nbytes()
    omission = store.omission_probability(transitions) if isinstance(store, FingerprintStore) else None
    stats = Stats(len(parent), transitions, depth, time.perf_counter() - started, complete, kept, omission)
    unmet_of = {name: unmet for name, _, unmet in goals}
    return Exploration(
        model, codec, store, roots, actions, parent, parent_action, edges, unmet_of, stats, watch.first_violation, watch.first_witness
    )
