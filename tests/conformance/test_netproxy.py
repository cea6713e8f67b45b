"""The faulty TCP proxy in front of a small echo server, on a thread and in a child process."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from noloss.conformance.inject.netproxy import Direction, FaultyProxy
from noloss.conformance.inject.netproxy_process import ProxyProcess

Proxy = FaultyProxy | ProxyProcess


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture(params=[FaultyProxy, ProxyProcess], ids=["thread", "process"])
def proxy(request: pytest.FixtureRequest) -> Iterator[Proxy]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    host, port = server.server_address[:2]
    kind: type[Proxy] = request.param
    with kind((str(host), int(port)), name="client->echo") as running:
        yield running
    server.shutdown()
    server.server_close()


def _connect(proxy: Proxy) -> socket.socket:
    client = socket.create_connection(proxy.address, timeout=2)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def _exchange(client: socket.socket, data: bytes) -> bytes:
    client.sendall(data)
    return _receive(client, len(data))


def _receive(client: socket.socket, length: int) -> bytes:
    received = b""
    while len(received) < length:
        chunk = client.recv(length - len(received))
        if not chunk:
            break
        received += chunk
    return received


def _nothing_arrives(client: socket.socket, wait: float = 0.3) -> bool:
    client.settimeout(wait)
    try:
        return client.recv(100) == b""  # b"": closed, which is not "nothing" either
    except TimeoutError:
        return True
    finally:
        client.settimeout(2)


def test_bytes_pass_through_untouched_without_faults(proxy: Proxy) -> None:
    with _connect(proxy) as client:
        payload = bytes(range(256)) * 1000
        assert _exchange(client, payload) == payload
    assert proxy.records() == []


def test_a_drop_swallows_one_direction_for_a_while(proxy: Proxy) -> None:
    with _connect(proxy) as client:
        record = proxy.drop(Direction.TO_UPSTREAM, 0.4)
        client.sendall(b"lost")
        assert _nothing_arrives(client)
        time.sleep(0.2)  # past the 0.4 s drop
        assert _exchange(client, b"after") == b"after"
    assert (record.kind, record.direction, record.seconds) == ("drop", "to-upstream", 0.4)


def test_a_dropped_chunk_vanishes_and_the_stream_goes_on(proxy: Proxy) -> None:
    with _connect(proxy) as client:
        proxy.drop_next_chunk(Direction.TO_CLIENT)
        client.sendall(b"first")
        assert _nothing_arrives(client)
        assert _exchange(client, b"second") == b"second"
    kinds = [(r.kind, r.direction, r.detail.get("bytes")) for r in proxy.records()]
    assert kinds == [("drop-chunk", "to-client", None), ("dropped-chunk", "to-client", 5)]


def test_a_duplicated_chunk_arrives_twice(proxy: Proxy) -> None:
    with _connect(proxy) as client:
        proxy.duplicate_next_chunk(Direction.TO_UPSTREAM)
        assert _exchange(client, b"twice") == b"twice"
        assert _receive(client, 5) == b"twice"
        assert _exchange(client, b"once") == b"once"
        assert _nothing_arrives(client)


def test_a_delay_holds_each_chunk(proxy: Proxy) -> None:
    with _connect(proxy) as client:
        proxy.delay(Direction.TO_CLIENT, 0.25, 5.0)
        started = time.monotonic()
        assert _exchange(client, b"slow") == b"slow"
        assert time.monotonic() - started >= 0.25
        proxy.heal()
        started = time.monotonic()
        assert _exchange(client, b"fast") == b"fast"
        assert time.monotonic() - started < 0.25


def test_a_cut_resets_open_connections_and_new_ones_work(proxy: Proxy) -> None:
    with _connect(proxy) as client:
        assert _exchange(client, b"up") == b"up"
        record = proxy.cut()
        assert record.detail == {"connections": 2}
        with pytest.raises(OSError):
            client.sendall(b"into the void")
            if client.recv(100) == b"":
                raise ConnectionResetError("closed")
    with _connect(proxy) as again:
        assert _exchange(again, b"again") == b"again"


def test_refusing_stops_listening_until_accept_or_the_time_is_up(proxy: Proxy) -> None:
    proxy.refuse()
    with pytest.raises(ConnectionRefusedError):
        _connect(proxy)
    proxy.accept()
    with _connect(proxy) as client:
        assert _exchange(client, b"back") == b"back"

    proxy.refuse(0.3)
    with pytest.raises(ConnectionRefusedError):
        _connect(proxy)
    time.sleep(0.5)
    with _connect(proxy) as client:
        assert _exchange(client, b"by itself") == b"by itself"


def test_every_record_carries_a_monotonic_time_in_order(proxy: Proxy) -> None:
    before = time.monotonic()
    proxy.drop(Direction.TO_CLIENT, 0.0)
    proxy.cut()
    proxy.heal()
    records = proxy.records()
    assert [r.kind for r in records] == ["drop", "cut", "heal"]
    times = [r.at for r in records]
    assert before <= times[0] <= times[1] <= times[2] <= time.monotonic()
    assert {r.proxy for r in records} == {"client->echo"}
