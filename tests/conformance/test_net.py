"""The proxies of a conformance run (conformance/inject/net.py): a slow replication link, and a
node whose machine is lost for good."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from noloss.conformance.inject.net import ProxyNet
from noloss.reference.client import parse_address


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def echo() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    host, port = server.server_address[:2]
    yield f"{host!s}:{port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def net() -> Iterator[ProxyNet]:
    proxies = ProxyNet()
    yield proxies
    proxies.close()


def _connect(address: str) -> socket.socket:
    return socket.create_connection(parse_address(address), timeout=2)


def test_what_a_lost_master_pushed_on_a_slow_link_never_arrives(echo: str, net: ProxyNet) -> None:
    replication = net.route("slave->master", echo)
    to_slave = net.route("consumer->slave", echo)
    producer = net.route("producer->master", echo)
    with _connect(replication) as slave:
        # One round trip first: the proxy registers a connection only once it has dialled the
        # master, and a cut before that would miss this one (the link under test is up).
        slave.sendall(b"up")
        assert slave.recv(100) == b"up"
        net.slow_replication(0.3)
        slave.sendall(b"pushed")  # echoed at once, held by the proxy on its way back
        net.lose("master")
        try:
            received = slave.recv(100)
        except ConnectionResetError:
            received = b""
        assert received == b""
    with pytest.raises(ConnectionRefusedError):
        _connect(producer)
    with _connect(to_slave) as consumer:  # links to the slave are untouched
        consumer.sendall(b"still")
        assert consumer.recv(100) == b"still"
