"""RabbitMQ as a conformance target: one `rabbitmq-server` node of its own (node name
noloss-<port>@localhost, its own AMQP and distribution ports, data, log, config and Erlang
cookie), a quorum queue or a durable classic queue, driven by pika (docs/brokers.md).

The spec's knobs, as RabbitMQ settings:
- flushDiskType SYNC_FLUSH: persistent messages (delivery_mode 2) in a durable queue,
  published with publisher confirms: RabbitMQ confirms a persistent message once it is on
  disk (a quorum queue: once its Raft log is fsynced). ASYNC_FLUSH has no equivalent that
  survives a kill (a transient message does not) and is refused;
- brokerRole: one node, so ASYNC_MASTER only (a 3-node cluster does not fit this
  machine's start-up times; docs/brokers.md); faults on the slave are unavailable;
- the confirm (ack) is SEND_OK; a nack or an unroutable return is a refusal; a lost
  connection, or no confirm within the send timeout (RocketMQ's sendMsgTimeout, 3 s: a
  publish or its confirm lost on the way), is unknown, republished up to
  retryTimesWhenSendFailed times;
- a consumer with manual ack after the business step (prefetch 50).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pika
import pika.exceptions
from pika.adapters.utils.connection_workflow import AMQPConnectorException

from noloss.conformance.targets.base import SEND_TIMEOUT_S, Delivery, Handler, Outcome, Route, SendOutcome, Target, TargetConsumer, TargetProducer, direct
from noloss.conformance.inject.ports import free_port
from noloss.conformance.targets.nodes import ThreadedConsumer, OneNodeTarget, listening, wait_until
from noloss.conformance.targets.kind import supports
from noloss.conformance.targets.sending import Attempt, Retrying, send_with_retries
from noloss.spec.rocketmq.config import SYNC_FLUSH, SYNC_MASTER, Config, ConfigError

QUEUE = "noloss"
RA_NAME = b"%2F_" + QUEUE.encode()  # the quorum queue's Raft cluster name: vhost "/" escaped, then the queue
QUEUE_TYPES = ("quorum", "classic")
SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # Debian's /usr/sbin one switches to the rabbitmq user
BOOT_TIMEOUT_S = 120.0
EPMD_PORT = 4369
_T = TypeVar("_T")


def settings_of(config: Config) -> None:
    """ConfigError for what one RabbitMQ node cannot claim."""
    if config.flushDiskType != SYNC_FLUSH:
        raise ConfigError("flushDiskType=ASYNC_FLUSH: RabbitMQ confirms a persistent message once it is on disk; nothing in between survives a kill")
    if config.brokerRole == SYNC_MASTER:
        raise ConfigError("brokerRole=SYNC_MASTER: the RabbitMQ target runs one node, there is no replica to wait for")


def epmd_names() -> set[str] | None:
    """The node names the local epmd has registered (its NAMES request), None when no epmd
    runs. A node killed by SIGKILL stays registered until epmd notices its socket close."""
    try:
        with socket.create_connection(("127.0.0.1", EPMD_PORT), timeout=2) as connection:
            connection.sendall(b"\x00\x01n")  # length 1, NAMES_REQ (110)
            reply = b""
            while chunk := connection.recv(4096):
                reply += chunk
    except OSError:
        return None
    # After the 4-byte port of epmd itself, one line per node: "name <name> at port <port>".
    return {line.split()[1] for line in reply[4:].decode("latin-1").splitlines() if line.startswith("name ")}


class NoReplyInTime(Exception):
    """The broker did not answer (a confirm, a close-ok) within the time given."""


_NETWORK_ERRORS = (NoReplyInTime, AMQPConnectorException, pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError, pika.exceptions.StreamLostError, ConnectionError, OSError)


def within(connection: pika.BlockingConnection, seconds: float, action: Callable[[], _T]) -> _T:
    """`action` (a blocking call on `connection`), or NoReplyInTime once `seconds` pass.

    pika's blocking calls wait for the broker's reply with no limit: a publish or its
    confirm lost on the way (net-drop) leaves basic_publish waiting while heartbeats keep
    the connection alive — the RabbitMQ net-drop run that hung. The limit is a timer on the
    connection's I/O loop, the one those calls run while they wait (BlockingConnection's
    own call_later fires only in process_data_events); when it fires it drops the TCP
    connection as pika does on a heartbeat timeout, and the call raises NoReplyInTime."""
    impl = connection._impl  # pika 1.x: the SelectConnection under the blocking one
    timer = impl.ioloop.call_later(seconds, lambda: impl._terminate_stream(NoReplyInTime(f"no reply within {seconds:.1f}s")))
    try:
        return action()
    finally:
        impl.ioloop.remove_timeout(timer)


def _parameters(address: str) -> pika.ConnectionParameters:
    host, port = address.rsplit(":", 1)
    return pika.ConnectionParameters(host=host, port=int(port), socket_timeout=3, stack_timeout=SEND_TIMEOUT_S, blocked_connection_timeout=3, connection_attempts=1, heartbeat=10)


def _declare(channel: pika.adapters.blocking_connection.BlockingChannel, queue_type: str) -> None:
    channel.queue_declare(QUEUE, durable=True, arguments={"x-queue-type": queue_type})


class RabbitProducer(TargetProducer):
    """A confirming channel, used from one thread of its own (pika blocks)."""

    def __init__(self, address: str, retries: int) -> None:
        self._parameters = _parameters(address)
        # A nack, or the queue missing (the mandatory publish came back): not stored.
        refused = (pika.exceptions.NackError, pika.exceptions.UnroutableError)
        self._retrying = Retrying(1 + retries, retry_on=_NETWORK_ERRORS, refused=refused, describe=repr)
        self._connection: pika.BlockingConnection | None = None
        self._channel: pika.adapters.blocking_connection.BlockingChannel | None = None
        self._thread = ThreadPoolExecutor(1, "rabbit-producer")

    async def send(self, body: bytes, key: str, on_request: Callable[[], None]) -> SendOutcome:
        return await send_with_retries(self._retrying, self._connect, lambda attempt: self._blocking(lambda: self._publish(body, key, attempt)), self._connection_lost, on_request)

    async def _blocking(self, call: Callable[[], _T]) -> _T:
        """`call()` on the producer's own thread: pika blocks, and is not thread-safe."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    async def _connect(self) -> None:
        await self._blocking(self._open)

    async def _connection_lost(self) -> None:
        await self._blocking(self._drop)

    def _publish(self, body: bytes, key: str, attempt: Attempt) -> SendOutcome:
        channel, connection = self._channel, self._connection
        assert channel is not None and connection is not None  # _open made them
        properties = pika.BasicProperties(delivery_mode=2, message_id=f"{key}-{uuid.uuid4().hex}")
        # What is left now, not when the attempt began: opening a channel in confirm mode
        # takes up to three round trips, each allowed the whole send timeout.
        within(connection, attempt.left_s(), lambda: channel.basic_publish("", QUEUE, body, properties, mandatory=True))
        return SendOutcome(Outcome.ACKNOWLEDGED, "SEND_OK", None)

    def _open(self) -> pika.adapters.blocking_connection.BlockingChannel:
        if self._channel is None or not self._channel.is_open:
            self._drop()
            self._connection = connection = pika.BlockingConnection(self._parameters)  # stack_timeout bounds it
            self._channel = channel = within(connection, SEND_TIMEOUT_S, connection.channel)
            within(connection, SEND_TIMEOUT_S, channel.confirm_delivery)
        return self._channel

    def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                within(connection, SEND_TIMEOUT_S, connection.close)  # a close-ok can be dropped too
            except _NETWORK_ERRORS:
                pass

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._drop)
        self._thread.shutdown()


class RabbitConsumer(ThreadedConsumer):
    """basic.consume with manual ack on a thread of its own.

    A message this consumer has processed (by its message id) is never processed by it
    again: when the broker died before the ack arrived and requeued it, it is only acked,
    as a RocketMQ consumer keeps its offset in memory. A crashed consumer forgets that."""

    def __init__(self, address: str, handler: Handler) -> None:
        super().__init__("rabbit-consumer")
        self._parameters = _parameters(address)
        self._handler = handler
        self._done: set[str] = set()

    def _run(self) -> None:
        self._loop()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            connection: pika.BlockingConnection | None = None
            try:
                connection = pika.BlockingConnection(self._parameters)
                channel = connection.channel()
                channel.basic_qos(prefetch_count=50)
                for method, properties, body in channel.consume(QUEUE, inactivity_timeout=0.2):
                    if self._stopping.is_set():
                        break
                    if method is None:
                        continue
                    message_id = properties.message_id or ""
                    if message_id not in self._done:
                        self._handler(Delivery(body, "topic", method.delivery_tag))
                    if self._crashed.is_set():
                        break  # a killed consumer never acks what it had in hand
                    self._done.add(message_id)
                    channel.basic_ack(method.delivery_tag)
            except _NETWORK_ERRORS:
                time.sleep(0.2)
            finally:
                if connection is not None and connection.is_open:
                    try:
                        connection.close()  # unacked deliveries go back to the queue
                    except _NETWORK_ERRORS:
                        pass


class RabbitTarget(OneNodeTarget):
    """One RabbitMQ node ("master") under `root` with the queue `QUEUE` of `queue_type`."""

    broker = "RabbitMQ"
    stop_timeout_s = 60.0

    def __init__(self, config: Config, root: Path, power_loss: bool = False, queue_type: str = "quorum", await_registration: bool = True) -> None:
        settings_of(config)
        supports(config)
        if queue_type not in QUEUE_TYPES:
            raise ConfigError(f"queue type {queue_type!r}: one of {', '.join(QUEUE_TYPES)}")
        super().__init__(root, power_loss)
        self.queue_type = queue_type
        self.retries = config.retryTimesWhenSendFailed
        self.await_registration = await_registration  # start() returns once Ra's names.dets holds the quorum queue

    def start(self, route: Route = direct) -> None:
        if shutil.which(SERVER) is None:
            raise RuntimeError(f"{SERVER} is not installed (the Debian package rabbitmq-server provides it)")
        self.route = route
        root = self._nodes.root
        self._nodes.prepare(self.nodes)
        self._port = free_port()
        home = root / "home"  # its own Erlang cookie (~/.erlang.cookie), made on first start
        home.mkdir(exist_ok=True)
        (root / "enabled_plugins").write_text("[].\n")
        (root / "rabbitmq.conf").write_text(f"listeners.tcp.1 = 127.0.0.1:{self._port}\nloopback_users = none\n")
        env = {
            "HOME": str(home),
            "RABBITMQ_NODENAME": f"{self._short_name()}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self._port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(self._nodes.data_dir("master")),
            "RABBITMQ_LOG_BASE": str(root / "log"),
            "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
        }
        self._nodes.launch("master", [SERVER], env)
        self._await_up()
        connection = pika.BlockingConnection(_parameters(self.address("master")))
        try:
            _declare(connection.channel(), self.queue_type)
        finally:
            connection.close()
        if self.queue_type == "quorum" and self.await_registration:
            # Ra 2.2.0 registers the queue's Raft member in names.dets with dets:insert and
            # no dets:sync: DETS keeps the write in the node's memory for a few seconds, and
            # a kill in that window makes the restarted node start the member anew, empty
            # and leaderless, its confirmed messages stranded in the old member's directory
            # (docs/brokers.md). Waited out once, so the runs test RabbitMQ under load.
            names = self._ra_directory() / "names.dets"
            wait_until(lambda: names.exists() and RA_NAME in names.read_bytes(), "Ra did not write the quorum queue's registration to names.dets", BOOT_TIMEOUT_S)
        # RabbitMQ 3.10 fsyncs neither the directories it creates at its first boot (its
        # whole node directory) nor some of the files (the feature flags file): a power cut
        # before ext4 commits them makes it boot as a new node with no queue
        # (docs/brokers.md). Made durable once, before any message, as NATS's files are.
        self._nodes.settle("master", files=True)

    def _short_name(self) -> str:
        return f"noloss-{self._port}"

    def _ra_directory(self) -> Path:
        """Where the quorum queues' Ra system keeps its WAL, names.dets and members."""
        node = f"{self._short_name()}@localhost"
        return self._nodes.data_dir("master") / node / "quorum" / node

    def restart(self, node: str) -> None:
        # A restart before epmd has dropped the killed node's name fails at once with
        # "name already in use" (the script exits): wait for epmd to forget it first.
        wait_until(lambda: self._short_name() not in (epmd_names() or set()), "epmd did not forget the killed RabbitMQ node", 30)
        super().restart(node)

    def _await_up(self) -> None:
        log = self._nodes.root / "master.log"

        def up() -> bool:
            if not self._nodes.running("master"):
                raise RuntimeError(f"rabbitmq-server exited while starting (see {log})")
            if not listening(self._port):
                return False
            try:
                pika.BlockingConnection(_parameters(self.address("master"))).close()
                return True
            except _NETWORK_ERRORS:
                return False

        wait_until(up, "rabbitmq-server did not start", BOOT_TIMEOUT_S, log)

    def producer(self) -> TargetProducer:
        return RabbitProducer(self.route("producer->master", self.address("master")), self.retries)

    def consumer(self, group: str, handler: Handler) -> TargetConsumer:
        return RabbitConsumer(self.route("consumer->master", self.address("master")), handler)


def factory(config: Config, queue_type: str = "quorum") -> Callable[[Path, bool], Target]:
    """Make RabbitMQ targets of `config` with a `queue_type` queue for conformance runs."""
    return lambda root, power_loss: RabbitTarget(config, root, power_loss, queue_type)
