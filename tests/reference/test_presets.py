"""The cluster presets are the spec's presets, every one, read for their broker settings."""

from noloss.reference.core import FlushType, Role
from noloss.reference.presets import PRESETS
from noloss.spec.rocketmq.config import PRESETS as SPEC_PRESETS


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
