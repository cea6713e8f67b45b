"""A deterministic simulation of a master/slave pair: the cores over SimStorage with an
in-memory network, for tests and the model-based lockstep (noloss.conformance.rocketmq.world).

Who does what: `SimNode` plays the shell of one node exactly as server.py does (apply
Ready in its documented order, then advance), except that an fsync only finishes when
the test says (`finish_flush`) and time only moves on `tick`. `SimCluster` connects a
slave to its master and delivers frames between them when `pump`ed; frames addressed to
client connections are collected in `SimNode.inbox` for the test to read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from noloss.reference import messages as m
from noloss.reference.core import Connected, Disconnected, Flushed, NodeConfig, Received
from noloss.reference.node import drain, open_node
from noloss.reference.storage import SimLog, SimStorage

class SimNode:
    """One node: a core, its simulated disk, and what it sent to each connection."""

    def __init__(self, config: NodeConfig, storage: SimStorage | None = None) -> None:
        self.config = config
        self.storage = storage or SimStorage()
        self.inbox: dict[int, list[m.Wire]] = defaultdict(list)
        self.closed: dict[int, str] = {}
        self.flush_pending = False
        self.start()

    def start(self) -> None:
        """(Re)start the process: recover the log from storage, build a fresh core."""
        self.node = open_node(self.config, self.storage)
        assert isinstance(self.node.file, SimLog)
        self.file: SimLog = self.node.file
        self.core = self.node.core
        self.flush_pending = False

    def step(self, event: Connected | Disconnected | Received | Flushed) -> None:
        """Feed one event and do the resulting work."""
        self.core.step(event)
        self.drain()

    def tick(self, count: int = 1) -> None:
        """Let `count` ticks pass, doing the work each produces."""
        for _ in range(count):
            self.core.tick()
            self.drain()

    def drain(self) -> None:
        """Do every Ready batch in the documented order until the core is quiet."""
        drain(self.node, self)

    def write_meta(self, name: str, content: bytes) -> None:
        self.storage.write_meta(name, content)

    def request_flush(self) -> None:
        self.flush_pending = True

    def send(self, conn: int, message: m.Wire) -> None:
        if conn not in self.closed:
            self.inbox[conn].append(message)

    def close(self, conn: int, reason: str) -> None:
        self.closed[conn] = reason

    def truncate_log(self, offset: int) -> None:
        # The simulation writes no checkpoint, and its fsyncs finish only when told: an
        # fsync asked for before the cut finishes afterwards, covering the log as it is then.
        self.file.truncate(offset)

    def finish_flush(self) -> bool:
        """Let the requested fsync finish (a group commit of everything appended so far)."""
        if not self.flush_pending:
            return False
        self.flush_pending = False
        offset = self.file.size()
        self.file.sync()
        self.step(Flushed(offset))
        return True

    def take(self, conn: int) -> list[m.Wire]:
        """Remove and return what the node sent to `conn`."""
        return self.inbox.pop(conn, [])


class SimCluster:
    """A master and a slave; connection ids below 100 are the clients' to use."""

    MASTER_SIDE = 100
    """The master's id for its connection from the slave."""
    SLAVE_SIDE = 101
    """The slave's id for its connection to the master."""

    def __init__(self, master: NodeConfig, slave: NodeConfig, node: Callable[[NodeConfig], SimNode] = SimNode) -> None:
        """`node` builds each node's shell (a test's may show what the node does)."""
        self.master = node(master)
        self.slave = node(slave)
        self.linked = False
        self.close_reason = ""
        """Why the replication link was last closed by a node, if it was."""

    def link(self) -> None:
        """The slave connects to the master."""
        self.master.step(Connected(self.MASTER_SIDE))
        self.slave.step(Connected(self.SLAVE_SIDE, to_master=True))
        self.linked = True
        self.pump()

    def unlink(self) -> None:
        """The replication connection breaks (either side crashed or the network cut it)."""
        self.master.step(Disconnected(self.MASTER_SIDE))
        self.slave.step(Disconnected(self.SLAVE_SIDE))
        self.master.take(self.MASTER_SIDE)
        self.slave.take(self.SLAVE_SIDE)
        self.linked = False

    def pump(self, only: tuple[type[m.Wire], ...] | None = None) -> int:
        """Deliver replication frames both ways until none are left (of the kinds in `only`,
        if given: the others stay queued, in order); return how many."""
        delivered = 0
        while self.linked:
            to_slave = self._take(self.master, self.MASTER_SIDE, only)
            to_master = self._take(self.slave, self.SLAVE_SIDE, only)
            if not to_slave and not to_master:
                break
            for message in to_slave:
                self.slave.step(Received(self.SLAVE_SIDE, message))
            for message in to_master:
                self.master.step(Received(self.MASTER_SIDE, message))
            delivered += len(to_slave) + len(to_master)
            for side, conn in ((self.master, self.MASTER_SIDE), (self.slave, self.SLAVE_SIDE)):
                if conn in side.closed:
                    self.close_reason = side.closed.pop(conn)
                    self.unlink()
        return delivered

    @staticmethod
    def _take(node: SimNode, conn: int, only: tuple[type[m.Wire], ...] | None) -> list[m.Wire]:
        frames = node.take(conn)
        if only is None:
            return frames
        kept = [frame for frame in frames if not isinstance(frame, only)]
        if kept:
            node.inbox[conn] = kept
        return [frame for frame in frames if isinstance(frame, only)]
