"""The RabbitMQ target's producer: persistent publishes with publisher confirms, on pika's
asyncio adapter, on the workload's own event loop.

Why not pika's blocking adapter: its calls wait for the broker's reply with no limit, and a
publish or its confirm lost on the way (net-drop) leaves basic_publish waiting while
heartbeats keep the connection alive (the RabbitMQ net-drop run that hung). Bounding that
wait took pika's private `_terminate_stream`. Here every wait for a reply (the connection
opening, the channel, Confirm.Select, a confirm, a close-ok) is an asyncio future awaited
for a bounded time; a connection that gave no reply in time is abandoned (closed without
waiting for its close-ok) and the next attempt opens a new one, as before.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pika
import pika.exceptions
import pika.frame
import pika.spec
from pika.adapters.asyncio_connection import AsyncioConnection
from pika.adapters.blocking_connection import ReturnedMessage
from pika.channel import Channel
from pika.adapters.utils.connection_workflow import AMQPConnectionWorkflowFailed, AMQPConnectorPhaseErrorBase, AMQPConnectorSocketConnectError
from pika.connection import Connection

from noloss.conformance.targets.base import SEND_TIMEOUT_S, Outcome, SendOutcome, TargetProducer
from noloss.conformance.targets.rabbitmq_client import NETWORK_ERRORS, QUEUE, NoReplyInTime, parameters
from noloss.conformance.targets.sending import Attempt, Retrying, send_with_retries

_T = TypeVar("_T")


class ConfirmLink:
    """One connection and its channel in confirm mode. Every reply awaited on it fails with
    the connection's (or the channel's) error as soon as either closes."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: set[asyncio.Future[Any]] = set()
        self._confirms: dict[int, asyncio.Future[None]] = {}  # delivery tag -> its confirm
        self._returned: dict[int, ReturnedMessage] = {}  # came back unroutable (Basic.Return)
        self._published = 0  # the channel's last delivery tag
        self._error: BaseException | None = None  # why it closed
        self.closed: asyncio.Future[None] = loop.create_future()
        self.connection: Connection | None = None
        self.channel: Channel | None = None

    @classmethod
    async def open(cls, params: pika.ConnectionParameters, timeout_s: float) -> ConfirmLink:
        """A connection with a confirming channel; each step's reply within `timeout_s`."""
        link = cls(asyncio.get_running_loop())
        opened: asyncio.Future[Connection] = link._loop.create_future()
        link.connection = AsyncioConnection(
            params,
            on_open_callback=lambda connection: _settle(opened, connection),
            on_open_error_callback=lambda _, error: link._closed(error),
            on_close_callback=lambda _, error: link._closed(error),
            custom_ioloop=link._loop,
        )
        try:
            connection = await link._reply(opened, timeout_s)
            channel_opened: asyncio.Future[Channel] = link._loop.create_future()
            channel = connection.channel(on_open_callback=lambda channel: _settle(channel_opened, channel))
            channel.add_on_close_callback(lambda _, error: link._lost(error))
            channel.add_on_return_callback(link._on_return)
            link.channel = await link._reply(channel_opened, timeout_s)
            selected: asyncio.Future[None] = link._loop.create_future()
            channel.confirm_delivery(link._on_confirm, callback=lambda _: _settle(selected, None))
            await link._reply(selected, timeout_s)
        except BaseException:
            link.abandon()  # half open: nobody else holds it to close it
            raise
        return link

    @property
    def is_open(self) -> bool:
        return self._error is None and self.channel is not None and self.channel.is_open

    async def publish(self, body: bytes, properties: pika.BasicProperties, timeout_s: float) -> None:
        """Publish (mandatory) and wait for its confirm: NackError when nacked,
        UnroutableError when it came back, NoReplyInTime after `timeout_s`."""
        assert self.channel is not None
        self._published += 1
        confirm: asyncio.Future[None] = self._loop.create_future()
        self._confirms[self._published] = confirm
        self.channel.basic_publish("", QUEUE, body, properties, mandatory=True)
        await self._reply(confirm, timeout_s)

    def abandon(self) -> None:
        """Close without waiting for the close-ok (it may never come): the connection is
        given up, as pika's blocking adapter gives one up on a heartbeat timeout."""
        self._lost(pika.exceptions.ConnectionClosedByClient(200, "abandoned"))
        connection = self.connection
        if connection is not None and not (connection.is_closing or connection.is_closed):
            connection.close()

    async def close(self, timeout_s: float) -> None:
        """Close, waiting for the close-ok at most `timeout_s` (a close-ok can be dropped too)."""
        self.abandon()
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), timeout_s)
        except asyncio.TimeoutError:
            pass

    async def _reply(self, future: asyncio.Future[_T], timeout_s: float) -> _T:
        if self._error is not None:
            raise self._error
        self._waiting.add(future)
        try:
            return await asyncio.wait_for(future, timeout_s)
        except asyncio.TimeoutError:
            raise NoReplyInTime(f"no reply within {timeout_s:.1f}s") from None
        finally:
            self._waiting.discard(future)

    def _lost(self, error: BaseException) -> None:
        """The connection or the channel closed (or the link was abandoned): every reply
        awaited fails with `error`, a network error (one of NETWORK_ERRORS)."""
        if not isinstance(error, NETWORK_ERRORS):
            error = pika.exceptions.AMQPConnectionError(error)
        if self._error is None:
            self._error = error
        for future in self._waiting:
            if not future.done():
                future.set_exception(error)
        self._waiting.clear()

    def _closed(self, error: BaseException) -> None:
        """The connection closed (or never opened)."""
        self._lost(_last_attempt_error(error))
        _settle(self.closed, None)

    def _on_return(self, channel: Channel, method: pika.spec.Basic.Return, properties: pika.spec.BasicProperties, body: bytes) -> None:
        # A mandatory publish that reached no queue comes back before its ack; one publish
        # is in flight at a time, so it is the last one.
        self._returned[self._published] = ReturnedMessage(method, properties, body)

    def _on_confirm(self, frame: pika.frame.Method) -> None:
        method = frame.method
        tags = [tag for tag in self._confirms if tag <= method.delivery_tag] if method.multiple else [method.delivery_tag]
        for tag in tags:
            confirm = self._confirms.pop(tag, None)
            returned = self._returned.pop(tag, None)
            if confirm is None or confirm.done():
                continue
            if isinstance(method, pika.spec.Basic.Nack):
                confirm.set_exception(pika.exceptions.NackError([returned] if returned else []))
            elif returned is not None:
                confirm.set_exception(pika.exceptions.UnroutableError([returned]))
            else:
                confirm.set_result(None)


def _last_attempt_error(error: BaseException) -> BaseException:
    """A connection that could not be opened, told as pika's blocking adapter tells it (the
    history's detail words stay what they were): the asyncio adapter reports the whole
    connection workflow, wrapped in an AMQPConnectionError; the blocking one reports its
    last attempt's error, a failed socket connect as an AMQPConnectionError."""
    workflow = error.args[0] if isinstance(error, pika.exceptions.AMQPConnectionError) and error.args else None
    if isinstance(workflow, AMQPConnectionWorkflowFailed) and workflow.exceptions:
        last: BaseException = workflow.exceptions[-1]
        reason: BaseException = last
        if isinstance(last, AMQPConnectorSocketConnectError):
            reason = pika.exceptions.AMQPConnectionError(last)
        elif isinstance(last, AMQPConnectorPhaseErrorBase):
            reason = last.exception
        return reason
    return error


def _settle(future: asyncio.Future[_T], value: _T) -> None:
    if not future.done():
        future.set_result(value)


class RabbitProducer(TargetProducer):
    """Publishes on one `ConfirmLink`, opened again after it is lost. Used from one event
    loop (the workload's)."""

    def __init__(self, address: str, retries: int) -> None:
        self._parameters = parameters(address)
        # A nack, or the queue missing (the mandatory publish came back): not stored.
        refused = (pika.exceptions.NackError, pika.exceptions.UnroutableError)
        self._retrying = Retrying(1 + retries, retry_on=NETWORK_ERRORS, refused=refused, describe=repr)
        self._link: ConfirmLink | None = None

    async def send(self, body: bytes, key: str, on_request: Callable[[], None]) -> SendOutcome:
        return await send_with_retries(self._retrying, self._connect, lambda attempt: self._publish(body, key, attempt), self._connection_lost, on_request)

    async def _connect(self) -> None:
        if self._link is None or not self._link.is_open:
            await self._connection_lost()
            # Each of its three round trips may take the send timeout, as with the blocking
            # adapter (stack_timeout bounds the connection's own).
            self._link = await ConfirmLink.open(self._parameters, SEND_TIMEOUT_S)

    async def _publish(self, body: bytes, key: str, attempt: Attempt) -> SendOutcome:
        assert self._link is not None  # _connect made it
        properties = pika.BasicProperties(delivery_mode=2, message_id=f"{key}-{uuid.uuid4().hex}")
        # What is left now, not when the attempt began: opening the link takes up to three
        # round trips, each allowed the whole send timeout.
        await self._link.publish(body, properties, attempt.left_s())
        return SendOutcome(Outcome.ACKNOWLEDGED, "SEND_OK", None)

    async def _connection_lost(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.abandon()

    async def close(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            await link.close(SEND_TIMEOUT_S)
