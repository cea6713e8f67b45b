"""NATS JetStream as a conformance target: one `nats-server -js` node on a free loopback
port with its own store directory, a file-storage stream with one replica, driven by
nats-py (docs/brokers.md).

The spec's knobs, as JetStream settings:
- flushDiskType: nats-server 2.9.10 (Debian's) has no sync setting: its `jetstream {}`
  block refuses `sync_interval` and `sync_always` ("unknown field"); the file store writes
  each message to the page cache and fsyncs on its own timer. So it can claim
  ASYNC_FLUSH only; SYNC_FLUSH is refused;
- brokerRole: one node, so ASYNC_MASTER only (SYNC_MASTER is refused: there is no replica
  to wait for); faults on the slave are unavailable;
- publish with PubAck: the PubAck is SEND_OK (its stream sequence is the offset); a
  JetStream error reply or "no responders" (JetStream not ready) is a refusal; no reply is
  unknown, resent up to retryTimesWhenSendFailed times within one 3 s send timeout;
- a durable pull consumer with explicit ack, acked after the business step; ack_wait is
  2 s, so what a dead connection left unacked comes back within the drain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js.api import ConsumerConfig, StorageType

from noloss.conformance.targets.nats_client import NETWORK_ERRORS, NO_STREAM_ERRORS, STREAM, SUBJECT, connect, error_words
from noloss.conformance.targets.base import Delivery, Handler, Outcome, Route, SendOutcome, Target, TargetConsumer, TargetProducer, direct
from noloss.conformance.inject.ports import free_port
from noloss.conformance.targets.nats_state import await_serving, held_bodies
from noloss.conformance.targets.nodes import ThreadedConsumer, OneNodeTarget, listening, missing_binary, wait_until
from noloss.conformance.targets.kind import supports
from noloss.conformance.targets.sending import Attempt, Retrying, send_with_retries
from noloss.spec.rocketmq.config import SYNC_FLUSH, SYNC_MASTER, Config, ConfigError

ACK_WAIT_S = 2.0


def settings_of(config: Config) -> None:
    """ConfigError for what one JetStream 2.9 node cannot claim."""
    if config.flushDiskType == SYNC_FLUSH:
        raise ConfigError("flushDiskType=SYNC_FLUSH: nats-server 2.9.10 has no setting that fsyncs before the PubAck (sync_interval arrived later)")
    if config.brokerRole == SYNC_MASTER:
        raise ConfigError("brokerRole=SYNC_MASTER: the NATS target runs one node, there is no replica to wait for")


async def create_stream(address: str, replicas: int, timeout_s: float) -> None:
    """Create the stream with `replicas` copies through `address` (one node or a list),
    retrying while JetStream starts up or a cluster elects its metadata leader."""
    client = await connect(address)
    deadline = asyncio.get_running_loop().time() + timeout_s
    try:
        while True:
            try:
                await client.jetstream().add_stream(name=STREAM, subjects=[SUBJECT], storage=StorageType.FILE, num_replicas=replicas)
                return
            except (nats.js.errors.Error, nats.errors.NoRespondersError, nats.errors.TimeoutError):
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await client.close()


class NatsProducer(TargetProducer):
    """js.publish on one connection, reconnected by the adapter (each attempt logged); to a
    cluster, `address` lists every node and a reconnection takes any that answers."""

    def __init__(self, address: str, retries: int) -> None:
        self._address = address
        self._retrying = Retrying(1 + retries, retry_on=NETWORK_ERRORS, refused=NO_STREAM_ERRORS, describe=error_words)
        self._client: Client | None = None

    async def send(self, body: bytes, key: str, on_request: Callable[[], None]) -> SendOutcome:
        return await send_with_retries(self._retrying, self._connect, lambda attempt: self._publish(body, attempt), self.close, on_request)

    async def _connect(self) -> None:
        if self._client is None or not self._client.is_connected:
            self._client = await connect(self._address)

    async def _publish(self, body: bytes, attempt: Attempt) -> SendOutcome:
        assert self._client is not None  # _connect made it
        # The PubAck is awaited for what was left when the attempt began, as RocketMQ gives
        # each attempt the rest of sendMsgTimeout (connecting is bounded by connect_timeout).
        ack = await self._client.jetstream().publish(SUBJECT, body, timeout=attempt.budget_s, stream=STREAM)
        return SendOutcome(Outcome.ACKNOWLEDGED, "SEND_OK", ack.seq)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and not client.is_closed:
            try:
                await client.close()
            except NETWORK_ERRORS:
                pass


class NatsConsumer(ThreadedConsumer):
    """A durable pull consumer on a thread (and event loop) of its own.

    A message this consumer has processed is never processed by it again: when its ack was
    lost (the server died) and the message comes back, it is only acked, as a RocketMQ
    consumer keeps its offset in memory across a broker restart. A crashed consumer forgets
    that, so its successor gets such messages again."""

    def __init__(self, address: str, group: str, handler: Handler) -> None:
        super().__init__("nats-consumer")
        self._address = address
        self._group = group
        self._handler = handler
        self._done: set[int] = set()

    def _run(self) -> None:
        asyncio.run(self._loop())

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            client: Client | None = None
            try:
                client = await connect(self._address)
                config = ConsumerConfig(durable_name=self._group, ack_wait=ACK_WAIT_S, max_deliver=-1)
                subscription = await client.jetstream().pull_subscribe(SUBJECT, durable=self._group, stream=STREAM, config=config)
                while not self._stopping.is_set():
                    try:
                        messages = await subscription.fetch(50, timeout=0.5)
                    except nats.errors.TimeoutError:
                        continue
                    for message in messages:
                        if self._crashed.is_set():
                            return
                        sequence = message.metadata.sequence.stream
                        if sequence not in self._done:
                            self._handler(Delivery(message.data, "topic", sequence))
                        if self._crashed.is_set():
                            return  # a killed consumer never commits what it had in hand
                        self._done.add(sequence)
                        await message.ack()
            except (*NETWORK_ERRORS, *NO_STREAM_ERRORS):
                await asyncio.sleep(0.1)
            finally:
                if client is not None and not client.is_closed:
                    try:
                        await client.close()
                    except NETWORK_ERRORS:
                        pass


class NatsTarget(OneNodeTarget):
    """One JetStream node ("master") under `root`."""

    broker = "NATS"

    def __init__(self, config: Config, root: Path, power_loss: bool = False, settle_files: bool = True) -> None:
        settings_of(config)
        supports(config)
        super().__init__(root, power_loss)
        self.retries = config.retryTimesWhenSendFailed
        self.settle_files = settle_files  # fsync the stream's files once it is created (NodeSet.settle)

    def start(self, route: Route = direct) -> None:
        reason = missing_binary("nats-server")
        if reason is not None:
            raise RuntimeError(reason)
        self.route = route
        self._nodes.prepare(self.nodes)
        self._port = free_port()
        argv = ["nats-server", "-a", "127.0.0.1", "-p", str(self._port), "-js", "-sd", str(self._nodes.data_dir("master")), "-n", f"noloss-{self._port}"]
        self._nodes.launch("master", argv)
        self._await_up()
        asyncio.run(create_stream(self.address("master"), replicas=1, timeout_s=30.0))
        # JetStream fsyncs neither the stream's new directories nor its metadata file: without
        # this the first power cut loses the whole stream (docs/brokers.md).
        self._nodes.settle("master", files=self.settle_files)

    def _await_up(self) -> None:
        wait_until(lambda: listening(self._port), "nats-server did not start", 30, self._nodes.root / "master.log")

    def serving(self, group: str, timeout_s: float) -> None:
        asyncio.run(await_serving(self.address("master"), group, timeout_s))

    def held(self, group: str) -> frozenset[bytes] | None:
        return asyncio.run(held_bodies(self.address("master"), group))

    def producer(self) -> TargetProducer:
        return NatsProducer(self.route("producer->master", self.address("master")), self.retries)

    def consumer(self, group: str, handler: Handler) -> TargetConsumer:
        return NatsConsumer(self.route("consumer->master", self.address("master")), group, handler)



def factory(config: Config, settle_files: bool = True) -> Callable[[Path, bool], Target]:
    """Make NATS targets of `config` for conformance runs (`settle_files=False` leaves the
    files JetStream wrote when it created the stream unsynced)."""
    return lambda root, power_loss: NatsTarget(config, root, power_loss, settle_files)
