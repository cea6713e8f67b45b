"""The cluster presets are the spec's presets, read for their broker settings."""

from reference.core import FlushType, Role
from reference.presets import PRESETS


def test_cluster_presets_follow_the_spec() -> None:
    assert PRESETS["seed-strict"].master_role is Role.SYNC_MASTER
    assert PRESETS["seed-strict"].slave_flush is FlushType.SYNC_FLUSH
    assert PRESETS["slave-async-flush"].slave_flush is FlushType.ASYNC_FLUSH
    assert PRESETS["rocketmq-default"].master_flush is FlushType.ASYNC_FLUSH
    # 5.x presets need inSyncReplicas, which the reference broker does not implement.
    assert "rocketmq5-quorum" not in PRESETS and "rocketmq5-sync-master" not in PRESETS
