"""What the RabbitMQ target's clients share (rabbitmq.py, rabbitmq_producer.py): the queue's
name, how to dial a node, and the errors that mean the connection is gone."""

from __future__ import annotations

import pika
import pika.exceptions
from pika.adapters.utils.connection_workflow import AMQPConnectorException

from noloss.conformance.targets.base import SEND_TIMEOUT_S

QUEUE = "noloss"


class NoReplyInTime(Exception):
    """The broker did not answer (a confirm, a close-ok) within the time given."""


NETWORK_ERRORS = (NoReplyInTime, AMQPConnectorException, pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError, pika.exceptions.StreamLostError, ConnectionError, OSError)


def parameters(address: str) -> pika.ConnectionParameters:
    """How a client dials `address` (HOST:PORT): one try, bounded by the send timeout."""
    host, port = address.rsplit(":", 1)
    return pika.ConnectionParameters(host=host, port=int(port), socket_timeout=3, stack_timeout=SEND_TIMEOUT_S, blocked_connection_timeout=3, connection_attempts=1, heartbeat=10)
