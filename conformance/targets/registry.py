"""Every target `noloss conform --target` can run, by name: one `TargetKind` per broker
setup (conformance/targets/kind.py has the contract).

Each kind imports its adapter module inside `adapter()`, not here: the registry is
imported to build the command line, and the adapters import their client libraries
(redis, nats, pika), which `noloss --help` must not wait for.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from noloss.conformance.targets.kind import TargetKind, TargetOptions
from noloss.spec.rocketmq.config import Config

if TYPE_CHECKING:  # base.py is not needed to list the kinds (`noloss --help`)
    from noloss.conformance.targets.base import TargetFactory

ONE_NODE = ("master",)
MASTER_AND_SLAVE = ("master", "slave")


class Adapter(Protocol):
    """What a kind uses of its adapter module (reference.py, redis_streams.py, ...)."""

    def settings_of(self, config: Config) -> object:
        """The broker's settings for `config`; ConfigError for a knob it cannot claim."""

    def factory(self, config: Config) -> TargetFactory:
        """Targets of `config` with the adapter's defaults."""


class AdapterKind(TargetKind):
    """A kind whose checks and targets are its adapter module's `settings_of` and `factory`."""

    @classmethod
    @abstractmethod
    def adapter(cls) -> Adapter:
        """The adapter module, imported now."""

    @classmethod
    def settings_of(cls, config: Config) -> None:
        cls.adapter().settings_of(config)

    @classmethod
    def make_factory(cls, config: Config, options: TargetOptions) -> TargetFactory:
        return cls.adapter().factory(config)


class ReferenceKind(AdapterKind):
    """The reference broker: a master and a slave (reference.py)."""

    name = "reference"
    nodes = MASTER_AND_SLAVE
    accepts_fsync_delay = True

    @classmethod
    def adapter(cls) -> Adapter:
        from noloss.conformance.targets import reference

        return reference

    @classmethod
    def make_factory(cls, config: Config, options: TargetOptions) -> TargetFactory:
        from noloss.conformance.targets import reference

        return reference.factory(config, fsync_delay_ms=options.fsync_delay_s * 1000)


class RedisKind(AdapterKind):
    """Redis Streams: a primary and its replica (redis_streams.py)."""

    name = "redis"
    nodes = MASTER_AND_SLAVE

    @classmethod
    def adapter(cls) -> Adapter:
        from noloss.conformance.targets import redis_streams

        return redis_streams


class NatsKind(AdapterKind):
    """NATS JetStream, one node with an R1 stream (nats_jetstream.py)."""

    name = "nats"
    nodes = ONE_NODE

    @classmethod
    def adapter(cls) -> Adapter:
        from noloss.conformance.targets import nats_jetstream

        return nats_jetstream


class NatsR3Kind(AdapterKind):
    """NATS JetStream, three nodes with an R3 stream, mapped onto master and slave by role
    (nats_cluster.py)."""

    name = "nats-r3"
    nodes = MASTER_AND_SLAVE

    @classmethod
    def adapter(cls) -> Adapter:
        from noloss.conformance.targets import nats_cluster

        return nats_cluster


class RabbitMQKind(AdapterKind):
    """RabbitMQ, one node with a quorum queue (rabbitmq.py)."""

    name = "rabbitmq"
    nodes = ONE_NODE
    queue_type = "quorum"

    @classmethod
    def adapter(cls) -> Adapter:
        from noloss.conformance.targets import rabbitmq

        return rabbitmq

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
