"""Named cluster settings, in RocketMQ's terms: the presets `noloss cluster` accepts.

The spec defines presets of the same names for the checker; until the two are joined,
this table is the broker's own copy and must say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference.core import FlushType, Role


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """broker.conf of a master/slave pair."""

    master_role: Role
    master_flush: FlushType
    slave_flush: FlushType


SYNC, ASYNC = FlushType.SYNC_FLUSH, FlushType.ASYNC_FLUSH

PRESETS: dict[str, ClusterSettings] = {
    "rocketmq-default": ClusterSettings(Role.ASYNC_MASTER, ASYNC, ASYNC),
    "seed-strict": ClusterSettings(Role.SYNC_MASTER, SYNC, SYNC),
    "sync-flush-async-master": ClusterSettings(Role.ASYNC_MASTER, SYNC, SYNC),
    "async-flush-sync-master": ClusterSettings(Role.SYNC_MASTER, ASYNC, ASYNC),
    "slave-async-flush": ClusterSettings(Role.SYNC_MASTER, SYNC, ASYNC),
}
