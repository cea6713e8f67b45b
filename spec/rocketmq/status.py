"""Which SendStatus the master answers, from how flush and replication ended.

Flush and replication run in parallel; a replication failure overrides a flush failure
(RocketMQ's handleDiskFlushAndHA). Every non-OK status still means the master stored the
message: only a guarantee was not met.
"""

from __future__ import annotations

from noloss.spec.rocketmq.state import (
    FLUSH_DISK_TIMEOUT,
    FLUSH_SLAVE_TIMEOUT,
    NOT_AVAILABLE,
    SEND_OK,
    SLAVE_NOT_AVAILABLE,
    TIMED_OUT,
)


def send_status(flush: int, replication: int) -> int:
    """The status of a settled request (neither guarantee still WAITING).

    pre: flush in (1, 2)
    pre: replication in (1, 2, 3)
    post: (__return__ == 0) == (flush == 1 and replication == 1)
    post: (replication != 1) == (__return__ in (2, 3))
    """
    if replication == TIMED_OUT:
        return FLUSH_SLAVE_TIMEOUT
    if replication == NOT_AVAILABLE:
        return SLAVE_NOT_AVAILABLE
    if flush == TIMED_OUT:
        return FLUSH_DISK_TIMEOUT
    return SEND_OK
