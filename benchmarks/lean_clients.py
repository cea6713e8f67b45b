"""A lean load generator that drives the broker and Redis the same way, so that a ratio
of their rates compares servers, not client libraries.

One event loop, CLIENTS raw Protocols, one request pre-encoded once per server (a
SendRequest frame, or a RESP XADD), each connection waiting for its reply before it
sends the next — as redis-benchmark does without -P. A reply is checked just enough to
count it honestly: the broker's must be a SendReply with status SEND_OK, Redis's a bulk
string (the new entry's id); anything else stops the run with an error.

Used by benchmarks/broker_throughput.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import cast

from noloss.reference import frames
from noloss.reference import messages as m

Cutter = Callable[[bytearray], int]
"""Given the bytes received so far, the length of the first whole reply (0: not yet);
raises ValueError on a reply that is not a success."""


def broker_request(topic: str, body: bytes) -> bytes:
    """One SendRequest frame; every connection reuses it (one request in flight each, so
    one request id is enough: the broker only echoes it)."""
    return frames.encode_frame(m.SendRequest(1, topic, "", body, False))


_SEND_OK = frames.encode_frame(m.SendReply(1, m.SendStatus.SEND_OK, "", 0, ""))
_REPLY_HEAD = frames.HEADER.size
_STATUS_AT = _REPLY_HEAD + 8  # after the request id: u16 length + "SEND_OK"
_STATUS = _SEND_OK[_STATUS_AT : _STATUS_AT + 2 + len(m.SendStatus.SEND_OK)]


def broker_reply(buffer: bytearray) -> int:
    """A whole SendReply frame at the start of `buffer`, checked to say SEND_OK."""
    if len(buffer) < frames.LENGTH.size:
        return 0
    total = frames.LENGTH.size + frames.LENGTH.unpack_from(buffer)[0]
    if len(buffer) < total:
        return 0
    if buffer[5] != _SEND_OK[5] or buffer[_STATUS_AT : _STATUS_AT + len(_STATUS)] != _STATUS:
        raise ValueError(f"broker answered {frames.decode_frame(bytes(buffer[4:total]))}")
    return total


def redis_request(stream: str, body: bytes) -> bytes:
    """XADD stream * body BODY, in RESP."""
    parts = [b"XADD", stream.encode(), b"*", b"body", body]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in parts)


def redis_reply(buffer: bytearray) -> int:
    """A whole bulk-string reply (XADD's entry id) at the start of `buffer`."""
    head_end = buffer.find(b"\r\n")
    if head_end < 0:
        return 0
    if buffer[:1] != b"$":
        raise ValueError(f"redis answered {bytes(buffer[: head_end])!r}")
    total = head_end + 2 + int(buffer[1:head_end]) + 2
    return total if len(buffer) >= total else 0


class _Client(asyncio.Protocol):
    """One connection: send, wait for the reply, send again until `stop`."""

    def __init__(self, request: bytes, cut: Cutter, stop: float) -> None:
        self.request = request
        self.cut = cut
        self.stop = stop
        self.buffer = bytearray()
        self.replies = 0
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def start(self) -> None:
        assert self.transport is not None
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        try:
            length = self.cut(self.buffer)
        except ValueError as error:
            self._finish(error)
            return
        if not length:
            return
        del self.buffer[:length]
        self.replies += 1
        if time.perf_counter() < self.stop:
            self.transport.write(self.request)
        else:
            self._finish(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(ConnectionError(f"connection lost after {self.replies} replies: {exc}"))

    def _finish(self, error: Exception | None) -> None:
        if self.done.done():
            return
        if error is None:
            self.done.set_result(None)
        else:
            self.done.set_exception(error)
        if self.transport is not None:
            self.transport.close()


async def drive(host: str, port: int, request: bytes, cut: Cutter, clients: int, seconds: float) -> int:
    """`clients` connections sending `request` one at a time for `seconds`; return the
    replies counted."""
    loop = asyncio.get_running_loop()
    stop = time.perf_counter() + seconds
    connections = [(await loop.create_connection(lambda: _Client(request, cut, stop), host, port))[1] for _ in range(clients)]
    for client in connections:
        client.start()
    await asyncio.gather(*(client.done for client in connections))
    return sum(client.replies for client in connections)
