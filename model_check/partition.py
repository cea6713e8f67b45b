"""Breadth-first exploration of one model on several cores: states owned by hash.

Each worker process owns the states whose fields' stable hashes point to it (every process
computes them alike) and keeps them in its own compact store, keyed by its own per-field ids
(`codec.components`). The search goes level by level: every worker expands its frontier,
keeps the successors it owns at once, and sorts the rest by owner, each sent once a level;
the coordinator hands each owner its candidates, with every sender's field values met since
the last level, so the owner can map the sender's ids to its own; each owner keeps the new
candidates, checks every invariant on them and makes them, with its own, its next frontier.
Levels are synchronised, so a state's BFS depth, the distinct states and the transitions are
exactly those of the sequential explorer, and the first violation found is at the least
depth: its path (owner by owner, back along the parents) is a shortest counterexample,
rebuilt by replaying actions from the initial state.

Liveness needs the whole graph in one place; this explorer gives safety and reachability
verdicts only (the sequential one keeps edges for liveness).
"""

from __future__ import annotations

import multiprocessing
import time
from array import array
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

from noloss.model_check.codec import components
from noloss.model_check.explore import CheckableModel, Stats, Watch
from noloss.model_check.progress import Progress, wanted
from noloss.model_check.store import ExactStore

S = TypeVar("S", bound=Hashable)
A = TypeVar("A", bound=Hashable)

Batch = tuple[list[bytes], bytes, bytes]  # keys in the sender's ids; their parents' node ids and action ids (array bytes)
News = list[list[Any]]  # per field: the values a worker met since it last sent its news
Inbound = tuple[int, News, Batch]  # (sender, its news, its candidates for this owner)
Found = tuple[int, int, int]  # (depth, owner, node id) of a property's first state


@dataclass
class PartitionedExploration(Generic[S, A]):
    """What the workers found. Node ids are global: local id x workers + owner."""

    stats: Stats
    first_violation: dict[str, int]  # always-property -> node id
    first_witness: dict[str, int]  # sometimes-property -> node id
    paths: dict[int, list[tuple[A, S]]]  # node id above -> a shortest path to it, replayed

    def path_to(self, node: int) -> list[tuple[A, S]]:
        return self.paths[node]


class _Worker:
    """One owner: its store, its frontier, the parents of its states (worker, node, action)."""

    def __init__(self, model: CheckableModel[Any, Any], index: int, workers: int) -> None:
        self.model, self.index, self.workers = model, index, workers
        self.codec = components(type(model.init_states()[0]), workers)
        fields = len(self.codec.values)
        self.sent = [0] * fields  # per field: how many of its values the others have been told
        self.ids_of: dict[int, list[list[int]]] = {  # sender -> per field: its id -> this worker's id
            sender: [[] for _ in range(fields)] for sender in range(workers) if sender != index
        }
        self.store = ExactStore()
        self.parent_worker = array("b")
        self.parent_node = array("i")
        self.parent_action = array("i")
        self.frontier = array("i")
        self.following = array("i")
        self.action_ids: dict[Any, int] = {}
        self.actions: list[Any] = []
        self.watch: Watch[Any] = Watch(model)

    def _keep(self, key: bytes, state: Any, sender: int, node: int, action_id: int) -> None:
        ident, new = self.store.add(key)
        if new:
            self.parent_worker.append(sender)
            self.parent_node.append(node)
            self.parent_action.append(action_id)
            self.following.append(ident)
            self.watch.see(ident, state if state is not None else self.codec.decode(key))

    def seed(self) -> tuple[int, dict[str, int], dict[str, int]]:
        """Keep the initial states this worker owns as its first frontier."""
        for state in self.model.init_states():
            key, owner = self.codec.place(state)
            if owner == self.index:
                self._keep(key, state, -1, -1, -1)
        return self._next_frontier()

    def expand(self) -> tuple[list[Batch], News, int]:
        """Expand the frontier: keep the successors this worker owns, and give, per other owner,
        the candidates (each key once), the field values met since the last level, and how many
        transitions."""
        keys: list[list[bytes]] = [[] for _ in range(self.workers)]
        nodes = [array("i") for _ in range(self.workers)]
        actions = [array("i") for _ in range(self.workers)]
        offered: list[set[bytes]] = [set() for _ in range(self.workers)]
        transitions = 0
        model, place, decode, me = self.model, self.codec.place, self.codec.decode, self.index
        for node in self.frontier:
            state = decode(self.store[node])
            for action in model.actions(state):
                successor = model.next_state(state, action)
                transitions += 1
                action_id = self.action_ids.get(action)
                if action_id is None:
                    action_id = self.action_ids[action] = len(self.actions)
                    self.actions.append(action)
                key, owner = place(successor)
                if owner == me:
                    self._keep(key, successor, me, node, action_id)
                elif key not in offered[owner]:  # the owner keeps the first parent anyway
                    offered[owner].add(key)
                    keys[owner].append(key)
                    nodes[owner].append(node)
                    actions[owner].append(action_id)
        news = [values[sent:] for values, sent in zip(self.codec.values, self.sent)]
        self.sent = [len(values) for values in self.codec.values]
        batches = [(keys[owner], nodes[owner].tobytes(), actions[owner].tobytes()) for owner in range(self.workers)]
        return batches, news, transitions

    def absorb(self, inbound: list[Inbound]) -> tuple[int, dict[str, int], dict[str, int]]:
        """Keep the new candidates the others sent; (the next frontier's size, first violations, first witnesses)."""
        for sender, news, _ in inbound:  # every sender's ids first: one batch may use another's news
            for field, values in enumerate(news):
                self.ids_of[sender][field].extend(map(self.codec.intern[field], values))
        translate = self.codec.translate
        for sender, _, (keys, node_bytes, action_bytes) in inbound:
            ids = self.ids_of[sender]
            nodes, actions = array("i", node_bytes), array("i", action_bytes)
            for key, node, action_id in zip(keys, nodes, actions):
                self._keep(translate(key, *ids), None, sender, node, action_id)
        return self._next_frontier()

    def _next_frontier(self) -> tuple[int, dict[str, int], dict[str, int]]:
        self.frontier, self.following = self.following, array("i")
        return len(self.frontier), self.watch.first_violation, self.watch.first_witness

    def parent(self, node: int) -> tuple[int, int, Any]:
        """(worker, node, action) of the BFS parent of `node` (worker -1 for an initial state)."""
        sender = self.parent_worker[node]
        if sender < 0:
            return -1, -1, self.codec.decode(self.store[node])
        return sender, self.parent_node[node], self.parent_action[node]

    def action(self, action_id: int) -> Any:
        return self.actions[action_id]


def _serve(factory: Callable[[], CheckableModel[Any, Any]], index: int, workers: int, pipe: Connection) -> None:
    worker = _Worker(factory(), index, workers)
    while True:
        command, argument = pipe.recv()
        if command == "stop":
            pipe.send(len(worker.store))
            return
        pipe.send(getattr(worker, command)(*argument))


def explore_partitioned(
    factory: Callable[[], CheckableModel[S, A]], workers: int = 2, progress: bool = False
) -> PartitionedExploration[S, A]:
    """Explore the model `factory` builds (in every worker) on `workers` processes (with a
    progress bar, redrawn once a level, if `progress` and a terminal)."""
    started = time.perf_counter()
    reporter = Progress(wanted(progress))
    model = factory()
    context = multiprocessing.get_context("fork")
    pipes: list[Connection] = []
    processes = []
    for index in range(workers):
        here, there = context.Pipe()
        process = context.Process(target=_serve, args=(factory, index, workers, there), daemon=True)
        process.start()
        pipes.append(here)
        processes.append(process)

    def everyone(command: str, arguments: list[tuple[Any, ...]]) -> list[Any]:
        for pipe, argument in zip(pipes, arguments):
            pipe.send((command, argument))
        return [pipe.recv() for pipe in pipes]

    violations: dict[str, Found] = {}
    witnesses: dict[str, Found] = {}

    def note(depth: int, answers: list[tuple[int, dict[str, int], dict[str, int]]]) -> int:
        # A worker's firsts only grow: the first level a name shows up at is its least depth.
        for owner, (_, violated, witnessed) in enumerate(answers):
            for found, into in ((violated, violations), (witnessed, witnesses)):
                for name, node in found.items():
                    into.setdefault(name, (depth, owner, node))
        return sum(answer[0] for answer in answers)

    states = frontier = note(0, everyone("seed", [()] * workers))
    transitions = depth = 0
    pids = tuple(process.pid for process in processes if process.pid is not None)
    while frontier:
        reporter.level(frontier)
        reporter.tick(states, depth, pids)
        expanded = everyone("expand", [()] * workers)
        transitions += sum(count for _, _, count in expanded)
        inbound = [
            [(sender, news, batches[owner]) for sender, (batches, news, _) in enumerate(expanded) if sender != owner]
            for owner in range(workers)
        ]
        frontier = note(depth + 1, everyone("absorb", [(batch,) for batch in inbound]))
        states += frontier
        if frontier:
            depth += 1

    def path(owner: int, node: int) -> list[tuple[A, S]]:
        moves: list[tuple[int, int]] = []  # (worker that applied it, action id), last first
        while True:
            pipes[owner].send(("parent", (node,)))
            sender, parent_node, action_or_state = pipes[owner].recv()
            if sender < 0:
                state = action_or_state
                break
            moves.append((sender, action_or_state))
            owner, node = sender, parent_node
        steps: list[tuple[A, S]] = []
        for sender, action_id in reversed(moves):
            pipes[sender].send(("action", (action_id,)))
            action = pipes[sender].recv()
            state = model.next_state(state, action)
            steps.append((action, state))
        return steps

    reporter.done()
    found = list(violations.values()) + list(witnesses.values())
    paths = {node * workers + owner: path(owner, node) for _, owner, node in found}
    owned = everyone("stop", [()] * workers)
    for process in processes:
        process.join()
    assert sum(owned) == states
    stats = Stats(states, transitions, depth, time.perf_counter() - started, True)
    return PartitionedExploration(
        stats,
        {name: node * workers + owner for name, (_, owner, node) in violations.items()},
        {name: node * workers + owner for name, (_, owner, node) in witnesses.items()},
        paths,
    )
