"""Loopback ports for what the harness starts, kills and restarts (broker nodes, proxies).

A node's port has to stay free while the node is down: after a kill and through its boot,
which takes 10-40 s for RabbitMQ on two busy cores. A port of the kernel's ephemeral range
(net.ipv4.ip_local_port_range) does not: the kernel hands a free one to anyone who binds
port 0, and Erlang binds port 0 before every connect — the restarting node's own connection
to epmd, held for its lifetime, is one. When that lands on the node's AMQP port, the node
exits at boot with `eaddrinuse` (docs/brokers.md, "Ports"). `ss -tanp` shows no holder:
a socket that is only bound is in no TCP state it lists.

So a port comes from below the ephemeral range, where the kernel hands nothing out by
itself, and is reserved among noloss processes (several engineers' runs share a machine)
with a one-byte lock at its offset in a shared file, held until the process exits.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
import threading
from pathlib import Path

EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
DEFAULT_EPHEMERAL = (32768, 60999)  # Linux's default, where the file cannot be read
LOWEST = 20000  # below: well-known services' fixed ports are denser
TRIES = 2000

_lock = threading.Lock()
_mine: set[int] = set()
_reservations: int | None = None  # the descriptor holding this process's locks


def ephemeral_range(text: str | None = None) -> tuple[int, int]:
    """The kernel's ephemeral port range (first, last), from `text` or the running kernel."""
    if text is None:
        try:
            text = EPHEMERAL_RANGE_FILE.read_text()
        except OSError:
            return DEFAULT_EPHEMERAL
    first, last = (int(field) for field in text.split())
    return first, last


def candidates(ephemeral: tuple[int, int]) -> range:
    """The wider of the two stretches of [LOWEST, 65535] outside the ephemeral range."""
    first, last = ephemeral
    below = range(LOWEST, max(LOWEST, first))
    above = range(max(LOWEST, last + 1), 65536)
    return below if len(below) >= len(above) else above


def _reservation_file() -> int:
    global _reservations
    if _reservations is None:
        path = Path(tempfile.gettempdir()) / f"noloss-ports-{os.getuid()}.lock"
        _reservations = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    return _reservations


def _reserve(port: int) -> bool:
    """Lock byte `port` of the shared file; False when another process holds it. (POSIX
    locks never conflict within one process: `_mine` covers this process's own.)"""
    try:
        fcntl.lockf(_reservation_file(), fcntl.LOCK_EX | fcntl.LOCK_NB, 1, port)
        return True
    except OSError:
        return False


def _release(port: int) -> None:
    fcntl.lockf(_reservation_file(), fcntl.LOCK_UN, 1, port)


def bindable(port: int) -> bool:
    """Nothing holds `port` on loopback now (a bind without SO_REUSEADDR succeeds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port() -> int:
    """A loopback port outside the ephemeral range that nobody holds now and no other noloss
    process has reserved, reserved for this process until it exits."""
    pool = candidates(ephemeral_range())
    if not pool:
        raise RuntimeError(f"no loopback port outside the ephemeral range {ephemeral_range()} at or above {LOWEST}")
    with _lock:
        for _ in range(TRIES):
            port = random.choice(pool)
            if port in _mine or not _reserve(port):
                continue
            if bindable(port):
                _mine.add(port)
                return port
            _release(port)
    raise RuntimeError(f"no free loopback port in {pool.start}-{pool.stop - 1} after {TRIES} tries")
