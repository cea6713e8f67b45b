"""Breadth-first exploration of one model on several cores: states owned by hash.

Each worker process owns the states whose encoding hashes to it (a stable hash, so every
process agrees) and keeps them in its own compact store. The search goes level by level:
every worker expands its frontier and sorts the successors by owner; the coordinator hands
each owner its candidates; each owner keeps the new ones, checks every invariant on them and
makes them its next frontier. Levels are synchronised, so a state's BFS depth, the distinct
states and the transitions are exactly those of the sequential explorer, and the first
violation found is at the least depth: its path (owner by owner, back along the parents) is
a shortest counterexample, rebuilt by replaying actions from the initial state.

Liveness needs the whole graph in one place; this explorer gives safety and reachability
verdicts only (the sequential one keeps edges for liveness).
"""

from __future__ import annotations

import multiprocessing
import time
import zlib
from array import array
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

from noloss.model_check.codec import codec_for
from noloss.model_check.explore import CheckableModel, Stats, Watch
from noloss.model_check.store import ExactStore

S = TypeVar("S", bound=Hashable)
A = TypeVar("A", bound=Hashable)

Candidate = tuple[bytes, int, int, int]  # (encoding, sending worker, its node id, its action id)
Found = tuple[int, int, int]  # (depth, owner, node id) of a property's first state


def owner_of(key: bytes, workers: int) -> int:
    return zlib.crc32(key) % workers


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
        self.codec = codec_for(model.init_states()[0])
        self.store = ExactStore()
        self.parent_worker = array("b")
        self.parent_node = array("i")
        self.parent_action = array("i")
        self.frontier = array("i")
        self.action_ids: dict[Any, int] = {}
        self.actions: list[Any] = []
        self.watch: Watch[Any] = Watch(model)

    def expand(self) -> tuple[list[list[Candidate]], int]:
        """The successors of the frontier, sorted by owner; and how many transitions."""
        outgoing: list[list[Candidate]] = [[] for _ in range(self.workers)]
        transitions = 0
        model, encode, decode = self.model, self.codec.encode, self.codec.decode
        for node in self.frontier:
            state = decode(self.store[node])
            for action in model.actions(state):
                key = encode(model.next_state(state, action))
                transitions += 1
                action_id = self.action_ids.get(action)
                if action_id is None:
                    action_id = self.action_ids[action] = len(self.actions)
                    self.actions.append(action)
                outgoing[owner_of(key, self.workers)].append((key, self.index, node, action_id))
        return outgoing, transitions

    def absorb(self, candidates: list[Candidate]) -> tuple[int, dict[str, int], dict[str, int]]:
        """Keep the new candidates as the next frontier; (how many, first violations, first witnesses)."""
        self.frontier = array("i")
        for key, sender, node, action_id in candidates:
            ident, new = self.store.add(key)
            if not new:
                continue
            self.parent_worker.append(sender)
            self.parent_node.append(node)
            self.parent_action.append(action_id)
            self.frontier.append(ident)
            self.watch.see(ident, self.codec.decode(key))
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
    factory: Callable[[], CheckableModel[S, A]], workers: int = 2
) -> PartitionedExploration[S, A]:
    """Explore the model `factory` builds (in every worker) on `workers` processes."""
    started = time.perf_counter()
    model = factory()
    codec = codec_for(model.init_states()[0])
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

    seeds: list[list[Candidate]] = [[] for _ in range(workers)]
    for state in model.init_states():
        key = codec.encode(state)
        seeds[owner_of(key, workers)].append((key, -1, -1, -1))
    states = frontier = note(0, everyone("absorb", [(batch,) for batch in seeds]))
    transitions = depth = 0
    while frontier:
        expanded = everyone("expand", [()] * workers)
        transitions += sum(count for _, count in expanded)
        inbound = [[candidate for outgoing, _ in expanded for candidate in outgoing[owner]] for owner in range(workers)]
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
