"""The asyncio shell of a broker node: sockets, files, fsyncs and the clock.

Who does what: `BrokerServer` owns the listening socket, every connection, the commit
log file and two background tasks — a ticker that turns wall-clock time into
`core.tick()`, a group-commit thread that runs the log's fsyncs back to back
(group_commit.py), and a worker thread for every other blocking disk call after start
(metadata files, checkpoints), in the order requested: none runs on the event loop.
Everything it learns becomes a core event; everything the core wants done comes back as
a Ready batch (node.drain). Group commit: while one fsync runs, later flush requests
collapse into the next one, which covers every send appended meanwhile.

A frame that is malformed, oversized or of an unknown kind closes that connection with
one logged line; the other connections never notice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import cast

from noloss.reference import frames
from noloss.reference import messages as m
from noloss.reference.checkpoint import Checkpointer
from noloss.reference.core import Connected, Disconnected, Flushed, NodeConfig, Received, Role
from noloss.reference.group_commit import GroupCommit, timed_sync
from noloss.reference.node import Node, drain, open_node
from noloss.reference.storage import FileStorage, Storage

logger = logging.getLogger("noloss.broker")
RECONNECT_DELAY_S = 0.2
CHECKPOINT_INTERVAL_S = 1.0
"""The default of how often, at most, the flusher extends the checkpoint after an fsync: the records
after it are what a restart scans one by one (RocketMQ's flushCommitLogThoroughInterval
plays the same part)."""


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
        # A stream transport; uvloop's is not a subclass of asyncio.Transport, hence the cast.
        self.transport = cast(asyncio.Transport, transport)
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

    def __init__(
        self,
        config: NodeConfig,
        data_dir: str,
        host: str,
        port: int,
        master: tuple[str, int] | None = None,
        storage: Storage | None = None,
        checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
    ) -> None:
        if (config.role is Role.SLAVE) != (master is not None):
            raise ValueError("a slave needs its master's address, and only a slave has one")
        self.config = config
        self.data_dir = data_dir
        self.storage = storage if storage is not None else FileStorage(data_dir)
        self.checkpointer: Checkpointer | None = None
        self.checkpoint_interval_s = checkpoint_interval_s
        self._last_checkpoint = 0.0
        self._stopped = False
        self.host = host
        self.port = port
        self.master = master
        self.node: Node | None = None
        self._conns: dict[int, _Connection] = {}
        self._next_conn = 1
        self.accepted = 0
        """Connections ever registered (clients and replication), for tests and reports."""
        self._drain_scheduled = False
        self._outgoing: dict[int, list[bytes]] = {}
        """Frames encoded this loop turn, per connection, written together by `_drain`."""
        self._group_commit: GroupCommit | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fsync")
        self._checkpointing: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._server: asyncio.Server | None = None
        self._stopping = False
        self._last_fsyncs = 0
        self._last_fsync_seconds = 0.0
        """The fsyncs `stop` runs itself, after the group-commit thread has gone."""

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> int:
        """Recover the log, listen, start ticking, flushing and (slave) replicating;
        return the port actually bound."""
        self.node = open_node(self.config, self.storage)
        self.checkpointer = Checkpointer(self.storage, self.node.file, self.node.checkpoint)
        self._last_checkpoint = time.monotonic()
        logger.info("%s", self.node.recovery.describe())
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._group_commit = GroupCommit(self.node.file, lambda offset, cuts: _call_on(loop, self._flushed, offset, cuts))
        self._group_commit.start()
        self._tasks = [asyncio.create_task(self._ticker())]
        if self.master is not None:
            self._tasks.append(asyncio.create_task(self._replicate(*self.master)))
        return self.port

    async def stop(self) -> None:
        """Stop serving; persist consumer offsets, flush the log, write a checkpoint.

        The order matters: the group-commit thread finishes the fsync it is running
        before it goes, a checkpoint being written finishes too, and only then do the
        last sync and checkpoint run, on the worker thread; the files are closed once
        that thread has finished everything.
        """
        loop = asyncio.get_running_loop()
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in list(self._conns.values()):
            if conn.transport is not None:
                conn.transport.abort()
        self._stopping = True  # a report from the group-commit thread is ignored from now on
        if self._group_commit is not None:
            await loop.run_in_executor(self._executor, self._group_commit.stop)
        if self._checkpointing is not None:
            await asyncio.gather(self._checkpointing, return_exceptions=True)
        if self.node is not None:
            self.node.core.persist_offsets()
            self._drain()
            offset = self.node.file.size()
            self._last_fsync_seconds += await loop.run_in_executor(self._executor, timed_sync, self.node.file)
            self._last_fsyncs += 1
            await self._checkpoint(offset)
            logger.info("stopping: %d log fsyncs (%.2f s in fsync), %d records stored", self.fsyncs, self.fsync_seconds, self.node.core.queues.total())
        self._stopped = True
        self._executor.shutdown(wait=True)
        if self.node is not None:
            self.node.file.close()
        if self.checkpointer is not None:
            self.checkpointer.close()

    @property
    def fsyncs(self) -> int:
        """fsyncs of the log since start."""
        return self._last_fsyncs + (self._group_commit.fsyncs if self._group_commit is not None else 0)

    @property
    def fsync_seconds(self) -> float:
        """Wall time the log's fsyncs took: beside the time running, how busy the disk kept
        the group-commit thread."""
        return self._last_fsync_seconds + (self._group_commit.fsync_seconds if self._group_commit is not None else 0.0)

    # -- connections -------------------------------------------------------------------

    def register(self, connection: _Connection) -> int:
        """Give a new connection its id."""
        conn, self._next_conn = self._next_conn, self._next_conn + 1
        self._conns[conn] = connection
        self.accepted += 1
        return conn

    def open_connections(self) -> int:
        """Connections open now."""
        return len(self._conns)

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
        self._write_outgoing()

    def _write_outgoing(self) -> None:
        """Write the frames this loop turn produced: one write per connection."""
        outgoing, self._outgoing = self._outgoing, {}
        for conn, chunks in outgoing.items():
            connection = self._conns.get(conn)
            if connection is not None and connection.transport is not None and not connection.transport.is_closing():
                connection.transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))

    # -- ShellIO ---------------------------------------------------------------------------

    def write_meta(self, name: str, content: bytes) -> None:
        if self._stopped:
            return  # `stop` has written the last offsets; a late drain has nothing new
        self._executor.submit(self._write_meta, name, content)

    def _write_meta(self, name: str, content: bytes) -> None:
        try:
            self.storage.write_meta(name, content)
        except OSError as error:
            logger.error("cannot write %s: %s", self.storage.path(name), error)

    def request_flush(self) -> None:
        if self._group_commit is not None and not self._stopping:
            self._group_commit.request()

    def truncate_log(self, offset: int) -> None:
        # On the event loop, unlike every other disk call: it happens once per divergence,
        # before the node takes any new record, and the appends that follow must find the
        # file cut. The checkpoint goes first, so a crash in between leaves no checkpoint
        # past the end of the file.
        assert self.node is not None and self.checkpointer is not None
        logger.warning("cutting the commit log from %d to %d bytes: its tail diverged from the master's", self.node.file.size(), offset)
        if self._group_commit is not None:
            self._group_commit.cut()
        self.checkpointer.reset()
        self.node.file.truncate(offset)

    def send(self, conn: int, message: m.Wire) -> None:
        if conn in self._conns:
            self._outgoing.setdefault(conn, []).append(frames.encode_frame(message))

    def close(self, conn: int, reason: str) -> None:
        self._write_outgoing()  # what was sent before the close goes out first
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

    def _flushed(self, offset: int, cuts: int) -> None:
        """On the event loop: the group-commit thread's fsync made the log durable up to
        `offset`, unless the log was cut since it began."""
        assert self._group_commit is not None
        if self._stopping:
            return  # `stop` makes its own last fsync and checkpoint
        if cuts != self._group_commit.cuts:  # the log was cut meanwhile: sync it again
            self._group_commit.request()
            return
        self.step(Flushed(offset))
        due = time.monotonic() - self._last_checkpoint >= self.checkpoint_interval_s
        if due and (self._checkpointing is None or self._checkpointing.done()):
            # One at a time: `collect` must see what the last `write` recorded.
            self._checkpointing = asyncio.ensure_future(self._checkpoint(offset))

    async def _checkpoint(self, flushed: int) -> None:
        """Extend the checkpoint to `flushed`, which an fsync has made durable: collect
        the new queue entries here, write them on the fsync thread."""
        assert self.node is not None and self.checkpointer is not None
        self._last_checkpoint = time.monotonic()
        pending = self.checkpointer.collect(self.node.core.queues, flushed)
        if pending is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self.checkpointer.write, pending)

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


async def serve(
    config: NodeConfig,
    data_dir: str,
    host: str,
    port: int,
    master: tuple[str, int] | None,
    checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
    parent_pipe: int | None = None,
) -> None:
    """Run a node until SIGINT/SIGTERM, or until `parent_pipe` (the read end of a pipe
    whose write end the parent holds) reports end-of-file: the parent is gone. Prints
    where it listens."""
    import signal

    server = BrokerServer(config, data_dir, host, port, master, checkpoint_interval_s=checkpoint_interval_s)
    bound = await server.start()
    print(f"noloss broker: {config.role} {config.flush} listening on {host}:{bound} data-dir {data_dir}", flush=True)
    logger.info("event loop: %s", type(asyncio.get_running_loop()).__module__)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    if parent_pipe is not None:
        loop.add_reader(parent_pipe, _parent_gone, parent_pipe, stopped)
    try:
        await stopped.wait()
    finally:
        await server.stop()


def _call_on(loop: asyncio.AbstractEventLoop, callback: Callable[[int, int], None], offset: int, cuts: int) -> None:
    """From the group-commit thread: run `callback` on `loop`, unless the loop is closed
    (a node dropped without `stop`, as a test may: nobody is left to tell)."""
    try:
        loop.call_soon_threadsafe(callback, offset, cuts)
    except RuntimeError:
        pass


def _parent_gone(pipe: int, stopped: asyncio.Event) -> None:
    """The parent's pipe is readable: nobody ever writes to it, so it is end-of-file."""
    asyncio.get_running_loop().remove_reader(pipe)
    logger.warning("the process that started this node is gone; stopping")
    stopped.set()
