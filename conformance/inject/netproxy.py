"""Network faults on real processes: a TCP proxy that drops, duplicates, delays and cuts.

Put one `FaultyProxy` between the clients and a node, or between a master and its slave:
it listens on 127.0.0.1 (a free port unless told), and forwards each connection to the
upstream address. It knows no framing: a *chunk* is whatever one read from the socket
returned, so a dropped or duplicated chunk can split a frame — the receiver must notice
(the reference broker's frames carry a length and a CRC).

Faults, each commanded from the harness's thread and returned as a `FaultRecord` stamped
with `time.monotonic()` (the same clock as every other event of a history):

    proxy = FaultyProxy(("127.0.0.1", 9876), name="client->master")
    with proxy:                                   # listens on enter, stops on exit
        host, port = proxy.address                # point the clients here
        proxy.drop(Direction.TO_UPSTREAM, 2.0)    # swallow client->server bytes for 2 s
        proxy.drop_next_chunk(Direction.TO_CLIENT)
        proxy.duplicate_next_chunk(Direction.TO_UPSTREAM)
        proxy.delay(Direction.TO_CLIENT, 0.2, 5.0)  # hold each chunk 0.2 s, for 5 s
        proxy.cut()                               # reset every open connection
        proxy.refuse(3.0)                         # stop listening (connect: refused) for 3 s
        proxy.heal()                              # end every fault now
        proxy.records()                           # every command and every chunk it hit

Chunk faults armed with `drop_next_chunk`/`duplicate_next_chunk` hit the next chunk in
that direction on any connection; when they do, a record of kind "dropped-chunk" or
"duplicated-chunk" (with the byte count) joins `records()` at that moment.

The proxy runs an asyncio loop on a thread of the caller's process: no process to start
or lose, and a fault command takes effect before the call returns.
"""

from __future__ import annotations

import asyncio
import enum
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

from noloss.conformance.inject.ports import free_port

_T = TypeVar("_T")
_CHUNK = 65536
_COMMAND_TIMEOUT = 10.0


class Direction(enum.Enum):
    TO_UPSTREAM = "to-upstream"  # bytes the connecting side sends
    TO_CLIENT = "to-client"  # bytes the upstream side answers


@dataclass(frozen=True)
class FaultRecord:
    """One injected fault, for the history."""

    at: float  # time.monotonic()
    proxy: str
    kind: str  # drop, drop-chunk, duplicate-chunk, delay, cut, refuse, accept, heal,
    #            dropped-chunk, duplicated-chunk (the last two: a chunk fault took effect)
    direction: str | None = None
    seconds: float | None = None  # how long a drop, delay or refusal lasts (None: until healed)
    detail: dict[str, float | int] = field(default_factory=dict)


@dataclass
class _DirectionFaults:
    drop_until: float = 0.0
    delay_until: float = 0.0
    delay_seconds: float = 0.0
    drop_chunks: int = 0
    duplicate_chunks: int = 0


class FaultyProxy:
    """A TCP proxy from `address` to `upstream` with faults injected on command."""

    def __init__(self, upstream: tuple[str, int], *, name: str = "proxy", port: int = 0) -> None:
        self.upstream = upstream
        self.name = name
        self._port = port
        self._faults = {direction: _DirectionFaults() for direction in Direction}
        self._records: list[FaultRecord] = []
        self._records_lock = threading.Lock()
        self._connections: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._refused_until: float | None = None  # None: accepting; inf: until accept()
        self._reopen: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.forwarded = {direction: 0 for direction in Direction}  # bytes

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self._port)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("already started")
        if self._port == 0:
            self._port = free_port()
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name=f"proxy {self.name}", daemon=True)
        self._thread.start()
        self._run(self._listen())

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._run(self._shutdown())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_COMMAND_TIMEOUT)
        loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> FaultyProxy:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()

    # --- fault commands -----------------------------------------------------------------------

    def drop(self, direction: Direction, seconds: float) -> FaultRecord:
        """Swallow every byte sent in `direction` for `seconds` (connections stay open)."""
        return self._command(lambda now: setattr(self._faults[direction], "drop_until", now + seconds),
                             "drop", direction, seconds)

    def drop_next_chunk(self, direction: Direction) -> FaultRecord:
        """The next chunk read in `direction` (on any connection) is not forwarded."""
        def arm(now: float) -> None:
            self._faults[direction].drop_chunks += 1
        return self._command(arm, "drop-chunk", direction)

    def duplicate_next_chunk(self, direction: Direction) -> FaultRecord:
        """The next chunk read in `direction` is forwarded twice."""
        def arm(now: float) -> None:
            self._faults[direction].duplicate_chunks += 1
        return self._command(arm, "duplicate-chunk", direction)

    def delay(self, direction: Direction, each: float, seconds: float) -> FaultRecord:
        """For `seconds`, hold each chunk in `direction` `each` seconds (order is kept)."""
        def arm(now: float) -> None:
            faults = self._faults[direction]
            faults.delay_until, faults.delay_seconds = now + seconds, each
        return self._command(arm, "delay", direction, seconds, {"each": each})

    def cut(self) -> FaultRecord:
        """Reset every open connection, both sides (new ones are still accepted)."""
        async def reset() -> int:
            writers = list(self._connections)
            for writer in writers:
                _abort(writer)
            self._connections.clear()
            return len(writers)
        at = time.monotonic()
        count = self._run(reset())
        return self._record(FaultRecord(at, self.name, "cut", detail={"connections": count}))

    def refuse(self, seconds: float | None = None) -> FaultRecord:
        """Stop listening: connecting is refused for `seconds` (None: until `accept()`)."""
        at = time.monotonic()
        self._run(self._close_listener(at + seconds if seconds is not None else float("inf")))
        return self._record(FaultRecord(at, self.name, "refuse", seconds=seconds))

    def accept(self) -> FaultRecord:
        """Listen again after `refuse`."""
        at = time.monotonic()
        self._run(self._listen())
        return self._record(FaultRecord(at, self.name, "accept"))

    def heal(self) -> FaultRecord:
        """End every drop, delay, armed chunk fault and refusal now."""
        at = time.monotonic()

        async def clear() -> None:
            for direction in Direction:
                self._faults[direction] = _DirectionFaults()
            if self._refused_until is not None:
                await self._listen()

        self._run(clear())
        return self._record(FaultRecord(at, self.name, "heal"))

    def records(self) -> list[FaultRecord]:
        """Every fault so far, commanded or taking effect, in time order."""
        with self._records_lock:
            return sorted(self._records, key=lambda record: record.at)

    # --- inside the loop ----------------------------------------------------------------------

    def _command(self, arm: Callable[[float], None], kind: str, direction: Direction, seconds: float | None = None,
                 detail: dict[str, float | int] | None = None) -> FaultRecord:
        at = time.monotonic()

        async def apply() -> None:
            arm(at)

        self._run(apply())
        return self._record(FaultRecord(at, self.name, kind, direction.value, seconds, detail or {}))

    def _record(self, record: FaultRecord) -> FaultRecord:
        with self._records_lock:
            self._records.append(record)
        return record

    def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("proxy not started")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(_COMMAND_TIMEOUT)

    async def _listen(self) -> None:
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        self._refused_until = None
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self._port, reuse_address=True)

    async def _close_listener(self, until: float) -> None:
        self._refused_until = until
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if until != float("inf"):
            loop = asyncio.get_running_loop()
            self._reopen = loop.call_later(max(0.0, until - time.monotonic()), self._reopen_listener)

    def _reopen_listener(self) -> None:
        self._reopen = None
        asyncio.ensure_future(self._listen())

    async def _shutdown(self) -> None:
        if self._reopen is not None:
            self._reopen.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._connections):
            _abort(writer)
        self._connections.clear()
        # Aborted connections end their pumps; wait for them rather than cancel them (a
        # cancelled connection task makes asyncio's stream callback log a traceback).
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        if tasks:
            await asyncio.wait(tasks, timeout=_COMMAND_TIMEOUT / 2)

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _abort(client_writer)
            return
        pair = {client_writer, upstream_writer}
        self._connections |= pair
        try:
            await asyncio.gather(
                self._pump(Direction.TO_UPSTREAM, client_reader, upstream_writer),
                self._pump(Direction.TO_CLIENT, upstream_reader, client_writer),
            )
        finally:
            for writer in pair:
                writer.close()
            self._connections -= pair

    async def _pump(self, direction: Direction, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Forward one direction chunk by chunk; when it ends, close the other side too."""
        try:
            while chunk := await reader.read(_CHUNK):
                faults = self._faults[direction]  # looked up per chunk: `heal` replaces it
                now = time.monotonic()
                if now < faults.drop_until:
                    continue
                if faults.drop_chunks:
                    faults.drop_chunks -= 1
                    self._record(FaultRecord(now, self.name, "dropped-chunk", direction.value, detail={"bytes": len(chunk)}))
                    continue
                if now < faults.delay_until:
                    await asyncio.sleep(faults.delay_seconds)
                copies = 1
                if faults.duplicate_chunks:
                    faults.duplicate_chunks -= 1
                    copies = 2
                    self._record(FaultRecord(now, self.name, "duplicated-chunk", direction.value, detail={"bytes": len(chunk)}))
                writer.write(chunk * copies)
                self.forwarded[direction] += len(chunk) * copies
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


def _abort(writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    if not transport.is_closing():
        transport.abort()
