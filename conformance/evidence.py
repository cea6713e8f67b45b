"""What a reader can open for a failing conformance run without the machine that ran it: a
short excerpt of its history (one message that shows the failure, with the faults and
restarts around it) and the checker's counterexample for the claimed preset under the spec
fault the run injected.

The excerpt is the message's own events and every fault and restart from its first event
to its last (to the end of the history when it was never processed), with the last fault
or restart before it, as the history's own lines. It reads the records as they are, so it
also shows faults the spec does not have (failover).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from noloss.conformance.counts import Counts
from noloss.conformance.judgement import Judgement
from noloss.model_check.faults import FaultTable


def witness(records: Sequence[dict[str, Any]], counts: Counts, judgement: Judgement | None) -> int | None:
    """The message the excerpt follows: the first the spec cannot explain, else the first
    lost, else the first processed twice; None when nothing failed."""
    if judgement is not None and judgement.failures and judgement.failures[0].message >= 0:
        return judgement.failures[0].message
    if counts.lost_messages:
        return counts.lost_messages[0]
    processed = Counter(r["msg"] for r in records if r["event"] == "consume" and r["result"] == "CONSUME_SUCCESS")
    return next((m for m, n in sorted(processed.items()) if n > 1 and m >= 0), None)


def excerpt(records: Sequence[dict[str, Any]], message: int, limit: int = 80) -> list[str]:
    """`message`'s events and the faults around them (module docstring), as `LINE: JSON`;
    past `limit` lines, the first and last halves with the gap counted."""
    own = [i for i, r in enumerate(records) if r.get("msg") == message and not _is_fault(r)]
    processed = any(records[i]["event"] == "consume" and records[i]["result"] == "CONSUME_SUCCESS" for i in own)
    end = own[-1] + 1 if processed else len(records)
    before = [i for i in range(own[0]) if _is_fault(records[i])][-1:]
    faults = [i for i in range(own[0], end) if _is_fault(records[i])]
    shown = [f"{i + 1}: {json.dumps(records[i], separators=(',', ':'))}" for i in sorted({*before, *own, *faults})]
    if len(shown) <= limit:
        return shown
    half = limit // 2
    return [*shown[:half], f"... {len(shown) - 2 * half} lines of this message's excerpt left out ...", *shown[-half:]]


def _is_fault(record: dict[str, Any]) -> bool:
    return record["event"] in ("fault", "restart")


def violated(counts: Counts) -> tuple[str, ...]:
    """The spec's properties the counts show broken (the counterexamples' names)."""
    return (("NoAckedLoss",) if counts.lost else ()) + (("NoDuplicateProcessing",) if counts.duplicated else ())


def counterexample(directory: Path, faults: FaultTable, preset: str, kind: str, property_name: str) -> Path | None:
    """The checker's counterexample page for `preset` violating `property_name` under the
    fault `kind` (or with no fault at all, which holds under any), if the generated pages in
    `directory` have one. Conform's kinds are the spec's; one the spec lacks (failover) has none."""
    if kind not in faults.index:
        return None
    for scenario in (kind, "none"):
        page = directory / f"{preset}__{scenario}__{property_name}.md"
        if page.exists():
            return page
    return None
