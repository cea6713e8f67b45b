"""What every shell does the same way: build a node's core from its storage, and carry
out Ready batches in the order `core.Ready` prescribes.

Who does what: server.py (real files and sockets) and sim.py (simulated disk and
network) both call `open_node` on start and `drain` whenever the core may have work;
they differ only in how they send, close and fsync (`ShellIO`). A test's shell that shows
each batch takes them one at a time (`carry_out`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from noloss.reference import log
from noloss.reference import messages as m
from noloss.reference.checkpoint import Checkpoint
from noloss.reference.core import OFFSETS_FILE, NodeConfig, NodeCore, Ready, Role
from noloss.reference.core_master import MasterCore
from noloss.reference.core_slave import SlaveCore
from noloss.reference.recovery import recover_node
from noloss.reference.storage import LogFile, Storage

LOG_NAME = "commitlog"


class ShellIO(Protocol):
    """The things a shell does its own way."""

    def write_meta(self, name: str, content: bytes) -> None:
        """Replace metadata file `name` atomically and durably; a real shell does it on
        its fsync thread, after the fsyncs already requested (no reply waits on it)."""

    def request_flush(self) -> None:
        """Start an fsync of the log (or note that one is wanted); do not wait for it."""

    def send(self, conn: int, message: m.Wire) -> None:
        """Send `message` on `conn`; drop it if `conn` is closed."""

    def close(self, conn: int, reason: str) -> None:
        """Close `conn`, logging `reason` on one line."""

    def truncate_log(self, offset: int) -> None:
        """Forget the checkpoint, then cut the commit log to `offset` bytes; an fsync already
        running must not report the old end as flushed."""


@dataclass
class Node:
    """A started node: its core, its log file, what recovery found and the checkpoint
    the next one continues from."""

    core: NodeCore
    file: LogFile
    storage: Storage
    recovery: log.Recovery
    checkpoint: Checkpoint


def open_node(config: NodeConfig, storage: Storage) -> Node:
    """Recover the commit log from its checkpoint (truncating a torn tail; LogDamaged if
    a record below the checkpoint is bad) and build the core for the role."""
    file = storage.open_log(LOG_NAME)
    recovered = recover_node(storage, file, LOG_NAME)
    recovery = recovered.recovery
    offsets = storage.read_meta(OFFSETS_FILE)
    core: NodeCore
    if config.role is Role.SLAVE:
        core = SlaveCore(config, file, recovery, offsets)
    else:
        core = MasterCore(config, file, recovery, offsets)
    return Node(core, file, storage, recovery, recovered.checkpoint)


def drain(node: Node, io: ShellIO) -> None:
    """Carry out Ready batches until the core has nothing left to do."""
    while not (ready := node.core.ready()).empty():
        carry_out(node, ready, io)


def carry_out(node: Node, ready: Ready, io: ShellIO) -> None:
    """Do one Ready batch in the order `core.Ready` prescribes, then tell the core (advance).
    Apart from `drain` so that a shell that looks at each batch (a test's) does it the same way."""
    if ready.truncate is not None:
        io.truncate_log(ready.truncate)
    if ready.appends:
        # One write for the whole batch: the page-cache side of group commit.
        node.file.append(b"".join(ready.appends))
    for name, content in ready.meta.items():
        io.write_meta(name, content)
    if ready.flush:
        io.request_flush()
    for conn, message in ready.frames:
        io.send(conn, message)
    for conn, reason in ready.closes:
        io.close(conn, reason)
    node.core.advance()
