"""The fault scheduler of a conformance run: one fault every `interval_s`, each logged to the
history (with its monotonic timestamp) the moment it is injected, and healed after `down_s`
(the node restarted, the consumer started again) with a `restart` event.

Fault kinds are the spec's, by the names `noloss check` uses (the protocol's fault table,
model_check/faults.py); each kind's `inject` says what is done to real processes, and its
action `(node, verb)` is the `fault` event the history logs:
  kill        SIGKILL the node, restart it on its data directory
  power-cut   the node (or, for `both`, master and slave together) loses power: unsynced
              bytes are gone; it restarts on what was on disk
  wipe        the node's data directory is wiped; it stays down (a permanent loss)
  crash       the consumer dies without committing
  drop, dup   the TCP proxy drops what is in flight on a link, or sends a chunk twice (silent)
and one kind outside the spec, judged by the counts alone:
  failover    the master dies, the slave is promoted, clients follow it; the old master
              comes back as the new slave
A disk-lost node never comes back: the spec's disk loss is permanent, so it happens at most
once per run. A lost machine takes with it what its kernel had not yet put on the wire, so
when the links go through the TCP proxy, a disk loss also cuts the node's connections
(what the proxy still holds for them is never delivered) and refuses new ones.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from noloss.conformance.history import History
from noloss.conformance.targets.base import FaultUnavailable, Target
from noloss.conformance.workload import Workload
from noloss.model_check.faults import FaultKind, FaultTable

FAILOVER = "failover"  # outside every spec: a slave promoted to master
_NODES = ("master", "slave")


def conform_kinds(table: FaultTable) -> tuple[str, ...]:
    """Every kind `noloss conform --faults` takes: the spec's, then failover."""
    return table.names + (FAILOVER,)


def needs_proxy(table: FaultTable, kinds: Sequence[str]) -> bool:
    """Some kind is injected on the TCP proxy (a drop or a dup)."""
    return any(kind in table.index and table.kind(kind).inject in ("drop", "dup") for kind in kinds)


def needs_power_loss(table: FaultTable, kinds: Sequence[str]) -> bool:
    """Some kind cuts a node's power: its data directory must be on the power-loss filesystem."""
    return any(kind in table.index and table.kind(kind).inject == "power-cut" for kind in kinds)


def nodes_hit(table: FaultTable, kind: str) -> tuple[str, ...]:
    """The broker nodes a kind takes down (none for the consumer and the network)."""
    if kind == FAILOVER:
        return ("master",)
    node = table.kind(kind).node
    return _NODES if node == "both" else tuple(n for n in _NODES if n == node)


def parse_faults(text: str, table: FaultTable, renamed: dict[str, str] | None = None) -> tuple[str, ...]:
    """`master-crash,master-power-loss,...` -> the kinds; ValueError naming the bad one (and, for
    a name conform used before it took the spec's, the new name)."""
    allowed = conform_kinds(table)
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    if not kinds:
        raise ValueError("--faults: name at least one of " + ", ".join(allowed))
    for kind in kinds:
        if renamed and kind in renamed:
            raise ValueError(f"--faults: {kind!r} is now {renamed[kind]!r}, the name `noloss check` uses")
        if kind not in allowed:
            raise ValueError(f"--faults: unknown fault {kind!r}: allowed {', '.join(allowed)}")
    return kinds


class NetFaults(Protocol):
    """The TCP proxy on every link of the target (conformance/inject/net.py)."""

    def inject(self, kind: str) -> None:
        """`drop` or `dup` once, on a link the proxy picks."""

    def lose(self, node: str) -> None:
        """`node` is gone for good: drop what is in flight to and from it, refuse new connections."""

    def slow_replication(self, each_s: float) -> None:
        """Hold what the master pushes to its slave `each_s` seconds from now on."""


@dataclass(frozen=True, slots=True)
class Schedule:
    kinds: tuple[str, ...]  # injected in turn
    interval_s: float  # between one fault and the next
    down_s: float  # how long a node stays down
    cycles: int | None = None  # stop after this many faults (None: until told)


class FaultScheduler:
    """Injects the schedule's faults in turn into a running target and workload."""

    def __init__(
        self,
        target: Target,
        workload: Workload,
        history: History,
        schedule: Schedule,
        table: FaultTable,
        net: NetFaults | None = None,
        seed: int = 0,
    ) -> None:
        self.target = target
        self.workload = workload
        self.history = history
        self.schedule = schedule
        self.table = table
        self.net = net
        self.rng = random.Random(seed)
        self.injected: list[str] = []
        self._gone: set[str] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Inject faults in turn until `stop` is set or the cycles are done (and one more
        interval has passed, so the workload runs on the healed target too)."""
        turn = 0
        while not await _wait(stop, self.schedule.interval_s):
            if self.schedule.cycles is not None and turn >= self.schedule.cycles:
                return
            kind = self.schedule.kinds[turn % len(self.schedule.kinds)]
            turn += 1
            fault = None if kind == FAILOVER else self.table.kind(kind)
            if fault is not None and fault.permanent and fault.node in self._gone:
                continue
            await asyncio.to_thread(self._inject, fault)
            self.injected.append(kind)
            if fault is None or fault.inject not in ("drop", "dup"):
                await asyncio.sleep(self.schedule.down_s)
                await asyncio.to_thread(self._heal, fault)

    # -- the faults ---------------------------------------------------------------------

    def _inject(self, fault: FaultKind | None) -> None:
        """Do what `fault` says (None: a failover); the history's `fault` event is its action."""
        if fault is None:
            self.history.log_after(self.target.failover, "fault", node="master", kind=FAILOVER)
            return
        node, verb = fault.action
        if fault.inject == "kill":
            self._node_fault(node, verb, self.target.kill)
        elif fault.inject == "power-cut" and fault.node == "both":
            self._both_power_loss(node, verb)
        elif fault.inject == "power-cut":
            self._node_fault(node, verb, self.target.power_cut)
        elif fault.inject == "wipe":
            self._disk_loss(node, verb)
        elif fault.inject == "crash":
            self.workload.crash_consumer()
        else:
            self._net(node, verb)

    def _node_fault(self, node: str, verb: str, act: Callable[[str], None]) -> None:
        self.history.log_after(lambda: act(node), "fault", node=node, kind=verb)
        if node == "master" and self.target.elects:
            self.history.log("fault", node="master", kind=FAILOVER)  # the others elect a new master

    def _both_power_loss(self, node: str, verb: str) -> None:
        def cut() -> None:
            for each in ("slave", "master"):
                if each not in self._gone:
                    self.target.power_cut(each)

        self.history.log_after(cut, "fault", node=node, kind=verb)

    def _disk_loss(self, node: str, verb: str) -> None:
        def lose() -> None:
            self.target.kill(node)
            if self.net is not None:
                self.net.lose(node)
            self.target.wipe(node)
            self._gone.add(node)

        self.history.log_after(lose, "fault", node=node, kind=verb)

    def _net(self, node: str, verb: str) -> None:
        net = self.net
        if net is None:
            raise FaultUnavailable("network faults need the TCP proxy")
        self.history.log_after(lambda: net.inject(verb), "fault", node=node, kind=verb)

    def _heal(self, fault: FaultKind | None) -> None:
        """Restart what the fault took down (a failover's old master comes back as the new
        slave); a permanent loss stays down."""
        if fault is not None and fault.inject == "crash":
            self.workload.restart_consumer()
            return
        if fault is not None and fault.permanent:
            return
        nodes = ("slave",) if fault is None else nodes_hit(self.table, fault.name)
        for node in nodes:
            if node not in self._gone:
                self.history.log_after(lambda: self.target.restart(node), "restart", node=node)


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds` for `event`; whether it is set."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except asyncio.TimeoutError:
        pass
    return event.is_set()
