"""The reference broker as a conformance target: `noloss broker` processes (a master and a
slave) on free loopback ports, each with its own data directory, driven by the reference
clients (reference/client.py).

The spec's knobs map onto the broker's command line (brokerRole and flushDiskType of master
and slave, reference/presets.py) and onto the producer client (retryTimesWhenSendFailed);
what the application does with a status (checkStatus, resends) is the workload's. Knobs the
broker does not implement are refused (`settings_of`; the workload's own limits are
conformance/targets/kind.py's `supports`).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from noloss.conformance.inject import faultfs
from noloss.conformance.inject.ports import free_port
from noloss.conformance.targets.base import (
    Delivery,
    FaultUnavailable,
    Handler,
    Outcome,
    Route,
    SendOutcome,
    Target,
    TargetConsumer,
    TargetProducer,
    direct,
)
from noloss.reference import messages as m
from noloss.reference.client import AsyncProducer, BrokerError, ConsumeStatus, Consumer, Message, SendFailed, SendStatus
from noloss.reference.core import Role
from noloss.reference.launch import BrokerProcess, broker_argv, start_broker
from noloss.reference.presets import ClusterSettings
from noloss.spec.rocketmq.config import Config

TOPIC = "TopicTest"
REPLICATING = "replicating from master"  # the slave's log line once it is connected


def settings_of(config: Config) -> ClusterSettings:
    """The broker settings `config` claims (the broker implements every release's)."""
    return ClusterSettings.of(config)


class ReferenceProducer(TargetProducer):
    """The reference AsyncProducer; its statuses are the spec's own."""

    def __init__(self, address: str, retries: int) -> None:
        self._client = AsyncProducer(address, retry_times_when_send_failed=retries)

    async def send(self, body: bytes, key: str, on_request: Callable[[], None]) -> SendOutcome:
        try:
            result = await self._client.send(TOPIC, body, key, on_request=on_request)
        except SendFailed as error:
            return SendOutcome(Outcome.UNKNOWN, None, None, str(error))
        except BrokerError as error:
            return SendOutcome(Outcome.FAILED, None, None, str(error))
        if result.status == SendStatus.SEND_OK:
            return SendOutcome(Outcome.ACKNOWLEDGED, result.status.value, result.queue_offset)
        return SendOutcome(Outcome.STORED_NOT_GUARANTEED, result.status.value, result.queue_offset)

    async def close(self) -> None:
        await self._client.close()


class ReferenceConsumer(TargetConsumer):
    """The reference Consumer: pulls from the master (the slave while the master is down)."""

    def __init__(self, group: str, handler: Handler, addresses: list[str]) -> None:
        retry = m.retry_topic(group)

        def listener(message: Message) -> ConsumeStatus:
            queue = "retry" if message.topic == retry else "topic"
            ok = handler(Delivery(message.body, queue, message.queue_offset))
            return ConsumeStatus.CONSUME_SUCCESS if ok else ConsumeStatus.RECONSUME_LATER

        # Offsets go to the broker every second: a crash redelivers a little, as in RocketMQ.
        self._client = Consumer(group, TOPIC, listener, addresses, persist_offset_interval_ms=1000, suspend_ms=200)

    def start(self) -> None:
        self._client.start()

    def stop(self) -> None:
        self._client.shutdown()

    def crash(self) -> None:
        self._client.crash()


class ReferenceTarget(Target):
    """A master and a slave of the reference broker under `root` (root/master, root/slave).

    `launcher` replaces `python -m noloss` in each node's command line (a test runs a
    mutated broker that way)."""

    nodes = ("master", "slave")

    def __init__(self, config: Config, root: Path, power_loss: bool = False, launcher: Sequence[str] | None = None, fsync_delay_ms: float = 0.0) -> None:
        self.settings = settings_of(config)
        self.fsync_delay_ms = fsync_delay_ms  # each fsync on the power-loss filesystem takes this much longer
        self.retries = config.retryTimesWhenSendFailed
        self.root = root
        self.route: Route = direct
        self.launcher = launcher
        self._want_power_loss = power_loss
        self._stack = ExitStack()
        self._filesystems: dict[str, object] = {}
        self._power_loss_reason: str | None = "power loss was not asked for"
        self._procs: dict[str, BrokerProcess] = {}
        self._argv: dict[str, list[str]] = {}
        self._address: dict[str, str] = {}

    # -- nodes --------------------------------------------------------------------------

    def data_dir(self, node: str) -> Path:
        return self.root / node

    def _launch(self, node: str, argv: list[str]) -> None:
        """Start `node` from its `python -m noloss broker ...` command line."""
        command = argv if self.launcher is None else [*self.launcher, *argv[3:]]  # argv[:3]: python -m noloss
        with open(self.root / f"{node}.stderr", "ab") as stderr:
            process = start_broker(command, stderr)
        self._procs[node] = process
        # A restart listens on the port the node had: its peers and clients dial that one.
        self._argv[node] = list(argv)
        self._argv[node][argv.index("--port") + 1] = process.address.rsplit(":", 1)[1]
        self._address[node] = process.address

    def start(self, route: Route = direct) -> None:
        self.route = route
        self.root.mkdir(parents=True, exist_ok=True)
        if self._want_power_loss:
            self._mount_all()
            if self._power_loss_reason is not None:
                raise FaultUnavailable(f"power loss unavailable: {self._power_loss_reason}")
        settings = self.settings
        options = settings.options()
        # Ports below the kernel's ephemeral range (conformance/inject/ports.py): a node restarts on the
        # port it had, which a bind to port 0 elsewhere could take while the node is down.
        master_argv = broker_argv(settings.master_role, settings.master_flush, str(self.data_dir("master")), free_port(), extra=options)
        self._launch("master", master_argv)
        upstream = route("slave->master", self._address["master"])
        slave_dir = str(self.data_dir("slave"))
        self._launch("slave", broker_argv(Role.SLAVE, settings.slave_flush, slave_dir, free_port(), master=upstream, extra=options))
        self._await_replication()

    def _await_replication(self, timeout_s: float = 15.0) -> None:
        """Wait until the slave has connected to the master: the spec starts from a pair in
        sync, and a send before that is answered SLAVE_NOT_AVAILABLE."""
        deadline = time.monotonic() + timeout_s
        log = self.root / "slave.stderr"
        while REPLICATING not in log.read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the slave did not connect to the master within {timeout_s:.0f}s (see {log})")
            time.sleep(0.02)

    def _mount_all(self) -> None:
        reason = faultfs.unavailable_reason()
        if reason is not None:
            self._power_loss_reason = reason
            return
        for node in self.nodes:
            backing = self.root / f".{node}.backing"
            backing.mkdir(parents=True, exist_ok=True)
            self.data_dir(node).mkdir(parents=True, exist_ok=True)
            try:
                self._filesystems[node] = self._stack.enter_context(faultfs.PowerLossFS(backing, self.data_dir(node), fsync_delay_ms=self.fsync_delay_ms))
            except RuntimeError as error:  # the mount failed: its message is the one line to show
                self._stack.close()
                self._filesystems.clear()
                self._power_loss_reason = str(error)
                return
        self._power_loss_reason = None

    def address(self, node: str) -> str:
        """Where `node` listens (clients dial it through the route)."""
        return self._address[node]

    def running(self, node: str) -> bool:
        process = self._procs.get(node)
        return process is not None and process.process.poll() is None

    def stop(self, node: str) -> None:
        self._procs[node].stop()

    def kill(self, node: str) -> None:
        self._procs[node].kill()

    def power_cut(self, node: str, torn_last_write: bool = False) -> None:
        fs = self._filesystems.get(node)
        if fs is None:
            raise FaultUnavailable(f"power loss unavailable: {self._power_loss_reason}")
        # The power goes when the node dies, not when the cut reaches the filesystem a few
        # milliseconds later: an fsync that returns in between returns to a dead process.
        killed = self._procs[node].kill()
        fs.power_cut(torn_last_write=torn_last_write, at=killed)  # type: ignore[attr-defined]

    def restart(self, node: str) -> None:
        if self.running(node):
            raise RuntimeError(f"{node} is running")
        self._launch(node, self._argv[node])

    def wipe(self, node: str) -> None:
        if self.running(node):
            raise RuntimeError(f"{node} is running")
        directory = self.data_dir(node)
        for entry in os.listdir(directory):
            path = directory / entry
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()

    # -- clients ------------------------------------------------------------------------

    def producer(self) -> TargetProducer:
        return ReferenceProducer(self.route("producer->master", self._address["master"]), self.retries)

    def consumer(self, group: str, handler: Handler) -> TargetConsumer:
        addresses = [self.route(f"consumer->{node}", self._address[node]) for node in self.nodes]
        return ReferenceConsumer(group, handler, addresses)

    def close(self) -> None:
        for process in self._procs.values():
            process.kill()
        self._stack.close()


def factory(config: Config, launcher: Sequence[str] | None = None, fsync_delay_ms: float = 0.0) -> Callable[[Path, bool], Target]:
    """Make targets of `config` for conformance runs: (directory, power loss wanted) -> target.
    `fsync_delay_ms`: how much longer than the backing disk's each fsync takes under power loss."""
    return lambda root, power_loss: ReferenceTarget(config, root, power_loss, launcher, fsync_delay_ms)
