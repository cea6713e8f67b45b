"""Consume queues: per topic, where each message's record sits in the commit log.

Who does what: on start recovery.py loads them from the files the last checkpoint wrote
(checkpoint.py) and `log.scan` indexes the records after it; a core adds an entry per
appended record and answers pulls from them. They are derived data (RocketMQ rebuilds
its ConsumeQueue files from the commit log the same way): lost or damaged files are
rebuilt by scanning the log.
"""

from __future__ import annotations

import bisect


class ConsumeQueues:
    """topic -> list of (commit_offset, record length); the list index is the queue offset."""

    def __init__(self) -> None:
        self._queues: dict[str, list[tuple[int, int]]] = {}

    def add(self, topic: str, commit_offset: int, length: int) -> int:
        """Record a new message of `topic`; return its queue offset."""
        queue = self._queues.setdefault(topic, [])
        queue.append((commit_offset, length))
        return len(queue) - 1

    def load(self, topic: str, entries: list[tuple[int, int]]) -> None:
        """Start `topic`'s queue with `entries` (read back from a checkpoint)."""
        if entries:
            self._queues[topic] = entries

    def slice(self, topic: str, start: int, stop: int) -> list[tuple[int, int]]:
        """The entries of `topic` from queue offset `start` up to (not including) `stop`."""
        return self._queues.get(topic, [])[start:stop]

    def count(self, topic: str) -> int:
        """How many messages `topic` holds: the next queue offset."""
        return len(self._queues.get(topic, ()))

    def count_by(self, topic: str, log_end: int) -> int:
        """How many messages of `topic` have records ending by `log_end` (a queue's entries
        are in log order)."""
        return bisect.bisect_right(self._queues.get(topic, []), log_end, key=lambda entry: entry[0] + entry[1])

    def entries(self, topic: str, start: int, limit: int, log_end: int) -> list[tuple[int, int]]:
        """Up to `limit` entries from queue offset `start` whose records end by `log_end`."""
        out = []
        for commit_offset, length in self._queues.get(topic, [])[start : start + limit]:
            if commit_offset + length > log_end:
                break
            out.append((commit_offset, length))
        return out

    def last(self) -> tuple[int, int] | None:
        """The (commit_offset, length) of the last record in the log, of any topic."""
        lasts = [queue[-1] for queue in self._queues.values() if queue]
        return max(lasts) if lasts else None

    def truncate(self, log_end: int) -> None:
        """Forget every entry whose record starts at or past `log_end` (the log was cut there)."""
        for topic, queue in list(self._queues.items()):
            del queue[bisect.bisect_left(queue, log_end, key=lambda entry: entry[0]) :]
            if not queue:
                del self._queues[topic]

    def mark(self) -> dict[str, int]:
        """The length of every queue now, to `rollback` to."""
        return {topic: len(queue) for topic, queue in self._queues.items()}

    def rollback(self, mark: dict[str, int]) -> None:
        """Forget every entry added since `mark` was taken."""
        for topic, queue in list(self._queues.items()):
            del queue[mark.get(topic, 0) :]
            if not queue:
                del self._queues[topic]

    def total(self) -> int:
        """Messages in all topics."""
        return sum(len(queue) for queue in self._queues.values())

    def topics(self) -> list[str]:
        """Topics that hold at least one message (a checkpoint walks them)."""
        return sorted(self._queues)
