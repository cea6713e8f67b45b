"""The history of one conformance run: the observable NDJSON trace of docs/trace.md, one
line per event, each stamped with `t`, seconds on the monotonic clock since the run began.

Producers, the consumer's thread and the fault scheduler all log here; a lock keeps lines
whole and in the order they happened. Message numbers are the workload's, unbounded (the
spec's four-message bound applies per message after judge.py projects the history).
A fault is logged in the same step as it is done (`log_after`), so no client event lands on
the wrong side of it. Faults on the network are logged as `{"event": "fault", "node": "net", "kind": "drop"}`:
the spec has them but shows nothing for them, so the judge counts them and checks nothing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO


class History:
    """An append-only NDJSON file of events, stamped, written as they happen."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO = open(path, "w", encoding="utf-8")
        self._lock = threading.Lock()
        self._faulting = False  # a fault is being done under the lock
        self.start = time.monotonic()

    def log(self, event: str, **fields: Any) -> None:
        """Write one event now, with its monotonic timestamp. An event that finds a fault
        being done waits for it and is logged after it, though what it records (a reply
        already read from a socket) may have come first: it is marked `"raced": true`."""
        raced = self._faulting
        with self._lock:
            self._write(event, {**fields, "raced": True} if raced else fields)

    def log_after(self, action: Callable[[], None], event: str, **fields: Any) -> None:
        """Do `action` (a fault, a restart) and log `event` as one step: every other event is
        logged wholly before or wholly after it, so a client's event that raced the fault
        is never shown on the wrong side of it."""
        self._faulting = True  # set before waiting for the lock: no event that waits on it is missed
        with self._lock:
            try:
                action()
                self._write(event, fields)
            finally:
                self._faulting = False

    def log_if(self, condition: Callable[[], bool], *events: tuple[str, dict[str, Any]]) -> bool:
        """Log `events` together (nothing else between them) if `condition` holds at that
        moment; whether they were logged."""
        with self._lock:
            if not condition():
                return False
            for event, fields in events:
                self._write(event, fields)
            return True

    def _write(self, event: str, fields: dict[str, Any]) -> None:
        record = {"event": event, **fields, "t": round(time.monotonic() - self.start, 6)}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def read_history(path: Path) -> list[dict[str, Any]]:
    """Every record of a history file, in order (blank lines skipped); ValueError names the line."""
    records = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not JSON: {error.msg}") from None
            if not isinstance(record, dict) or "event" not in record:
                raise ValueError(f"{path}:{number}: not an event object")
            records.append(record)
    return records
