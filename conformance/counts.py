"""Jepsen's counts of a conformance history (its total-queue checker), whatever the protocol.

A message is *acknowledged* when the application took a status as success
(`Resend.acknowledged`: SEND_OK, or any status without checkStatus), *lost* when
acknowledged, never processed and no longer held where the consumer would read it
(`Target.held`; else *undelivered*: the consumer stalled, the broker kept it), *duplicated*
when processed more than once, *unexpected* when processed but never sent, *recovered* when
sent without an acknowledgement and processed all the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from noloss.conformance.workload import Resend


@dataclass(frozen=True, slots=True)
class Counts:
    """Jepsen's total-queue counts of one history."""

    sent: int
    acknowledged: int
    lost: int  # acknowledged, never processed, and not held by the target where its consumer reads next
    duplicated: int
    unexpected: int
    recovered: int
    lost_messages: tuple[int, ...]
    undelivered: int = 0  # acknowledged, never processed, still held where the consumer reads next: a stall, not a loss


def count(records: Sequence[dict[str, Any]], resend: Resend, held: frozenset[int] = frozenset()) -> Counts:
    """The counts of a history, from its records and what the target still `held` at the end
    (the workload's message numbers; `Target.held`)."""
    sent = {r["msg"] for r in records if r["event"] == "send"}
    acked = {r["msg"] for r in records if r["event"] == "status" and resend.acknowledged(r["status"])}
    processed = Counter(r["msg"] for r in records if r["event"] == "consume" and r["result"] == "CONSUME_SUCCESS")
    never = acked - set(processed)
    lost = sorted(never - held)
    return Counts(
        sent=len(sent),
        acknowledged=len(acked),
        lost=len(lost),
        duplicated=sum(1 for n in processed.values() if n > 1),
        unexpected=sum(1 for message in processed if message not in sent),
        recovered=len((set(processed) & sent) - acked),
        lost_messages=tuple(lost),
        undelivered=len(never & held),
    )


