"""The cluster presets are the spec's presets, every one, read for their broker settings; and
where the broker and the spec share a knob, the broker's default is the spec's."""

import pytest

from noloss.cli import build_parser
from noloss.reference.core import FlushType, NodeConfig, Role
from noloss.reference.presets import PRESETS, ClusterSettings
from noloss.spec.rocketmq.config import PRESETS as SPEC_PRESETS
from noloss.spec.rocketmq.config import Config

# The broker's NodeConfig field for each spec knob both have.
SHARED_KNOBS = {
    "rocketmqVersion": "rocketmq_version",
    "inSyncReplicas": "in_sync_replicas",
    "readUnCommitted": "read_uncommitted",
    "slaveReadEnable": "slave_read_enable",
    "haTrustSlaveOffset": "ha_trust_slave_offset",
}


def test_cluster_presets_follow_the_spec() -> None:
    assert set(PRESETS) == set(SPEC_PRESETS)
    assert PRESETS["strict"].master_role is Role.SYNC_MASTER
    assert PRESETS["strict"].slave_flush is FlushType.SYNC_FLUSH
    assert PRESETS["slave-async-flush"].slave_flush is FlushType.ASYNC_FLUSH
    assert PRESETS["rocketmq-default"].master_flush is FlushType.ASYNC_FLUSH
    quorum = PRESETS["rocketmq5-quorum"]
    assert (quorum.rocketmq_version, quorum.in_sync_replicas) == ("5.3", 2)
    assert PRESETS["rocketmq5-sync-master"].in_sync_replicas == 1
    # Every preset trusts the slave's offset, as every RocketMQ release does.
    assert all(settings.ha_trust_slave_offset for settings in PRESETS.values())


def test_a_preset_reaches_the_broker_command_line() -> None:
    options = PRESETS["rocketmq5-quorum"].options()
    assert options[:4] == ("--rocketmq-version", "5.3", "--in-sync-replicas", "2")
    assert "--ha-trust-slave-offset" in options


def test_a_checked_handshake_is_spelled_out_on_the_command_line() -> None:
    # The broker trusts by default: a cluster that checks must say so.
    options = ClusterSettings.of(SPEC_PRESETS["strict"].with_settings({"haTrustSlaveOffset": "false"})).options()
    assert "--no-ha-trust-slave-offset" in options and "--ha-trust-slave-offset" not in options


@pytest.mark.parametrize("knob", sorted(SHARED_KNOBS))
def test_the_broker_defaults_to_what_the_spec_defaults_to(knob: str) -> None:
    broker_field = SHARED_KNOBS[knob]
    spec_default = getattr(Config(), knob)
    assert getattr(NodeConfig(Role.SYNC_MASTER, FlushType.ASYNC_FLUSH), broker_field) == spec_default
    broker_args = build_parser().parse_args(["broker", "--role", "SYNC_MASTER", "--flush", "ASYNC_FLUSH", "--data-dir", "d", "--port", "0"])
    assert getattr(broker_args, broker_field) == spec_default
