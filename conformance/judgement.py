"""The spec's verdict on a conformance history, and what judges one: the harness's side of a
protocol's trace check.

The harness counts (conformance/counts.py) whatever the protocol; whether a history is a
behaviour of the claimed configuration is the protocol's to say. A protocol hands the
harness `Rules`: how the application treats each send's status, how a history is judged,
and its fault table, whose names `noloss conform --faults` takes (model_check/faults.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from noloss.conformance.workload import Resend
from noloss.model_check.faults import FaultTable


@dataclass(frozen=True, slots=True)
class MessageVerdict:
    """Why the spec cannot explain one message's projection."""

    message: int
    line: int | None  # the history line of the first event it cannot explain; None: the end
    reason: str
    last_line: int  # the history line of the message's last event



@dataclass(frozen=True, slots=True)
class Judgement:
    """The spec's verdict on one history."""

    claimed: str
    failures: tuple[MessageVerdict, ...]
    explained_by: str | None  # the nearest weaker preset that explains the history, if any
    shared: tuple[tuple[int, int], ...]  # (lost message, the message at its position that explains the loss)
    projections: int = 0  # distinct one-message projections checked
    unchecked: str | None = None  # why the spec cannot judge this history at all (UNMODELLED)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def first(self) -> MessageVerdict:
        """The failure that shows earliest in the history (its unexplained event, else the
        message's last event)."""
        return min(self.failures, key=lambda failure: failure.line if failure.line is not None else failure.last_line)


SpecJudge = Callable[[Sequence[dict[str, Any]], str, Any], Judgement]
"""(history records, the claimed preset's name, its configuration) -> the spec's verdict."""


@dataclass(frozen=True, slots=True)
class Rules:
    """What a conformance run takes of the protocol it holds a target to."""

    faults: FaultTable  # the faults the spec has: `--faults` takes their names
    resend: Callable[[Any], Resend]  # the application's policy after a send, under a configuration
    judge: SpecJudge
    unmodelled: dict[str, str]  # conform-only fault kinds (no spec transition) -> why the spec cannot judge them
    renamed: dict[str, str]  # fault words conform once took -> the spec's name, for a one-line hint
