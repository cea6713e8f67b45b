"""What every shell does the same way: build a node's core from its storage, and carry
out Ready batches in the order `core.Ready` prescribes.

Who does what: server.py (real files and sockets) and sim.py (simulated disk and
network) both call `open_node` on start and `drain` whenever the core may have work;
they differ only in how they send, close and fsync (`ShellIO`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from reference import log
from reference import messages as m
from reference.core import OFFSETS_FILE, NodeConfig, NodeCore, Role
from reference.core_master import MasterCore
from reference.core_slave import SlaveCore
from reference.storage import LogFile, Storage

LOG_NAME = "commitlog"


class ShellIO(Protocol):
    """The three things a shell does its own way."""

    def request_flush(self) -> None:
        """Start an fsync of the log (or note that one is wanted); do not wait for it."""

    def send(self, conn: int, message: m.Wire) -> None:
        """Send `message` on `conn`; drop it if `conn` is closed."""

    def close(self, conn: int, reason: str) -> None:
        """Close `conn`, logging `reason` on one line."""


@dataclass
class Node:
    """A started node: its core, its log file and what recovery found."""

    core: NodeCore
    file: LogFile
    storage: Storage
    recovery: log.Recovery


def open_node(config: NodeConfig, storage: Storage) -> Node:
    """Recover the commit log (truncating a bad tail) and build the core for the role."""
    file = storage.open_log(LOG_NAME)
    recovery = log.recover(file)
    offsets = storage.read_meta(OFFSETS_FILE)
    core: NodeCore
    if config.role is Role.SLAVE:
        core = SlaveCore(config, file, recovery, offsets)
    else:
        core = MasterCore(config, file, recovery, offsets)
    return Node(core, file, storage, recovery)


def drain(node: Node, io: ShellIO) -> None:
    """Carry out Ready batches until the core has nothing left to do."""
    while True:
        ready = node.core.ready()
        if ready.empty():
            return
        if ready.appends:
            # One write for the whole batch: the page-cache side of group commit.
            node.file.append(b"".join(ready.appends))
        for name, content in ready.meta.items():
            node.storage.write_meta(name, content)
        if ready.flush:
            io.request_flush()
        for conn, message in ready.frames:
            io.send(conn, message)
        for conn, reason in ready.closes:
            io.close(conn, reason)
        node.core.advance()
