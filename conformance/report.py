"""The table `noloss conform` prints: one row per run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from noloss.conformance.run import RunResult

HEADER = ("fault", "faults", "sent", "acknowledged", "lost", "duplicated", "unexpected", "recovered", "trace-check", "history")


def verdict(result: RunResult) -> str:
    """The trace-check column: ok, or what failed and the nearest preset that explains it;
    and how many acknowledged messages the target still held undelivered (not lost)."""
    if result.unavailable is not None:
        return "unavailable"
    text = _judged(result)
    if result.counts is not None and result.counts.undelivered:
        text += f"; {result.counts.undelivered} acknowledged never delivered but still held by the broker (a stalled consumer, not a loss)"
    return text


def _judged(result: RunResult) -> str:
    judgement = result.judgement
    assert judgement is not None
    if judgement.unchecked is not None:
        return f"not checked: {judgement.unchecked}; counts only"
    if judgement.ok:
        text = f"behaviour of {judgement.claimed}"
        if judgement.shared:
            lost, partner = judgement.shared[0]
            text += f"; {len(judgement.shared)} lost behind a rewound queue (msg {lost} stored where msg {partner} was read)"
        return text
    first = judgement.first
    where = f"line {first.line}" if first.line is not None else "end"
    text = f"{len(judgement.failures)} message(s) not a behaviour of {judgement.claimed} (msg {first.message}, {where})"
    if judgement.explained_by is not None:
        text += f"; explained by {judgement.explained_by}"
    else:
        text += "; no preset explains it"
    return text


def first_unexplained(result: RunResult) -> str | None:
    """Where a failing history stops being a behaviour of the claimed preset, as
    `history:line: ...` with that line: the first event the spec cannot explain, or, for a
    message the spec would still have delivered, the message's last event."""
    judgement = result.judgement
    if judgement is None or judgement.ok or result.history is None:
        return None
    first = judgement.first
    line = first.line if first.line is not None else first.last_line
    text = _line_of(result.history, line)
    if first.line is not None:
        return f"{result.history}:{line}: the spec ({judgement.claimed}) cannot explain {text}"
    subject = f"msg {first.message}" if first.message >= 0 else "an unknown body"
    return f"{result.history}:{line}: {subject}: {first.reason}; its last event: {text}"


def _line_of(path: Path, number: int) -> str:
    with open(path, encoding="utf-8") as file:
        for current, text in enumerate(file, 1):
            if current == number:
                return text.strip()
    return "(beyond the end of the file)"


def row(result: RunResult) -> tuple[str, ...]:
    counts = result.counts
    if counts is None:
        return (result.label, "-", "-", "-", "-", "-", "-", "-", verdict(result) + f": {result.unavailable}", "")
    numbers = (result.faults_injected, counts.sent, counts.acknowledged, counts.lost, counts.duplicated, counts.unexpected, counts.recovered)
    history = str(result.history) if result.history is not None else ""
    return (result.label, *(str(n) for n in numbers), verdict(result), history)


def table(results: Sequence[RunResult]) -> str:
    """A plain-text table, columns aligned."""
    rows = [HEADER, *(row(r) for r in results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(r, widths)).rstrip() for r in rows)
