"""The workload of a conformance run: N producers sending unique bodies synchronously, and a
consumer group reading throughout and committing after its business step.

Who does what: each producer takes the next message number, sends `noloss-<number>` and
logs every request and status to the history; what the application does with a status is
the claimed configuration's (`checkStatus`: only SEND_OK counts, anything else is resent up
to `redeliveries` times; otherwise any status counts and a send that throws is given up),
one home for it: `Resend`. The consumer's business step logs `deliver` then `consume`.
The run is bounded by a message count and by time; the final drain (`drain`) waits until
every message that can still arrive has, or nothing has come for `quiet_s`.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from dataclasses import dataclass

from noloss.conformance.history import History
from noloss.conformance.targets.base import ConsumerKilled, Delivery, Outcome, SendOutcome, Target, TargetConsumer, TargetProducer

BODY_PREFIX = b"noloss-"
GROUP = "noloss-conform"


def body_of(message: int) -> bytes:
    return BODY_PREFIX + b"%08d" % message


def message_of(body: bytes) -> int | None:
    """The workload's number of a body; None for a body no producer of ours sent."""
    if body.startswith(BODY_PREFIX) and body[len(BODY_PREFIX) :].isdigit():
        return int(body[len(BODY_PREFIX) :])
    return None


@dataclass(frozen=True, slots=True)
class Resend:
    """What the application does after `send()` returns: the claimed configuration's policy
    (the protocol's `Rules.resend` makes it from a configuration)."""

    check_status: bool  # only SEND_OK is success; any other outcome is resent
    limit: int  # resends per message

    def acknowledged(self, status: str | None) -> bool:
        """Does the application believe the message is stored after this status (the spec's
        name; None: no reply)?"""
        return status == "SEND_OK" or (status is not None and not self.check_status)

    def again(self, outcome: SendOutcome, resends: int) -> bool:
        """Resend after this outcome? Never after a refusal: nothing was stored."""
        if outcome.outcome is Outcome.FAILED or self.acknowledged(outcome.status):
            return False
        return self.check_status and resends < self.limit


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    producers: int
    messages: int  # at most this many messages in all
    duration_s: float  # no new message after this
    resend: Resend
    process_s: float = 0.0  # how long the consumer's business step takes per message


class Workload:
    """Producers and the consumer of one run, logging to `history`."""

    def __init__(self, target: Target, spec: WorkloadSpec, history: History) -> None:
        self.target = target
        self.spec = spec
        self.history = history
        self._numbers = itertools.count()
        self.sent = 0
        self.acknowledged: set[int] = set()
        self.processed: set[int] = set()
        self._last_delivery = time.monotonic()
        self._lock = threading.Lock()
        self.consumer: TargetConsumer | None = None
        self._generation = 0  # the consumer process now running; a crash ends one

    # -- producers ----------------------------------------------------------------------

    async def produce(self, stop: asyncio.Event) -> None:
        """Run every producer until the count or the duration is reached, or `stop` is set."""
        deadline = time.monotonic() + self.spec.duration_s
        await asyncio.gather(*(self._producer(deadline, stop) for _ in range(self.spec.producers)))

    async def _producer(self, deadline: float, stop: asyncio.Event) -> None:
        producer = self.target.producer()
        try:
            while time.monotonic() < deadline and not stop.is_set():
                message = next(self._numbers)
                if message >= self.spec.messages:
                    return
                await self._send(producer, message)
        finally:
            await producer.close()

    async def _send(self, producer: TargetProducer, message: int) -> None:
        attempts = 0

        def on_request() -> None:
            nonlocal attempts
            attempts += 1
            self.history.log("send", msg=message, attempt=attempts)

        self.sent += 1
        resends = 0
        while True:
            outcome = await producer.send(body_of(message), str(message), on_request)
            if outcome.status is not None:
                self.history.log("status", msg=message, attempt=attempts, status=outcome.status, offset=outcome.offset)
            if self.spec.resend.acknowledged(outcome.status):
                self.acknowledged.add(message)
                return
            if not self.spec.resend.again(outcome, resends):
                return
            resends += 1
            await asyncio.sleep(0.05)

    # -- consumer -----------------------------------------------------------------------

    def _business_step(self, generation: int, delivery: Delivery) -> bool:
        """Process the message (remember it) and log its delivery and result together, as
        the spec's consumer takes them in one step; always a success. A consumer that has
        crashed (its `generation` is over) logs nothing more and raises `ConsumerKilled`,
        so its commit never happens. The step takes `process_s`: a consumer slower than its
        producers lags behind them, as a real application can."""
        if self.spec.process_s:
            time.sleep(self.spec.process_s)
        message = message_of(delivery.body)
        deliver = {"msg": -1 if message is None else message, "queue": delivery.queue, "offset": delivery.offset}
        if message is None:
            deliver["body"] = delivery.body.decode(errors="replace")
        consume = {"msg": deliver["msg"], "result": "CONSUME_SUCCESS"}
        if not self.history.log_if(lambda: generation == self._generation, ("deliver", deliver), ("consume", consume)):
            raise ConsumerKilled
        if message is not None:
            with self._lock:
                self.processed.add(message)
                self._last_delivery = time.monotonic()
        return True

    def start_consumer(self) -> None:
        generation = self._generation
        self.consumer = self.target.consumer(GROUP, lambda delivery: self._business_step(generation, delivery))
        self.consumer.start()

    def crash_consumer(self) -> None:
        """The consumer process dies: logged first, so nothing it does afterwards shows, and
        a business step still running on its thread raises `ConsumerKilled` rather than
        have its message committed."""
        assert self.consumer is not None
        consumer, self.consumer = self.consumer, None

        def end_generation() -> None:
            self._generation += 1

        self.history.log_after(end_generation, "fault", node="consumer", kind="crash")
        consumer.crash()

    def restart_consumer(self) -> None:
        self.history.log_after(self.start_consumer, "restart", node="consumer")

    def stop_consumer(self) -> None:
        if self.consumer is not None:
            self.consumer.stop()
            self.consumer = None

    async def drain(self, quiet_s: float, limit_s: float) -> None:
        """The final drain: wait until every acknowledged message is processed and a second
        has passed with nothing new, or `quiet_s` with nothing new (unacknowledged messages
        may still arrive), at most `limit_s` in all."""
        start = time.monotonic()
        with self._lock:
            self._last_delivery = start
        while time.monotonic() - start < limit_s:
            with self._lock:
                idle = time.monotonic() - self._last_delivery
                done = self.acknowledged <= self.processed and idle >= 1.0
            if done or idle >= quiet_s:
                return
            await asyncio.sleep(0.05)
