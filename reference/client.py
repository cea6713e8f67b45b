"""Producer and consumer clients of the reference broker, with RocketMQ's semantics.

Who does what: `Producer` and `Consumer` are the blocking API an application uses; each
runs its own event loop on a background thread and delegates to `AsyncProducer` /
`AsyncConsumer`, which tests and benchmarks may also use directly inside asyncio.

Producer (DefaultMQProducerImpl.sendDefaultImpl): a sync send retries up to
`retry_times_when_send_failed` (2) more times, only after a timeout or network error,
within `send_timeout_ms` overall; a retry after a lost reply stores the message twice.
Any returned status — SEND_OK or one of the three that mean "stored, but a guarantee
was not met" — is handed back to the application, never retried here. A refusal
(unknown topic, oversized body) raises BrokerError. Async sends retry network failures
`retry_times_when_send_async_failed` times; oneway sends once and hears nothing.

Consumer: pulls from the master, from the slave while the master is unreachable; hands
each message to the handler; CONSUME_SUCCESS or RECONSUME_LATER (an exception counts as
the latter; a BaseException that is no Exception, as a process's death, ends that topic's
loop with the message neither committed nor sent back). A failed message is sent back to
the master (it lands in %RETRY%group, or %DLQ%group after `max_reconsume_times`); when
that fails too it is retried locally. The
committed offset is the smallest offset still in flight; it is sent to the broker every
`persist_offset_interval_ms` and on shutdown.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar, cast

from noloss.reference import frames
from noloss.reference import messages as m
from noloss.reference.messages import Message, SendStatus

__all__ = [
    "AsyncConsumer",
    "AsyncProducer",
    "BrokerError",
    "ConsumeStatus",
    "Consumer",
    "Message",
    "Producer",
    "SendFailed",
    "SendResult",
    "SendStatus",
    "UnexpectedReply",
    "parse_address",
]

logger = logging.getLogger("noloss.client")
T = TypeVar("T")
CONNECT_TIMEOUT_S = 1.0


class ConsumeStatus(StrEnum):
    """What a consumer's handler returns."""

    CONSUME_SUCCESS = "CONSUME_SUCCESS"
    RECONSUME_LATER = "RECONSUME_LATER"


@dataclass(frozen=True, slots=True)
class SendResult:
    """The broker stored the message; `status` says which guarantees were met."""

    status: SendStatus
    msg_id: str
    queue_offset: int


class BrokerError(Exception):
    """The broker refused the request (nothing was stored); not retried."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


class SendFailed(Exception):
    """No reply after every attempt: the message may or may not be stored."""


class UnexpectedReply(Exception):
    """A broker answered a request with a reply of another kind."""


def parse_address(text: str) -> tuple[str, int]:
    """'host:port' -> (host, port); ValueError with a one-line reason otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"address {text!r} is not HOST:PORT")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"address {text!r} has no valid port (1-65535)")
    return host, int(port)


class _Link(asyncio.Protocol):
    """One connection to a broker, with requests matched to replies by id."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.buffer = frames.FrameBuffer()
        self.pending: dict[int, asyncio.Future[m.Reply]] = {}
        self.ids = itertools.count(1)
        self.dead = False

    @classmethod
    async def open(cls, address: str) -> _Link:
        host, port = parse_address(address)
        loop = asyncio.get_running_loop()
        _, link = await asyncio.wait_for(loop.create_connection(lambda: cls(address), host, port), CONNECT_TIMEOUT_S)
        return link

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport; uvloop's is not a subclass of asyncio.Transport, hence the cast.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            replies = self.buffer.feed(data)
        except frames.FrameError as error:
            logger.warning("bad frame from %s: %s", self.address, error)
            self.close()
            return
        for reply in replies:
            if isinstance(reply, m.SendReply | m.PullReply | m.OffsetReply):
                future = self.pending.pop(reply.request_id, None)
                if future is not None and not future.done():
                    future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.dead = True
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionError(f"connection to {self.address} lost"))
        self.pending.clear()

    def close(self) -> None:
        self.dead = True
        if self.transport is not None:
            self.transport.close()

    def next_id(self) -> int:
        return next(self.ids)

    def post(self, message: m.Request) -> None:
        """Send without waiting for a reply (oneway)."""
        if self.dead or self.transport is None:
            raise ConnectionError(f"connection to {self.address} is closed")
        self.transport.write(frames.encode_frame(message))

    async def call(self, message: m.Request, timeout_s: float) -> m.Reply:
        """Send a request and wait for its reply."""
        future: asyncio.Future[m.Reply] = asyncio.get_running_loop().create_future()
        self.pending[message.request_id] = future
        try:
            self.post(message)
            return await asyncio.wait_for(future, timeout_s)
        finally:
            self.pending.pop(message.request_id, None)


class _Links:
    """One connection per address, reopened on demand.

    Concurrent callers that find no live connection share one attempt to open it (a
    burst of sends on a new producer, or after the broker restarted, opens one
    connection, not one each); `drop` only closes the connection the caller used, so a
    late failure on an old connection cannot close its replacement.
    """

    def __init__(self) -> None:
        self._links: dict[str, _Link] = {}
        self._opening: dict[str, asyncio.Future[_Link]] = {}
        self._closed = False
        self.opened = 0
        """Connections opened so far (tests and reports count them)."""

    async def get(self, address: str) -> _Link:
        link = self._links.get(address)
        if link is not None and not link.dead:
            return link
        opening = self._opening.get(address)
        if opening is None:
            opening = asyncio.ensure_future(self._open(address))
            self._opening[address] = opening
            opening.add_done_callback(lambda done: self._forget_opening(address, done))
        # Shielded: one caller giving up (a timeout) must not cancel the others' connection.
        return await asyncio.shield(opening)

    def _forget_opening(self, address: str, done: asyncio.Future[_Link]) -> None:
        if self._opening.get(address) is done:
            del self._opening[address]
        if not done.cancelled():
            done.exception()  # retrieved here: a failed open is reported to its callers

    async def _open(self, address: str) -> _Link:
        link = await _Link.open(address)
        self.opened += 1
        if self._closed:
            link.close()
            raise ConnectionError(f"connections to {address} are closed")
        old = self._links.get(address)
        if old is not None:
            old.close()
        self._links[address] = link
        return link

    def drop(self, address: str, link: _Link | None = None) -> None:
        """Close the connection to `address` (only if it is still `link`, when given)."""
        current = self._links.get(address)
        if current is None or (link is not None and current is not link):
            return
        del self._links[address]
        current.close()

    def close(self) -> None:
        """Close every connection, and any that is still opening when it opens."""
        self._closed = True
        for address in list(self._links):
            self.drop(address)


_NETWORK_ERRORS = (OSError, ConnectionError, asyncio.TimeoutError)


class AsyncProducer:
    """An asyncio producer for one master."""

    def __init__(
        self,
        address: str,
        send_timeout_ms: int = 3000,
        retry_times_when_send_failed: int = 2,
        retry_times_when_send_async_failed: int = 2,
    ) -> None:
        parse_address(address)
        self.address = address
        self.send_timeout_ms = send_timeout_ms
        self.retry_times_when_send_failed = retry_times_when_send_failed
        self.retry_times_when_send_async_failed = retry_times_when_send_async_failed
        self._links = _Links()

    async def send(self, topic: str, body: bytes, key: str | None = None, retries: int | None = None, on_request: Callable[[], None] | None = None) -> SendResult:
        """Send and wait for the broker's status, retrying timeouts and network errors.
        `on_request` is called each time a request goes on the wire (an observer's hook:
        conformance histories number attempts by it)."""
        attempts = 1 + (self.retry_times_when_send_failed if retries is None else retries)
        deadline = time.monotonic() + self.send_timeout_ms / 1000
        last: BaseException | None = None
        for _ in range(attempts):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            link: _Link | None = None
            try:
                link = await self._links.get(self.address)
                request = m.SendRequest(link.next_id(), topic, key or "", body, False)
                if on_request is not None:
                    on_request()
                reply = await link.call(request, remaining)
            except _NETWORK_ERRORS as error:
                last = error
                self._links.drop(self.address, link)
                continue
            if not isinstance(reply, m.SendReply):
                raise UnexpectedReply(f"{self.address} answered a SendRequest with a {type(reply).__name__}")
            if reply.status in SendStatus.__members__:
                return SendResult(SendStatus(reply.status), reply.msg_id, reply.queue_offset)
            raise BrokerError(reply.status, reply.detail)
        raise SendFailed(f"send to {self.address} failed after {attempts} attempts: {last!r}")

    async def send_oneway(self, topic: str, body: bytes, key: str | None = None) -> None:
        """Send once; no reply, no retry."""
        link = await self._links.get(self.address)
        link.post(m.SendRequest(link.next_id(), topic, key or "", body, True))

    async def send_back(self, group: str, message: Message, max_reconsume_times: int) -> SendResult:
        """Consumer side: hand a failed message back to the master (retry topic / DLQ)."""
        link = await self._links.get(self.address)
        origin = message.origin_topic or message.topic
        request = m.SendBackRequest(link.next_id(), group, origin, message.key, message.body, message.reconsume_times, max_reconsume_times)
        reply = await link.call(request, self.send_timeout_ms / 1000)
        if not isinstance(reply, m.SendReply):
            raise UnexpectedReply(f"{self.address} answered a SendBackRequest with a {type(reply).__name__}")
        if reply.status != SendStatus.SEND_OK:
            raise BrokerError(reply.status, reply.detail)
        return SendResult(SendStatus.SEND_OK, reply.msg_id, reply.queue_offset)

    async def close(self) -> None:
        """Close the connection."""
        self._links.close()


class _LoopThread:
    """An event loop on a daemon thread, for the blocking API."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


class Producer:
    """The blocking producer: `send`, `send_async` with a callback, `send_oneway`."""

    def __init__(self, address: str, **settings: int) -> None:
        self._async = AsyncProducer(address, **settings)
        self._thread = _LoopThread("noloss-producer")

    def send(self, topic: str, body: bytes, key: str | None = None) -> SendResult:
        """Send and wait; raises SendFailed (no reply) or BrokerError (refused)."""
        return self._thread.run(self._async.send(topic, body, key))

    def send_async(self, topic: str, body: bytes, callback: Callable[[SendResult | Exception], None], key: str | None = None) -> None:
        """Send without waiting; `callback` gets the SendResult or the exception, on the
        producer's thread."""

        async def go() -> None:
            try:
                result: SendResult | Exception = await self._async.send(topic, body, key, self._async.retry_times_when_send_async_failed)
            except Exception as error:  # handed to the callback, as RocketMQ's onException
                result = error
            callback(result)

        asyncio.run_coroutine_threadsafe(go(), self._thread.loop)

    def send_oneway(self, topic: str, body: bytes, key: str | None = None) -> None:
        """Send once, hearing nothing back."""
        self._thread.run(self._async.send_oneway(topic, body, key))

    def shutdown(self) -> None:
        """Close the connection and stop the producer's thread."""
        self._thread.run(self._async.close())
        self._thread.stop()


Handler = Callable[[Message], ConsumeStatus]


class AsyncConsumer:
    """An asyncio consumer of one topic (and its group's retry topic)."""

    def __init__(
        self,
        group: str,
        topic: str,
        handler: Handler,
        addresses: Sequence[str],
        max_reconsume_times: int = 16,
        pull_batch_size: int = 32,
        persist_offset_interval_ms: int = 5000,
        suspend_ms: int = 1000,
        local_retry_delay_ms: int = 1000,
        max_messages: int = 0,
    ) -> None:
        if not addresses:
            raise ValueError("a consumer needs at least the master's address")
        for address in addresses:
            parse_address(address)
        self.group = group
        self.topics = (topic, m.retry_topic(group))
        self.handler = handler
        self.addresses = list(addresses)
        self.max_reconsume_times = max_reconsume_times
        self.pull_batch_size = pull_batch_size
        self.persist_offset_interval_ms = persist_offset_interval_ms
        self.suspend_ms = suspend_ms
        self.local_retry_delay_ms = local_retry_delay_ms
        self.max_messages = max_messages
        """Process this many messages, then stop (0: no limit): the committed offset is then
        exactly past the last one processed, never past the rest of a pulled batch."""
        self.committed: dict[str, int] = {}
        """Per topic: every message before this offset has been processed."""
        self.processed = 0
        self.answered = 0
        """Offset queries and pulls a broker answered: 0 after a while means no broker is there
        (something else listens, or nothing answers), which is not an empty queue."""
        self.errors = 0
        """Consume-loop turns and periodic offset commits that failed other than by the
        network (each logged with its traceback)."""
        # The refusal last logged per (topic, broker): a slave that serves no pulls answers
        # every 0.2 s while the master is down, and one line says it.
        self._refused: dict[tuple[str, str], str] = {}
        self._links = _Links()
        self._sender = AsyncProducer(self.addresses[0])
        self._stopping = asyncio.Event()
        self._crashed = False
        self._lock = asyncio.Lock()

    async def run(self) -> None:
        """Pull and process until `stop`, then commit offsets."""
        tasks = [asyncio.create_task(self._consume(topic)) for topic in self.topics]
        tasks.append(asyncio.create_task(self._persist_periodically()))
        await self._stopping.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not self._crashed:
            await self.persist_offsets()
        self._links.close()
        await self._sender.close()

    def stop(self) -> None:
        """Ask `run` to finish."""
        self._stopping.set()

    def crash(self) -> None:
        """Make `run` end as a killed process would: what is in hand is dropped, no offset
        is committed any more (the broker keeps the last one it was sent)."""
        self._crashed = True
        self._stopping.set()

    async def _broker(self) -> tuple[str, _Link]:
        """The master if it answers, else the first slave that does."""
        for address in self.addresses:
            try:
                return address, await self._links.get(address)
            except _NETWORK_ERRORS:
                continue
        raise ConnectionError(f"no broker reachable among {self.addresses}")

    async def _consume(self, topic: str) -> None:
        """Pull `topic` until stopped or cancelled. A failure of one turn — the network, a reply of
        the wrong kind, a bug — is logged and counted (`errors`), the connection is
        dropped, and the loop carries on with a fresh one: it never dies silently."""
        # Checked as well as cancelled: Python 3.11's wait_for can swallow a cancellation
        # that arrives with the pull's reply, which left `stop` waiting for a pull loop.
        while not self._stopping.is_set():
            address, link = "", None
            try:
                address, link = await self._broker()
                await self._consume_once(topic, address, link)
            except asyncio.CancelledError:
                raise
            except _NETWORK_ERRORS as error:
                logger.info("pull of %s failed (%r); trying again", topic, error)
                await asyncio.sleep(0.1)
            except Exception:
                self.errors += 1
                logger.exception("consume loop of %s on %s failed; reconnecting", topic, address or "no broker")
                if link is not None:
                    self._links.drop(address, link)
                await asyncio.sleep(0.1)

    async def _consume_once(self, topic: str, address: str, link: _Link) -> None:
        """One pull of `topic` from `link`, and the processing of what it brought."""
        if topic not in self.committed:
            reply = await link.call(m.QueryOffsetRequest(link.next_id(), self.group, topic), 3.0)
            if not isinstance(reply, m.OffsetReply):
                raise UnexpectedReply(f"{address} answered a QueryOffsetRequest with a {type(reply).__name__}")
            self.answered += 1
            self.committed[topic] = max(reply.offset, 0)
        request = m.PullRequest(link.next_id(), topic, self.committed[topic], self.pull_batch_size, self.suspend_ms)
        pulled = await link.call(request, self.suspend_ms / 1000 + 3.0)
        if not isinstance(pulled, m.PullReply):
            raise UnexpectedReply(f"{address} answered a PullRequest with a {type(pulled).__name__}")
        self.answered += 1
        if pulled.status in (m.PullStatus.FOUND, m.PullStatus.NO_NEW_MSG):
            self._refused.pop((topic, address), None)
        if pulled.status == m.PullStatus.FOUND:
            await self._process(topic, pulled.messages, pulled.next_offset)
        elif pulled.status == m.PullStatus.OFFSET_OVERFLOW:
            # OFFSET_ILLEGAL in RocketMQ's client: go on from where the broker says (the
            # queue's end, or its start up to 4.9.3; a slave leaves the offset as it is).
            if pulled.next_offset != self.committed[topic]:
                logger.warning("offset %d of %s is past the end on %s: moving to %d", self.committed[topic], topic, address, pulled.next_offset)
                self.committed[topic] = pulled.next_offset
            else:
                await asyncio.sleep(0.2)
        elif pulled.status != m.PullStatus.NO_NEW_MSG:
            refusal = f"{pulled.status} {pulled.detail}"
            if self._refused.get((topic, address)) != refusal:
                self._refused[(topic, address)] = refusal
                logger.warning("pull of %s from %s: %s (said once until it changes)", topic, address, refusal)
            await asyncio.sleep(0.2)

    async def _process(self, topic: str, batch: Sequence[Message], next_offset: int) -> None:
        """Process a batch in order; the committed offset moves to the smallest offset
        still in flight, i.e. past each message only once it is done."""
        for message in batch:
            if self._stopping.is_set():
                return
            async with self._lock:  # one handler call at a time across topics
                if self.max_messages and self.processed >= self.max_messages:
                    self.stop()
                    return
                await self._handle(message)
                self.processed += 1
            self.committed[topic] = message.queue_offset + 1
        self.committed[topic] = next_offset

    async def _handle(self, message: Message) -> None:
        while True:
            try:
                status = self.handler(message)
            # An exception counts as RECONSUME_LATER; a BaseException goes through, before
            # the committed offset moves past the message.
            except Exception as error:
                logger.info("handler raised %r on %s", error, message.msg_id)
                status = ConsumeStatus.RECONSUME_LATER
            if status == ConsumeStatus.CONSUME_SUCCESS:
                return
            try:
                await self._sender.send_back(self.group, message, self.max_reconsume_times)
                return
            except (*_NETWORK_ERRORS, BrokerError) as error:
                # The master cannot take it back: keep it and consume it again here.
                logger.info("send back of %s failed (%r); retrying locally", message.msg_id, error)
                await asyncio.sleep(self.local_retry_delay_ms / 1000)

    async def _persist_periodically(self) -> None:
        while not self._stopping.is_set():  # as in _consume: a cancellation can be swallowed
            await asyncio.sleep(self.persist_offset_interval_ms / 1000)
            try:
                await self.persist_offsets()
            except Exception:  # like a consume loop: say so, count it, keep going
                self.errors += 1
                logger.exception("offset commit of group %s failed", self.group)

    async def persist_offsets(self) -> None:
        """Send every committed offset to the broker currently in use."""
        try:
            _, link = await self._broker()
            for topic, offset in list(self.committed.items()):
                await link.call(m.CommitOffsetRequest(link.next_id(), self.group, topic, offset), 3.0)
        except _NETWORK_ERRORS as error:
            logger.info("offset commit failed (%r); will retry", error)


class Consumer:
    """The blocking consumer: `start`, then `shutdown` (which commits offsets)."""

    def __init__(self, group: str, topic: str, handler: Handler, addresses: Sequence[str] | str, **settings: int) -> None:
        addresses = [addresses] if isinstance(addresses, str) else list(addresses)
        self._thread = _LoopThread("noloss-consumer")
        self._async = self._thread.run(_make_consumer(group, topic, handler, addresses, settings))
        self._done: concurrent.futures.Future[None] | None = None

    def start(self) -> None:
        """Begin pulling and processing on the consumer's thread."""
        self._done = asyncio.run_coroutine_threadsafe(self._async.run(), self._thread.loop)

    @property
    def processed(self) -> int:
        """Messages handled so far."""
        return self._async.processed

    @property
    def answered(self) -> int:
        """Offset queries and pulls a broker has answered so far."""
        return self._async.answered

    def shutdown(self) -> None:
        """Stop, commit offsets to the broker, stop the thread."""
        self._thread.loop.call_soon_threadsafe(self._async.stop)
        if self._done is not None:
            self._done.result(timeout=10)
        self._thread.stop()

    def crash(self) -> None:
        """Stop at once, as a killed consumer process: the event loop halts wherever it is
        and nothing more is committed."""
        self._thread.loop.call_soon_threadsafe(self._async.crash)
        self._thread.stop()
        # Its tasks are abandoned mid-flight, as a killed process's are: no warnings about them.
        self._thread.loop.set_exception_handler(lambda loop, context: None)


async def _make_consumer(group: str, topic: str, handler: Handler, addresses: list[str], settings: dict[str, int]) -> AsyncConsumer:
    # Built on the consumer's own loop: its asyncio primitives belong to that loop.
    return AsyncConsumer(group, topic, handler, addresses, **settings)
