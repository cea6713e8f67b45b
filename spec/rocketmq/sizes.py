"""Entry sizes: where a slave's offset, counted in bytes, falls in the master's log.

RocketMQ's HA links speak byte offsets. A trusting master (haTrustSlaveOffset=true) streams
its commit log from the offset the slave reports, as raw bytes (4.9.7 HAConnection
WriteSocketService: `nextTransferFromWhere = slaveRequestOffset`, then getCommitLogData),
and the slave appends whatever arrives (HAClient.dispatchReadRequest checks only that the
chunk starts at its own end; CommitLog.appendData writes the bytes unchecked). A slave that
kept entries its master lost reports an offset that is a record boundary of the master's
log only if the entries there add up to the same size. Otherwise the master streams from
inside a record: the slave appends bytes its dispatch cannot parse (DefaultMessageStore
ReputMessageService.doReput stops at the first bad record on a slave, for good; a restart's
recovery cuts them off), while its reports count every byte.

So sizes matter only to compare sums. A record's size grows with its topic's name and its
properties: a copy sent back by the consumer carries the original's body under the retry
(or DLQ) topic, with the original topic as a property, so it is larger than the original;
"%RETRY%<group>" is two characters longer than "%DLQ%<group>". The numbers below keep
exactly that order and, as long as a log holds fewer than seven copies, a copy's extra
bytes add up to less than one original: two logs' sums are then equal only if they hold as
many entries of each topic, and compare by their counts of entries first.
"""

from __future__ import annotations

from collections.abc import Sequence

from noloss.spec.rocketmq.state import DLQ, MAIN, RETRY, Entry

ENTRY_SIZE = {MAIN: 100, RETRY: 113, DLQ: 111}
"""Bytes of an entry per topic: an original, a retry copy, a DLQ copy."""


def log_bytes(log: Sequence[Entry]) -> int:
    """The byte offset just past `log`."""
    return sum(ENTRY_SIZE[entry.topic] for entry in log)


def entries_ending_by(offset: int, log: Sequence[Entry]) -> int:
    """How many leading entries of `log` end at or before byte `offset` (a report of
    `offset` covers them).

    post: 0 <= __return__ <= len(log)
    """
    end = 0
    for count, entry in enumerate(log):
        end += ENTRY_SIZE[entry.topic]
        if end > offset:
            return count
    return len(log)


def boundary_at(offset: int, log: Sequence[Entry]) -> int | None:
    """The number of leading entries of `log` that end exactly at byte `offset`, or None if
    `offset` falls inside an entry or past the log."""
    count = entries_ending_by(offset, log)
    return count if log_bytes(log[:count]) == offset else None
