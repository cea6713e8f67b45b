"""The one send-with-retries loop of the real-broker adapters (conformance/targets/sending.py),
against scripted connections: what each attempt's result makes of the send."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from noloss.conformance.targets.base import Outcome, SendOutcome
from noloss.conformance.targets.sending import Attempt, Retrying, send_with_retries

OK = SendOutcome(Outcome.ACKNOWLEDGED, "SEND_OK", 7)


class Lost(Exception):
    """No answer: retried."""


class Refused(Exception):
    """The broker said no: not retried."""


class Script:
    """A connection whose connects and requests do what they are told, in turn, and a log
    of what the loop did: "connect", "request" (on_request), "drop"."""

    def __init__(self, connects: list[BaseException | None], requests: list[BaseException | SendOutcome]) -> None:
        self._connects: Iterator[BaseException | None] = iter(connects)
        self._requests: Iterator[BaseException | SendOutcome] = iter(requests)
        self.log: list[str] = []
        self.budgets: list[float] = []

    async def connect(self) -> None:
        self.log.append("connect")
        error = next(self._connects)
        if error is not None:
            raise error

    async def request(self, attempt: Attempt) -> SendOutcome:
        self.budgets.append(attempt.budget_s)
        answer = next(self._requests)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def drop(self) -> None:
        self.log.append("drop")

    def on_request(self) -> None:
        self.log.append("request")

    def send(self, retries: int, timeout_s: float = 3.0) -> SendOutcome:
        retrying = Retrying(1 + retries, retry_on=(Lost,), refused=(Refused,), timeout_s=timeout_s)
        return asyncio.run(send_with_retries(retrying, self.connect, self.request, self.drop, self.on_request))


def test_a_request_answered_is_the_outcome_after_one_request() -> None:
    script = Script([None], [OK])
    assert script.send(retries=2) == OK
    assert script.log == ["connect", "request"]
    assert 0 < script.budgets[0] <= 3.0


def test_a_lost_request_is_dropped_and_resent_until_answered() -> None:
    script = Script([None, None], [Lost("gone"), OK])
    assert script.send(retries=2) == OK
    assert script.log == ["connect", "request", "drop", "connect", "request"]


def test_a_failed_connect_counts_as_an_attempt_with_nothing_on_the_wire() -> None:
    script = Script([Lost("refused"), Lost("refused again"), None], [OK])
    outcome = script.send(retries=1)
    assert outcome == SendOutcome(Outcome.UNKNOWN, None, None, "refused again")
    assert script.log == ["connect", "connect"]


def test_every_attempt_lost_is_unknown_with_the_last_error() -> None:
    script = Script([None, None, None], [Lost("first"), Lost("second"), Lost("third")])
    assert script.send(retries=2) == SendOutcome(Outcome.UNKNOWN, None, None, "third")
    assert script.log.count("request") == 3 and script.log.count("drop") == 3


def test_a_refusal_fails_the_send_at_once_without_a_resend() -> None:
    script = Script([None, None], [Refused("no stream"), OK])
    assert script.send(retries=2) == SendOutcome(Outcome.FAILED, None, None, "no stream")
    assert script.log == ["connect", "request"]


def test_no_attempt_begins_after_the_send_timeout() -> None:
    script = Script([None], [OK])
    assert script.send(retries=2, timeout_s=0.0) == SendOutcome(Outcome.UNKNOWN, None, None, "")
    assert script.log == []
