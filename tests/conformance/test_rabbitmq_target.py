"""RabbitMQ under `noloss conform`: one node of its own (node name, ports, data, cookie)
started by the test, with a quorum queue and with a durable classic queue (docs/brokers.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from noloss.conformance.run import TargetFactory
from noloss.conformance.targets import rabbitmq
from noloss.spec.config import Config, ConfigError, preset
from tests.conformance.real_broker_runs import CAP_S, assert_nothing_lost, require, small_run

SERVER = rabbitmq.SERVER


def quorum(config: Config) -> TargetFactory:
    return rabbitmq.factory(config, "quorum")


def classic(config: Config) -> TargetFactory:
    return rabbitmq.factory(config, "classic")


def test_one_rabbitmq_node_claims_neither_async_flush_nor_sync_master() -> None:
    with pytest.raises(ConfigError, match="ASYNC_FLUSH"):
        rabbitmq.settings_of(preset("rocketmq-default"))
    with pytest.raises(ConfigError, match="SYNC_MASTER"):
        rabbitmq.settings_of(preset("strict"))


@pytest.mark.slow
@pytest.mark.parametrize("make", [quorum, classic], ids=["quorum", "classic"])
@pytest.mark.parametrize("kind", ["kill", "consumer-crash"])
def test_rabbitmq_keeps_every_confirmed_message(tmp_path: Path, kind: str, make: Callable[[Config], TargetFactory]) -> None:
    require(SERVER)
    assert_nothing_lost(small_run("sync-flush-async-master", kind, make, tmp_path, cycles=2, duration_s=CAP_S), faults=2)
