"""The RabbitMQ producer (conformance/targets/rabbitmq_producer.py) without a broker: its
confirms, from a channel that records publishes and the broker's confirm frames played to
the link as pika would deliver them; a connection refused on loopback."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pika
import pika.exceptions
import pika.spec
import pytest

from noloss.conformance.inject.ports import free_port
from noloss.conformance.targets.base import Outcome, SendOutcome
from noloss.conformance.targets.rabbitmq_client import NoReplyInTime
from noloss.conformance.targets.rabbitmq_producer import ConfirmLink, RabbitProducer


class RecordingChannel:
    is_open = True

    def __init__(self) -> None:
        self.published: list[bytes] = []

    def basic_publish(self, exchange: str, routing_key: str, body: bytes, properties: object, mandatory: bool) -> None:
        assert mandatory
        self.published.append(body)


def confirm_after_publish(answer: object, returned: bool = False, timeout_s: float = 5.0) -> None:
    """Publish one message on a link and have the broker answer `answer` (a Basic.Ack or
    Basic.Nack method), after a Basic.Return when `returned`."""

    async def scenario() -> None:
        link = ConfirmLink(asyncio.get_running_loop())
        link.channel = RecordingChannel()
        publishing = asyncio.ensure_future(link.publish(b"m", pika.BasicProperties(delivery_mode=2), timeout_s))
        await asyncio.sleep(0)  # the publish is on the wire
        if returned:
            link._on_return(link.channel, pika.spec.Basic.Return(312, "NO_ROUTE", "", "noloss"), pika.BasicProperties(), b"m")
        if answer is not None:
            link._on_confirm(SimpleNamespace(method=answer))
        await publishing

    asyncio.run(scenario())


def test_an_ack_confirms_the_publish() -> None:
    confirm_after_publish(pika.spec.Basic.Ack(delivery_tag=1))


def test_an_ack_of_several_confirms_the_publish() -> None:
    confirm_after_publish(pika.spec.Basic.Ack(delivery_tag=3, multiple=True))


def test_a_nack_is_a_nack_error() -> None:
    with pytest.raises(pika.exceptions.NackError):
        confirm_after_publish(pika.spec.Basic.Nack(delivery_tag=1))


def test_a_returned_publish_is_unroutable_when_its_ack_comes() -> None:
    with pytest.raises(pika.exceptions.UnroutableError):
        confirm_after_publish(pika.spec.Basic.Ack(delivery_tag=1), returned=True)


def test_no_confirm_is_no_reply_in_time() -> None:
    with pytest.raises(NoReplyInTime):
        confirm_after_publish(None, timeout_s=0.0)


def test_a_refused_connection_is_unknown_in_the_blocking_adapters_words_with_nothing_sent() -> None:
    requests: list[int] = []
    producer = RabbitProducer(f"127.0.0.1:{free_port()}", retries=1)  # nothing listens there
    outcome = asyncio.run(producer.send(b"m", "0", lambda: requests.append(1)))
    assert outcome == SendOutcome(Outcome.UNKNOWN, None, None, "AMQPConnectionError: (AMQPConnectorSocketConnectError: ConnectionRefusedError(111, 'Connection refused'),)")
    assert requests == []
