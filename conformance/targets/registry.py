"""Every target `noloss conform --target` can run, by name: one `TargetKind` per broker
setup (conformance/targets/kind.py has the contract).

Each kind imports its adapter module inside its methods, not here: the registry is
imported to build the command line, and the adapters import their client libraries
(redis, nats, pika), which `noloss --help` must not wait for.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from noloss.conformance.targets.base import TargetFactory
from noloss.conformance.targets.kind import TargetKind, TargetOptions
from noloss.spec.rocketmq.config import Config

ONE_NODE = ("master",)
MASTER_AND_SLAVE = ("master", "slave")


class ReferenceKind(TargetKind):
    """The reference broker: a master and a slave (reference.py)."""

    name = "reference"
    nodes = MASTER_AND_SLAVE
    accepts_fsync_delay = True

    @classmethod
    def settings_of(cls, config: Config) -> None:
        from noloss.conformance.targets import reference

        reference.settings_of(config)

    @classmethod
    def make_factory(cls, config: Config, options: TargetOptions) -> TargetFactory:
        from noloss.conformance.targets import reference

        return reference.factory(config, fsync_delay_ms=options.fsync_delay_s * 1000)


class RedisKind(TargetKind):
    """Redis Streams: a primary and its replica (redis_streams.py)."""

    name = "redis"
    nodes = MASTER_AND_SLAVE

    @classmethod
    def settings_of(cls, config: Config) -> None:
        from noloss.conformance.targets import redis_streams

        redis_streams.settings_of(config)

    @classmethod
    def make_factory(cls, config: Config, options: TargetOptions) -> TargetFactory:
        from noloss.conformance.targets import redis_streams

        return redis_streams.factory(config)


class NatsKind(TargetKind):
    """NATS JetStream, one node with an R1 stream (nats_jetstream.py)."""

    name = "nats"
    nodes = ONE_NODE

    @classmethod
    def settings_of(cls, config: Config) -> None:
        from noloss.conformance.targets import nats_jetstream

        nats_jetstream.settings_of(config)

    @classmethod
    def make_factory(cls, config: Config, options: TargetOptions) -> TargetFactory:
        from noloss.conformance.targets import nats_jetstream

        return nats_jetstream.factory(config)


class NatsR3Kind(TargetKind):
    """NATS JetStream, three nodes with an R3 stream, mapped onto master and slave by role
    (nats_cluster.py)."""

    name = "nats-r3"
    nodes = MASTER_AND_SLAVE

    @classmethod
    def settings_of(cls, config: Config) -> None:
        from noloss.conformance.targets import nats_cluster

        nats_cluster.settings_of(config)

    @classmethod
    def make_factory(cls, config: Config, options: TargetOptions) -> TargetFactory:
        from noloss.conformance.targets import nats_cluster

        return nats_cluster.factory(config)


class RabbitMQKind(TargetKind):
    """RabbitMQ, one node with a quorum queue (rabbitmq.py)."""

    name = "rabbitmq"
    nodes = ONE_NODE
    queue_type = "quorum"

    @classmethod
    def settings_of(cls, config: Config) -> None:
        from noloss.conformance.targets import rabbitmq

        rabbitmq.settings_of(config)

    @classmethod
    def make_factory(cls, config: Config, options: TargetOptions) -> TargetFactory:
        from noloss.conformance.targets import rabbitmq

        return rabbitmq.factory(config, cls.queue_type)


class RabbitMQClassicKind(RabbitMQKind):
    """RabbitMQ, one node with a durable classic queue (rabbitmq.py)."""

    name = "rabbitmq-classic"
    queue_type = "classic"


KINDS: tuple[type[TargetKind], ...] = (ReferenceKind, RedisKind, NatsKind, NatsR3Kind, RabbitMQKind, RabbitMQClassicKind)
TARGETS: Mapping[str, type[TargetKind]] = MappingProxyType({kind.name: kind for kind in KINDS})
"""--target -> its kind, in the order `--help` lists them."""
