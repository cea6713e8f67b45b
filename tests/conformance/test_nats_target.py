"""NATS JetStream under `noloss conform`: one nats-server node with a file-storage stream,
started by the test on a free loopback port (docs/brokers.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from noloss.conformance.targets import nats_jetstream
from noloss.spec.config import ConfigError, preset
from tests.conformance.real_broker_runs import CAP_S, assert_nothing_lost, require, small_run


def test_nats_2_9_cannot_claim_a_sync_flush() -> None:
    with pytest.raises(ConfigError, match="sync_interval"):
        nats_jetstream.settings_of(preset("sync-flush-async-master"))
    with pytest.raises(ConfigError, match="SYNC_MASTER"):
        nats_jetstream.settings_of(preset("async-flush-sync-master"))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["kill", "consumer-crash"])
def test_jetstream_keeps_every_acknowledged_message_through_kills(tmp_path: Path, kind: str) -> None:
    require("nats-server")
    assert_nothing_lost(small_run("rocketmq-default", kind, nats_jetstream.factory, tmp_path, cycles=3, duration_s=CAP_S), faults=3)
