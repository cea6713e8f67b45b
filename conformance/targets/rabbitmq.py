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
  retryTimesWhenSendFailed times (the producer, on pika's asyncio adapter: rabbitmq_producer.py);
- a consumer with manual ack after the business step (prefetch 50).
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pika

from noloss.conformance.targets.base import Delivery, Handler, Route, Target, TargetConsumer, TargetProducer, direct
from noloss.conformance.inject.ports import free_port
from noloss.conformance.targets.nodes import ThreadedConsumer, OneNodeTarget, listening, wait_until
from noloss.conformance.targets.kind import supports
from noloss.conformance.targets.rabbitmq_client import NETWORK_ERRORS, QUEUE, parameters
from noloss.conformance.targets.rabbitmq_producer import RabbitProducer
from noloss.spec.rocketmq.config import SYNC_FLUSH, SYNC_MASTER, Config, ConfigError

RA_NAME = b"%2F_" + QUEUE.encode()  # the quorum queue's Raft cluster name: vhost "/" escaped, then the queue
QUEUE_TYPES = ("quorum", "classic")
SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # Debian's /usr/sbin one switches to the rabbitmq user
BOOT_TIMEOUT_S = 120.0
EPMD_PORT = 4369


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


def _declare(channel: pika.adapters.blocking_connection.BlockingChannel, queue_type: str) -> None:
    channel.queue_declare(QUEUE, durable=True, arguments={"x-queue-type": queue_type})


class RabbitConsumer(ThreadedConsumer):
    """basic.consume with manual ack on a thread of its own.

    A message this consumer has processed (by its message id) is never processed by it
    again: when the broker died before the ack arrived and requeued it, it is only acked,
    as a RocketMQ consumer keeps its offset in memory. A crashed consumer forgets that."""

    def __init__(self, address: str, handler: Handler) -> None:
        super().__init__("rabbit-consumer")
        self._parameters = parameters(address)
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
            except NETWORK_ERRORS:
                time.sleep(0.2)
            finally:
                if connection is not None and connection.is_open:
                    try:
                        connection.close()  # unacked deliveries go back to the queue
                    except NETWORK_ERRORS:
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
        connection = pika.BlockingConnection(parameters(self.address("master")))
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
                pika.BlockingConnection(parameters(self.address("master"))).close()
                return True
            except NETWORK_ERRORS:
                return False

        wait_until(up, "rabbitmq-server did not start", BOOT_TIMEOUT_S, log)

    def producer(self) -> TargetProducer:
        return RabbitProducer(self.route("producer->master", self.address("master")), self.retries)

    def consumer(self, group: str, handler: Handler) -> TargetConsumer:
        return RabbitConsumer(self.route("consumer->master", self.address("master")), handler)


def factory(config: Config, queue_type: str = "quorum") -> Callable[[Path, bool], Target]:
    """Make RabbitMQ targets of `config` with a `queue_type` queue for conformance runs."""
    return lambda root, power_loss: RabbitTarget(config, root, power_loss, queue_type)
