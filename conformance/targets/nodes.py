"""What the real-broker targets (Redis, NATS, RabbitMQ) share: their nodes as child
processes on free loopback ports, each with its own data directory, optionally mounted on
the power-loss filesystem (conformance/inject/faultfs.py).

A node is a command line and a data directory. `NodeSet` starts, kills, power-cuts,
restarts and wipes nodes by name, the same way for every broker; the broker's module says
only how to write the command line and how to tell the node is ready.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from noloss.conformance.inject import faultfs
from noloss.conformance.targets.base import ConsumerKilled, FaultUnavailable, Route, Target, TargetConsumer, direct


def missing_binary(*names: str) -> str | None:
    """A one-line reason when one of the broker's binaries is not installed, else None."""
    for name in names:
        if shutil.which(name) is None:
            return f"{name} is not installed (the Debian package provides it)"
    return None


def wait_until(ready: Callable[[], bool], what: str, timeout_s: float, log: Path | None = None) -> None:
    """Poll `ready` until it holds; RuntimeError naming `what` (and the log) otherwise."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            where = f" (see {log})" if log is not None else ""
            raise RuntimeError(f"{what} within {timeout_s:.0f}s{where}")
        time.sleep(0.05)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Node:
    """One broker node: how to start it, where it keeps its data, its process when up."""

    argv: list[str]
    data: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class NodeSet:
    """The nodes of one target under `root`, with the power-loss filesystem when asked for."""

    def __init__(self, root: Path, power_loss: bool) -> None:
        self.root = root
        self.nodes: dict[str, Node] = {}
        self._want_power_loss = power_loss
        self._stack = ExitStack()
        self._filesystems: dict[str, faultfs.PowerLossFS] = {}
        self._power_loss_reason = "power loss was not asked for"

    def prepare(self, names: Sequence[str]) -> None:
        """Make each node's data directory (on the power-loss filesystem when asked for);
        FaultUnavailable when that filesystem cannot be had here."""
        self.root.mkdir(parents=True, exist_ok=True)
        for name in names:
            (self.root / name).mkdir(parents=True, exist_ok=True)
        if not self._want_power_loss:
            return
        reason = faultfs.unavailable_reason()
        if reason is not None:
            raise FaultUnavailable(f"power loss unavailable: {reason}")
        for name in names:
            backing = self.root / f".{name}.backing"
            backing.mkdir(parents=True, exist_ok=True)
            self._filesystems[name] = self._stack.enter_context(faultfs.PowerLossFS(backing, self.root / name))

    def settle(self, name: str, files: bool = False) -> None:
        """fsync every directory under `name`'s data directory, as a journaling filesystem
        commits new directory entries within seconds. A broker that creates its files at
        start-up without fsyncing their parent directory would otherwise lose them all to
        the first power cut (docs/brokers.md: Redis's appendonlydir); `settle` is called
        once, after start-up, so only what the broker writes under load is on trial.
        With `files`, every file's contents too, as the kernel writes dirty pages back
        within half a minute (vm.dirty_expire_centisecs): a broker that never fsyncs the
        files it writes at start-up (JetStream's stream metadata) then keeps them, as it
        would past its first half-minute."""
        for directory, _, names in os.walk(self.data_dir(name)):
            for path in [directory, *(os.path.join(directory, n) for n in names if files)]:
                descriptor = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path == directory else 0))
                try:
                    os.fsync(descriptor)
                finally:
                    os.close(descriptor)

    def data_dir(self, name: str) -> Path:
        return self.root / name

    def launch(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Node:
        """Start `name` (first time): its output goes to root/<name>.log."""
        node = Node(argv, self.data_dir(name), self.root / f"{name}.log", dict(env or {}))
        self.nodes[name] = node
        self._spawn(node)
        return node

    def _spawn(self, node: Node) -> None:
        with open(node.log, "ab") as log:
            # A session of its own: a SIGKILL of the node reaches every process it started.
            node.process = subprocess.Popen(node.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env={**os.environ, **node.env}, start_new_session=True)

    def running(self, name: str) -> bool:
        node = self.nodes.get(name)
        return node is not None and node.running()

    def kill(self, name: str) -> None:
        node = self.nodes[name]
        if node.running():
            assert node.process is not None
            os.killpg(node.process.pid, signal.SIGKILL)
            node.process.wait()
        if node.process is not None:
            # The whole group: a broker started by a script (RabbitMQ) holds its ports in a
            # child that may outlive the script for a moment; a restart then finds them taken.
            wait_until(lambda: not _group_alive(node.process.pid if node.process else 0), f"{name} did not die", 10)

    def stop(self, name: str, timeout_s: float = 20.0) -> None:
        node = self.nodes[name]
        if node.running():
            assert node.process is not None
            node.process.terminate()
            try:
                node.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill(name)

    def power_cut(self, name: str, torn_last_write: bool = False) -> None:
        """SIGKILL `name`, then cut its filesystem's power; what the cut dropped is appended to
        root/<name>.cuts.jsonl."""
        fs = self._filesystems.get(name)
        if fs is None:
            raise FaultUnavailable(f"power loss unavailable: {self._power_loss_reason}")
        self.kill(name)
        report = fs.power_cut(torn_last_write=torn_last_write)
        # What the cut dropped, kept beside the node's log (and with a failing run's history):
        # a lost file tells a directory entry never fsynced from data confirmed too early.
        with open(self.root / f"{name}.cuts.jsonl", "a") as cuts:
            cuts.write(json.dumps(dataclasses.asdict(report)) + "\n")

    def restart(self, name: str) -> None:
        node = self.nodes[name]
        if node.running():
            raise RuntimeError(f"{name} is running")
        self._spawn(node)

    def wipe(self, name: str) -> None:
        if self.running(name):
            raise RuntimeError(f"{name} is running")
        directory = self.data_dir(name)
        for entry in os.listdir(directory):
            path = directory / entry
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()

    def close(self) -> None:
        for name in self.nodes:
            self.kill(name)
        self._stack.close()


class OneNodeTarget(Target):
    """A target of one node ("master") on `_port`: the faults on a slave are unavailable.
    A subclass starts the node (`start`) and says when it is up again (`_await_up`)."""

    nodes = ("master",)
    broker: ClassVar[str]  # for messages: "NATS", "RabbitMQ"
    stop_timeout_s: ClassVar[float] = 20.0

    def __init__(self, root: Path, power_loss: bool) -> None:
        self.route: Route = direct
        self._nodes = NodeSet(root, power_loss)
        self._port = 0

    def _await_up(self) -> None:
        raise NotImplementedError

    def _only_master(self, node: str) -> None:
        if node != "master":
            raise FaultUnavailable(f"the {self.broker} target runs one node: there is no {node}")

    def address(self, node: str) -> str:
        return f"127.0.0.1:{self._port}"

    def stop(self, node: str) -> None:
        self._only_master(node)
        self._nodes.stop(node, self.stop_timeout_s)

    def kill(self, node: str) -> None:
        self._only_master(node)
        self._nodes.kill(node)

    def power_cut(self, node: str, torn_last_write: bool = False) -> None:
        self._only_master(node)
        self._nodes.power_cut(node, torn_last_write)

    def restart(self, node: str) -> None:
        self._only_master(node)
        self._nodes.restart(node)
        self._await_up()

    def wipe(self, node: str) -> None:
        self._only_master(node)
        self._nodes.wipe(node)

    def close(self) -> None:
        self._nodes.close()


class ThreadedConsumer(TargetConsumer):
    """A consumer whose loop (`_run`) runs on a thread of its own until `_stopping`; after
    `crash` (`_crashed` set) the loop must commit nothing more. A `ConsumerKilled` from the
    handler ends the loop where it is: the loop lets it through and the thread ends quietly."""

    def __init__(self, name: str) -> None:
        self._stopping = threading.Event()
        self._crashed = threading.Event()
        self._thread = threading.Thread(target=self._run_until_killed, name=name, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def _run_until_killed(self) -> None:
        try:
            self._run()
        except ConsumerKilled:
            pass  # the harness crashed this consumer mid-step: it ends there, as the process did

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()

    def crash(self) -> None:
        self._crashed.set()
        self.stop()
