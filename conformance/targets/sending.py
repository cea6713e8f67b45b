"""A synchronous send with the client's own retries, as RocketMQ's producer makes it (and
the reference client, reference/client.py): the one loop every real-broker adapter's
`TargetProducer.send` runs, each with its own way to connect and to make one request.

Per send: up to `attempts` (1 + retryTimesWhenSendFailed) attempts, none begun after the
send timeout (`SEND_TIMEOUT_S`, RocketMQ's sendMsgTimeout). An attempt first connects (a
connection kept from the last send is reused): failing that, it counts as an attempt and
nothing went on the wire. Once connected, `on_request` is called (the history numbers the
request) and the request is made; it answers with the send's outcome, or raises:
- one of `refused`: the broker certainly did not store the message: FAILED at once;
- one of `retry_on`: no answer (connection lost, timed out): the connection is dropped and
  the next attempt goes; after the last, the outcome is UNKNOWN with the last error.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from noloss.conformance.targets.base import SEND_TIMEOUT_S, Outcome, SendOutcome

Errors = tuple[type[BaseException], ...]


@dataclass(frozen=True, slots=True)
class Attempt:
    """The time one attempt has, on `time.monotonic()`'s clock."""

    deadline: float  # when the whole send gives up
    budget_s: float  # what was left of the send timeout when this attempt began (before it connected)

    def left_s(self) -> float:
        """What is left of the send timeout now (never negative)."""
        return max(0.0, self.deadline - time.monotonic())


@dataclass(frozen=True, slots=True)
class Retrying:
    """What differs between the adapters' loops: how many attempts, which errors mean what,
    and how an error is worded in the history's `detail`."""

    attempts: int  # 1 + retryTimesWhenSendFailed
    retry_on: Errors  # no answer: connect again and resend
    refused: Errors = ()  # the broker refused: certainly not stored, no resend
    describe: Callable[[BaseException], str] = str  # the error's words in the history
    timeout_s: float = SEND_TIMEOUT_S


async def send_with_retries(
    retrying: Retrying,
    connect: Callable[[], Awaitable[None]],
    request: Callable[[Attempt], Awaitable[SendOutcome]],
    drop: Callable[[], Awaitable[None]],
    on_request: Callable[[], None],
) -> SendOutcome:
    """One send: `connect` (ensure a connection), `on_request()`, `request(attempt)` (make
    the request on it and map the broker's answer onto an outcome), `drop` (after a request
    that got no answer: close the connection, so the next attempt makes a new one)."""
    detail = ""
    deadline = time.monotonic() + retrying.timeout_s
    for _ in range(retrying.attempts):
        budget_s = deadline - time.monotonic()
        if budget_s <= 0:
            break
        try:
            await connect()
        except retrying.retry_on as error:
            detail = retrying.describe(error)
            continue
        on_request()
        try:
            return await request(Attempt(deadline, budget_s))
        except retrying.refused as error:
            return SendOutcome(Outcome.FAILED, None, None, retrying.describe(error))
        except retrying.retry_on as error:
            detail = retrying.describe(error)
            await drop()
    return SendOutcome(Outcome.UNKNOWN, None, None, detail)
