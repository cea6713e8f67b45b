"""The cluster presets are the spec's presets, read for their broker settings."""

from noloss.reference.core import FlushType, Role
from noloss.reference.presets import PRESETS


def test_cluster_presets_follow_the_spec() -> None:
    assert PRESETS["strict"].master_role is Role.SYNC_MASTER
    assert PRESETS["strict"].slave_flush is FlushType.SYNC_FLUSH
    assert PRESETS["slave-async-flush"].slave_flush is FlushType.ASYNC_FLUSH
    assert PRESETS["rocketmq-default"].master_flush is FlushType.ASYNC_FLUSH
    # 5.x presets need inSyncReplicas, which the reference broker does not implement.
    assert not {"rocketmq5-default", "rocketmq5-quorum", "rocketmq5-sync-master"} & set(PRESETS)
