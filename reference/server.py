"""The asyncio shell of a broker node: sockets, files, fsyncs and the clock.

Who does what: `BrokerServer` owns the listening socket, every connection, the commit
log file and two background tasks — a ticker that turns wall-clock time into
`core.tick()` and a flusher that runs fsyncs on a worker thread. Everything it learns
becomes a core event; everything the core wants done comes back as a Ready batch
(node.drain). Group commit falls out of the flusher: while one fsync runs, later flush
requests collapse into the next one, which covers every send appended meanwhile.

A frame that is malformed, oversized or of an unknown kind closes that connection with
one logged line; the other connections never notice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from reference import frames
from reference import messages as m
from reference.core import Connected, Disconnected, Flushed, NodeConfig, Received, Role
from reference.node import Node, drain, open_node
from reference.storage import FileStorage

logger = logging.getLogger("noloss.broker")
RECONNECT_DELAY_S = 0.2


class _Connection(asyncio.Protocol):
    """One TCP connection: bytes in become Received events, frames out become bytes."""

    def __init__(self, server: BrokerServer, to_master: bool = False) -> None:
        self.server = server
        self.to_master = to_master
        self.conn = 0
        self.peer = "?"
        self.transport: asyncio.Transport | None = None
        self.buffer = frames.FrameBuffer()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = "%s:%s" % transport.get_extra_info("peername")[:2]
        self.conn = self.server.register(self)
        self.server.step(Connected(self.conn, self.to_master))

    def data_received(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        try:
            messages = self.buffer.feed(data)
        except frames.FrameError as error:
            self.server.close(self.conn, f"bad frame: {error}")
            return
        for message in messages:
            self.server.step(Received(self.conn, message))

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.unregister(self.conn)
        self.server.step(Disconnected(self.conn))
        if not self.lost.done():
            self.lost.set_result(None)


class BrokerServer:
    """One broker node (master or slave) serving on `host:port`."""

    def __init__(self, config: NodeConfig, data_dir: str, host: str, port: int, master: tuple[str, int] | None = None) -> None:
        if (config.role is Role.SLAVE) != (master is not None):
            raise ValueError("a slave needs its master's address, and only a slave has one")
        self.config = config
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self.master = master
        self.node: Node | None = None
        self._conns: dict[int, _Connection] = {}
        self._next_conn = 1
        self._drain_scheduled = False
        self._flush_wanted = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fsync")
        self._tasks: list[asyncio.Task[None]] = []
        self._server: asyncio.Server | None = None
        self.fsyncs = 0

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> int:
        """Recover the log, listen, start ticking, flushing and (slave) replicating;
        return the port actually bound."""
        self.node = open_node(self.config, FileStorage(self.data_dir))
        logger.info("%s", self.node.recovery.describe())
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._tasks = [asyncio.create_task(self._ticker()), asyncio.create_task(self._flusher())]
        if self.master is not None:
            self._tasks.append(asyncio.create_task(self._replicate(*self.master)))
        return self.port

    async def stop(self) -> None:
        """Stop serving; persist consumer offsets and flush the log."""
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        for conn in list(self._conns.values()):
            if conn.transport is not None:
                conn.transport.abort()
        if self.node is not None:
            logger.info("stopping: %d log fsyncs, %d records stored", self.fsyncs, self.node.core.queues.total())
            self.node.core.persist_offsets()
            self._drain()
            self.node.file.sync()
            self.node.file.close()
        self._executor.shutdown(wait=True)

    # -- connections -------------------------------------------------------------------

    def register(self, connection: _Connection) -> int:
        """Give a new connection its id."""
        conn, self._next_conn = self._next_conn, self._next_conn + 1
        self._conns[conn] = connection
        return conn

    def unregister(self, conn: int) -> None:
        """Forget a closed connection."""
        self._conns.pop(conn, None)

    def step(self, event: Connected | Disconnected | Received | Flushed) -> None:
        """Feed the core; its work is done once the current callbacks have run, so that
        frames arriving together on any connection share one log write."""
        assert self.node is not None
        self.node.core.step(event)
        if not self._drain_scheduled:
            self._drain_scheduled = True
            asyncio.get_running_loop().call_soon(self._drain)

    def _drain(self) -> None:
        self._drain_scheduled = False
        assert self.node is not None
        drain(self.node, self)

    # -- ShellIO ---------------------------------------------------------------------------

    def request_flush(self) -> None:
        self._flush_wanted.set()

    def send(self, conn: int, message: m.Wire) -> None:
        connection = self._conns.get(conn)
        if connection is not None and connection.transport is not None and not connection.transport.is_closing():
            connection.transport.write(frames.encode_frame(message))

    def close(self, conn: int, reason: str) -> None:
        connection = self._conns.get(conn)
        if connection is not None and connection.transport is not None:
            logger.warning("closing connection %d from %s: %s", conn, connection.peer, reason)
            connection.transport.close()

    # -- background tasks ----------------------------------------------------------------

    async def _ticker(self) -> None:
        """Turn elapsed wall-clock time into whole ticks."""
        tick_s = self.config.tick_ms / 1000
        last = time.monotonic()
        while True:
            await asyncio.sleep(tick_s)
            now = time.monotonic()
            assert self.node is not None
            while now - last >= tick_s:
                self.node.core.tick()
                last += tick_s
            self._drain()

    async def _flusher(self) -> None:
        """Run one fsync at a time; requests made during one are served by the next."""
        loop = asyncio.get_running_loop()
        while True:
            await self._flush_wanted.wait()
            self._flush_wanted.clear()
            assert self.node is not None
            offset = self.node.file.size()
            await loop.run_in_executor(self._executor, self.node.file.sync)
            self.fsyncs += 1
            self.step(Flushed(offset))

    async def _replicate(self, host: str, port: int) -> None:
        """Keep a connection to the master; reconnect when it drops."""
        loop = asyncio.get_running_loop()
        was_up = True
        while True:
            try:
                _, connection = await loop.create_connection(lambda: _Connection(self, to_master=True), host, port)
            except OSError as error:
                if was_up:
                    logger.warning("cannot reach master %s:%d: %s; retrying", host, port, error)
                was_up = False
                await asyncio.sleep(RECONNECT_DELAY_S)
                continue
            logger.info("replicating from master %s:%d", host, port)
            was_up = True
            await connection.lost
            logger.warning("lost master %s:%d; reconnecting", host, port)
            await asyncio.sleep(RECONNECT_DELAY_S)


async def serve(config: NodeConfig, data_dir: str, host: str, port: int, master: tuple[str, int] | None) -> None:
    """Run a node until cancelled (SIGINT/SIGTERM), printing where it listens."""
    import signal

    server = BrokerServer(config, data_dir, host, port, master)
    bound = await server.start()
    print(f"noloss broker: {config.role} {config.flush} listening on {host}:{bound} data-dir {data_dir}", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        await server.stop()
