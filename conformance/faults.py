"""The fault scheduler of a conformance run: one fault every `interval_s`, each logged to the
history (with its monotonic timestamp) the moment it is injected, and healed after `down_s`
(the node restarted, the consumer started again) with a `restart` event.

Fault kinds, by what `noloss conform --faults` calls them, and the spec fault each is:
  kill             SIGKILL the master, restart it on its data directory   master crash
  power-loss       the master loses power: unsynced bytes gone            master power loss
  slave-kill       SIGKILL the slave                                      slave crash
  slave-power-loss the slave loses power                                  slave power loss
  both-power-loss  master and slave lose power together                   both power loss
  consumer-crash   the consumer dies without committing                   consumer crash
  disk-loss        the slave's data directory is wiped; it stays down     slave disk loss
  master-disk-loss the master's data directory is wiped; it stays down    master disk loss
  net-drop         the TCP proxy drops what is in flight on a link        net drop (silent)
  net-dup          the TCP proxy sends a chunk twice                      net dup (silent)
  failover         the master dies, the slave is promoted, clients follow  none: outside the spec
                   it; the old master comes back as the new slave
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

FAULTS: tuple[str, ...] = (
    "kill",
    "power-loss",
    "slave-kill",
    "slave-power-loss",
    "both-power-loss",
    "consumer-crash",
    "disk-loss",
    "master-disk-loss",
    "net-drop",
    "net-dup",
    "failover",
)
POWER_FAULTS = frozenset({"power-loss", "slave-power-loss", "both-power-loss"})
NET_FAULTS = frozenset({"net-drop", "net-dup"})
DISK_LOSS_NODE = {"disk-loss": "slave", "master-disk-loss": "master"}


class NetFaults(Protocol):
    """The TCP proxy on every link of the target (conformance/inject/net.py)."""

    def inject(self, kind: str) -> None:
        """`drop` or `dup` once, on a link the proxy picks."""

    def lose(self, node: str) -> None:
        """`node` is gone for good: drop what is in flight to and from it, refuse new connections."""

    def slow_replication(self, each_s: float) -> None:
        """Hold what the master pushes to its slave `each_s` seconds from now on."""


def parse_faults(text: str) -> tuple[str, ...]:
    """`kill,power-loss,...` -> the kinds; ValueError naming the bad one."""
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    if not kinds:
        raise ValueError("--faults: name at least one of " + ", ".join(FAULTS))
    for kind in kinds:
        if kind not in FAULTS:
            raise ValueError(f"--faults: unknown fault {kind!r}: allowed {', '.join(FAULTS)}")
    return kinds


@dataclass(frozen=True, slots=True)
class Schedule:
    kinds: tuple[str, ...]  # injected in turn
    interval_s: float  # between one fault and the next
    down_s: float  # how long a node stays down
    cycles: int | None = None  # stop after this many faults (None: until told)


class FaultScheduler:
    """Injects the schedule's faults in turn into a running target and workload."""

    def __init__(self, target: Target, workload: Workload, history: History, schedule: Schedule, net: NetFaults | None = None, seed: int = 0) -> None:
        self.target = target
        self.workload = workload
        self.history = history
        self.schedule = schedule
        self.net = net
        self.rng = random.Random(seed)
        self.injected: list[str] = []
        self._gone: set[str] = set()
        self._actions: dict[str, Callable[[], None]] = {
            "kill": lambda: self._node_fault("master", "crash", self.target.kill),
            "slave-kill": lambda: self._node_fault("slave", "crash", self.target.kill),
            "power-loss": lambda: self._node_fault("master", "power-loss", self.target.power_cut),
            "slave-power-loss": lambda: self._node_fault("slave", "power-loss", self.target.power_cut),
            "both-power-loss": self._both_power_loss,
            "consumer-crash": self._consumer_crash,
            "disk-loss": lambda: self._disk_loss("slave"),
            "master-disk-loss": lambda: self._disk_loss("master"),
            "net-drop": lambda: self._net("drop"),
            "net-dup": lambda: self._net("dup"),
            "failover": lambda: self.history.log_after(self.target.failover, "fault", node="master", kind="failover"),
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Inject faults in turn until `stop` is set or the cycles are done (and one more
        interval has passed, so the workload runs on the healed target too)."""
        turn = 0
        while not await _wait(stop, self.schedule.interval_s):
            if self.schedule.cycles is not None and turn >= self.schedule.cycles:
                return
            kind = self.schedule.kinds[turn % len(self.schedule.kinds)]
            turn += 1
            if DISK_LOSS_NODE.get(kind) in self._gone:
                continue
            await asyncio.to_thread(self._actions[kind])
            self.injected.append(kind)
            if kind not in NET_FAULTS:
                await asyncio.sleep(self.schedule.down_s)
                await asyncio.to_thread(self._heal, kind)

    # -- the faults ---------------------------------------------------------------------

    def _node_fault(self, node: str, kind: str, act: Callable[[str], None]) -> None:
        self.history.log_after(lambda: act(node), "fault", node=node, kind=kind)
        if node == "master" and self.target.elects:
            self.history.log("fault", node="master", kind="failover")  # the others elect a new master

    def _both_power_loss(self) -> None:
        def cut() -> None:
            for node in ("slave", "master"):
                if node not in self._gone:
                    self.target.power_cut(node)

        self.history.log_after(cut, "fault", node="both", kind="power-loss")

    def _consumer_crash(self) -> None:
        self.workload.crash_consumer()

    def _disk_loss(self, node: str) -> None:
        def lose() -> None:
            self.target.kill(node)
            if self.net is not None:
                self.net.lose(node)
            self.target.wipe(node)
            self._gone.add(node)

        self.history.log_after(lose, "fault", node=node, kind="disk-loss")

    def _net(self, kind: str) -> None:
        net = self.net
        if net is None:
            raise FaultUnavailable("network faults need the TCP proxy")
        self.history.log_after(lambda: net.inject(kind), "fault", node="net", kind=kind)

    def _heal(self, kind: str) -> None:
        nodes: Sequence[str] = {
            "kill": ("master",),
            "power-loss": ("master",),
            "slave-kill": ("slave",),
            "slave-power-loss": ("slave",),
            "both-power-loss": ("master", "slave"),
            "failover": ("slave",),  # the old master, now the promoted one's slave
        }.get(kind, ())
        for node in nodes:
            if node not in self._gone:
                self.history.log_after(lambda: self.target.restart(node), "restart", node=node)
        if kind == "consumer-crash":
            self.workload.restart_consumer()


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds` for `event`; whether it is set."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except asyncio.TimeoutError:
        pass
    return event.is_set()
