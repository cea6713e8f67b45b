"""`noloss conform --target rabbitmq-classic`: the RabbitMQ target with a durable classic
queue instead of a quorum queue (conformance/targets/rabbitmq.py has the mapping)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from noloss.conformance.targets.base import Target
from noloss.conformance.targets.rabbitmq import NODES, settings_of
from noloss.conformance.targets.reference import supports
from noloss.conformance.targets.rabbitmq import factory as queue_factory
from noloss.spec.rocketmq.config import Config

__all__ = ["NODES", "factory", "settings_of", "supports"]


def factory(config: Config) -> Callable[[Path, bool], Target]:
    return queue_factory(config, "classic")
