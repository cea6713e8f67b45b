"""Named cluster settings, in RocketMQ's terms: the presets `noloss cluster` accepts.

They are the spec's presets (spec/rocketmq/config.py), every one of them, read for their broker
half: the master's brokerRole and flushDiskType, the slave's flushDiskType, and the knobs
that select a release's behaviour (rocketmqVersion, inSyncReplicas, readUnCommitted,
slaveReadEnable, haTrustSlaveOffset).

Why the broker reads them from the spec: a preset is a name for settings a user would
otherwise type (`--preset strict` is `SYNC_MASTER`, `SYNC_FLUSH`, ...), input to the broker
and not behaviour of it. What a setting makes the broker do is decided here in reference/
(core.py, releases.py) and never read from the spec; only which settings a name stands
for is, so that `noloss check --preset NAME` and `noloss cluster --preset NAME` mean the
same cluster, and so that a conformance run can start the broker as a spec `Config` says
(`ClusterSettings.of`). A preset naming the wrong settings would be wrong on both sides
alike, and a copy kept here would not catch that either; a behaviour implemented wrongly
on one side does show up, because each side implements it on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from noloss.reference.core import HA_TRUST_SLAVE_OFFSET, FlushType, NodeConfig, Role
from noloss.spec.rocketmq.config import PRESETS as SPEC_PRESETS
from noloss.spec.rocketmq.config import Config


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """broker.conf of a master/slave pair."""

    master_role: Role
    master_flush: FlushType
    slave_flush: FlushType
    rocketmq_version: str = "4.9.7"
    in_sync_replicas: int = 1
    read_uncommitted: bool = False
    slave_read_enable: bool = False
    ha_trust_slave_offset: bool = HA_TRUST_SLAVE_OFFSET

    @staticmethod
    def of(config: Config) -> ClusterSettings:
        return ClusterSettings(
            Role(config.brokerRole),
            FlushType(config.flushDiskType),
            FlushType(config.slaveFlushDiskType),
            config.rocketmqVersion,
            config.inSyncReplicas,
            config.readUnCommitted,
            config.slaveReadEnable,
            config.haTrustSlaveOffset,
        )

    def options(self) -> tuple[str, ...]:
        """The `noloss broker` options both nodes take (role and flush type aside). The
        handshake is always spelled out, so a cluster never rides on the broker's default."""
        flags = ("--rocketmq-version", self.rocketmq_version, "--in-sync-replicas", str(self.in_sync_replicas))
        handshake = "--ha-trust-slave-offset" if self.ha_trust_slave_offset else "--no-ha-trust-slave-offset"
        switches = {
            "--read-uncommitted": self.read_uncommitted,
            "--slave-read-enable": self.slave_read_enable,
        }
        return flags + (handshake,) + tuple(flag for flag, on in switches.items() if on)

    def node_config(self, role: Role, flush: FlushType, topics: frozenset[str] = frozenset({"TopicTest"})) -> NodeConfig:
        """One node's NodeConfig with these settings."""
        return NodeConfig(
            role,
            flush,
            topics,
            rocketmq_version=self.rocketmq_version,
            in_sync_replicas=self.in_sync_replicas,
            read_uncommitted=self.read_uncommitted,
            slave_read_enable=self.slave_read_enable,
            ha_trust_slave_offset=self.ha_trust_slave_offset,
        )


PRESETS: dict[str, ClusterSettings] = {name: ClusterSettings.of(config) for name, config in SPEC_PRESETS.items()}
