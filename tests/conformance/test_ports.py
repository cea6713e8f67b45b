"""Ports for nodes that are killed and restarted: outside the kernel's ephemeral range (where
a bind to port 0 anywhere on the machine can be handed a down node's port) and reserved
among noloss processes (conformance/inject/ports.py)."""

from __future__ import annotations

import socket
import subprocess
import sys

from noloss.conformance.inject import ports


def test_the_range_is_read_and_the_candidates_avoid_it() -> None:
    assert ports.ephemeral_range("32768\t60999\n") == (32768, 60999)
    assert ports.candidates((32768, 60999)) == range(ports.LOWEST, 32768)
    assert ports.candidates((1024, 40000)) == range(40001, 65536)  # the wider stretch
    assert not ports.candidates((1024, 65535))


def test_a_free_port_is_outside_the_ephemeral_range_and_bindable_now() -> None:
    first, last = ports.ephemeral_range()
    for _ in range(20):
        port = ports.free_port()
        assert not first <= port <= last
        assert ports.bindable(port)


def test_the_kernel_never_hands_out_a_free_port_to_a_bind_to_port_zero() -> None:
    port = ports.free_port()
    handed = set()
    for _ in range(20_000):  # the old choice (a bind to port 0) was handed back within ~14,000 on average
        with socket.socket() as other:
            other.bind(("127.0.0.1", 0))
            handed.add(other.getsockname()[1])
    assert port not in handed
    assert len(handed) > 1000  # the kernel did pick among many ports


def test_a_port_another_process_reserved_is_not_reserved_again() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; from noloss.conformance.inject.ports import free_port; print(free_port(), flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None
        taken = int(child.stdout.readline())
        assert ports.bindable(taken)  # nobody listens there: only the reservation keeps it
        assert not ports._reserve(taken)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(10)
    assert ports._reserve(taken)  # released with the process that held it
    ports._release(taken)
