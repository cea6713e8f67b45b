"""Fixtures that run broker nodes as real processes on loopback and always clean up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from noloss.reference.core import FlushType, Role
from noloss.reference.launch import BrokerProcess, broker_argv, restart, start_broker, start_cluster
from noloss.reference.presets import PRESETS


class Brokers:
    """Starts nodes for one test; every process it started is killed at teardown.
    Each node's stderr goes to a file the test can read (`log_of`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: list[BrokerProcess] = []

    def _stderr(self, name: str) -> Path:
        return self.root / f"{name}.stderr"

    def _track(self, broker: BrokerProcess) -> BrokerProcess:
        self.started.append(broker)
        return broker

    def master(
        self, role: Role = Role.ASYNC_MASTER, flush: FlushType = FlushType.ASYNC_FLUSH, name: str = "master", extra: tuple[str, ...] = ()
    ) -> BrokerProcess:
        with open(self._stderr(name), "ab") as stderr:
            return self._track(start_broker(broker_argv(role, flush, str(self.root / name), extra=extra), stderr))

    def cluster(self, preset: str) -> tuple[BrokerProcess, BrokerProcess]:
        with open(self._stderr("cluster"), "ab") as stderr:
            master, slave = start_cluster(PRESETS[preset], str(self.root), stderr=stderr)
        self._track(master)
        self._track(slave)
        return master, slave

    def restart(self, broker: BrokerProcess, name: str = "master") -> BrokerProcess:
        with open(self._stderr(name), "ab") as stderr:
            return self._track(restart(broker, stderr))

    def log_of(self, name: str = "master") -> str:
        return self._stderr(name).read_text()


@pytest.fixture
def brokers(tmp_path: Path) -> Iterator[Brokers]:
    nodes = Brokers(tmp_path)
    try:
        yield nodes
    finally:
        for broker in nodes.started:
            broker.kill()
