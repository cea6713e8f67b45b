"""Named cluster settings, in RocketMQ's terms: the presets `noloss cluster` accepts.

They are the spec's presets (spec/config.py), read for their broker half: the master's
brokerRole and flushDiskType and the slave's flushDiskType. Presets of RocketMQ 5.x are left
out: the reference broker implements 4.x SYNC_MASTER only (no inSyncReplicas).
"""

from __future__ import annotations

from dataclasses import dataclass

from noloss.reference.core import FlushType, Role
from noloss.spec.config import PRESETS as SPEC_PRESETS
from noloss.spec.config import Config


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """broker.conf of a master/slave pair."""

    master_role: Role
    master_flush: FlushType
    slave_flush: FlushType

    @staticmethod
    def of(config: Config) -> ClusterSettings:
        return ClusterSettings(Role(config.brokerRole), FlushType(config.flushDiskType), FlushType(config.slaveFlushDiskType))


PRESETS: dict[str, ClusterSettings] = {
    name: ClusterSettings.of(config) for name, config in SPEC_PRESETS.items() if config.release.line == 4
}
