"""The RocketMQ releases this broker can behave as, and what each does where releases differ.

This is the broker's own table, read from apache/rocketmq at the tags `rocketmq-all-X.Y.Z`
(`5.0` is 5.0.0, and so on): each behaviour says in which release it changed and where the
source shows it. The spec keeps a table of its own (spec/rocketmq/versions.py) and the broker
takes nothing from it, so that a wrong entry in either one shows up instead of being copied:
tests/reference/test_releases.py compares the two tables, and the lockstep (tests/mbt) and
the conformance runs compare what the two do.

Each behaviour is written as the release number where it changed, not as a per-release list:
that is how the source history reads (one pull request, first in one release), and it is a
different way of writing the table from the spec's, which is the point of having two.

Paths: S = store/src/main/java/org/apache/rocketmq/store,
B = broker/src/main/java/org/apache/rocketmq/broker; `4.9.7:888` is a line at that tag.
"""

from __future__ import annotations

from dataclasses import dataclass

Version = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ReleaseBehaviour:
    """What one RocketMQ release does, where this broker follows releases apart."""

    dispatch_to_confirm: bool
    """Consumers see records only up to the confirm offset, which under SYNC_FLUSH is the
    flushed one (from 5.3): S/DefaultMessageStore.java ReputMessageService.getReputEndOffset
    (5.3.0:2820-2822, `readUnCommitted` lifts it) and S/CommitLog.java getConfirmOffset
    (5.3.0:654 `isSyncDiskFlush() ? getFlushedWhere() : getMaxOffset()`; 5.2.0:654
    `getMaxOffset()` outside controller mode; 4.9.7:2005 isCommitLogAvailable reads
    `getMaxOffset()`). apache/rocketmq#8239, fixed by #8240."""

    slave_serves_pulls: bool
    """A slave answers pulls without slaveReadEnable (before 5.0):
    B/processor/PullMessageProcessor.java rejectRequest (4.9.7:87 and 4.9.8:87 `return false`;
    5.0.0:285 and 5.3.0:293 refuse on a SLAVE unless slaveReadEnable)."""

    slave_not_available: bool
    """A SYNC_MASTER with no slave in sync answers SLAVE_NOT_AVAILABLE at once (before 5.0):
    S/CommitLog.java submitReplicaRequest (4.9.7:888-900, `service.isSlaveOK(...)` else
    SLAVE_NOT_AVAILABLE). 5.x asks no such question: it waits and answers FLUSH_SLAVE_TIMEOUT
    (S/ha/GroupTransferService.java 5.3.0:141)."""

    quorum_to_wait: bool
    """A SYNC_MASTER waits for a slave only when inSyncReplicas >= 2 (from 5.0): S/CommitLog.java
    handleHA (5.0.0:1135, 5.3.0:1298 `needAckNums <= 1` -> PUT_OK, needAckNums being
    inSyncReplicas, 5.3.0:1241); 4.x always waits (submitReplicaRequest, 4.9.7:888)."""

    overflow_to_min: bool
    """A pull past the queue's end (OFFSET_OVERFLOW_BADLY) sends the consumer to minOffset when
    that is 0, rather than to maxOffset (up to 4.9.3): S/DefaultMessageStore.java getMessage
    (4.9.3:603-609; 4.9.4:604-606 and 5.3.0:827-829 always maxOffset). apache/rocketmq#4215,
    commit 844dabf, first in 4.9.4."""


# The release in which each behaviour changed (see ReleaseBehaviour for the source).
_DISPATCH_TO_CONFIRM_FROM: Version = (5, 3)
_RIP_34_FROM: Version = (5, 0)
"""5.0's HA rewrite: slaveReadEnable gates slave pulls, inSyncReplicas gates the wait, isSlaveOK is gone."""
_OVERFLOW_TO_MAX_FROM: Version = (4, 9, 4)


def _behaviour(version: Version) -> ReleaseBehaviour:
    return ReleaseBehaviour(
        dispatch_to_confirm=version >= _DISPATCH_TO_CONFIRM_FROM,
        slave_serves_pulls=version < _RIP_34_FROM,
        slave_not_available=version < _RIP_34_FROM,
        quorum_to_wait=version >= _RIP_34_FROM,
        overflow_to_min=version < _OVERFLOW_TO_MAX_FROM,
    )


def _version(name: str) -> Version:
    return tuple(int(part) for part in name.split("."))


SUPPORTED = ("4.9.3", "4.9.7", "4.9.8", "5.0", "5.1", "5.2", "5.3")
"""The releases `--rocketmq-version` accepts (4.5.2-4.9.2 behave as 4.9.3 in every row above)."""

RELEASES: dict[str, ReleaseBehaviour] = {name: _behaviour(_version(name)) for name in SUPPORTED}

NEWEST_OF_LINE: dict[str, str] = {"4": "4.9.8", "5": "5.3"}
"""`4` and `5` stand for the newest release of each line."""


def canonical_release(text: str) -> str:
    """The release `text` names, a line resolved to its newest; unchanged if it names none."""
    return NEWEST_OF_LINE.get(text, text)
