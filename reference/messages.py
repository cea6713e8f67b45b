"""The messages nodes and clients exchange, and the statuses they carry.

Who does what: clients and broker shells decode bytes into these values (frames.py) and
hand them to the deterministic cores (core_*.py), which answer with values of the same
types. A stored commit-log record decodes to `Message` as well (log.py), so what a
consumer receives is exactly what the master stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SendStatus(StrEnum):
    """The four answers that all mean *the master stored the message* (RocketMQ SendStatus)."""

    SEND_OK = "SEND_OK"
    FLUSH_DISK_TIMEOUT = "FLUSH_DISK_TIMEOUT"
    FLUSH_SLAVE_TIMEOUT = "FLUSH_SLAVE_TIMEOUT"
    SLAVE_NOT_AVAILABLE = "SLAVE_NOT_AVAILABLE"


class ErrorCode(StrEnum):
    """Answers that mean the request was refused and nothing was stored."""

    TOPIC_NOT_EXIST = "TOPIC_NOT_EXIST"
    MESSAGE_ILLEGAL = "MESSAGE_ILLEGAL"
    SERVICE_NOT_AVAILABLE = "SERVICE_NOT_AVAILABLE"
    BAD_REQUEST = "BAD_REQUEST"


class PullStatus(StrEnum):
    """Answers to a pull (RocketMQ PullStatus, plus the topic error)."""

    FOUND = "FOUND"
    NO_NEW_MSG = "NO_NEW_MSG"
    OFFSET_OVERFLOW = "OFFSET_OVERFLOW"


OK = "OK"
"""Status of a successful offset commit or query."""

RETRY_PREFIX = "%RETRY%"
DLQ_PREFIX = "%DLQ%"


def retry_topic(group: str) -> str:
    """The topic a consumer group's failed messages are sent back to."""
    return RETRY_PREFIX + group


def dlq_topic(group: str) -> str:
    """The topic a message is parked in after `maxReconsumeTimes` failures."""
    return DLQ_PREFIX + group


def is_system_topic(topic: str) -> bool:
    """Retry and dead-letter topics exist implicitly for every group, as in RocketMQ."""
    return any(topic.startswith(prefix) and len(topic) > len(prefix) for prefix in (RETRY_PREFIX, DLQ_PREFIX))


@dataclass(frozen=True, slots=True)
class Message:
    """One stored message, as the commit log holds it and a consumer receives it.

    `commit_offset` is the byte offset of its record in the node's commit log (the message
    id); `queue_offset` its index in the topic's consume queue. `origin_topic` is set on
    retry and dead-letter copies and names the topic the message was first sent to.
    """

    topic: str
    queue_offset: int
    commit_offset: int
    key: str
    body: bytes
    reconsume_times: int
    origin_topic: str

    @property
    def msg_id(self) -> str:
        """The id RocketMQ calls offsetMsgId: where the record sits in the commit log."""
        return msg_id(self.commit_offset)


def msg_id(commit_offset: int) -> str:
    """Render a commit-log offset as a message id."""
    return f"{commit_offset:016X}"


@dataclass(frozen=True, slots=True)
class SendRequest:
    """Producer -> master: store `body` in `topic`. `key` "" means no key; a oneway
    send gets no reply."""

    request_id: int
    topic: str
    key: str
    body: bytes
    oneway: bool


@dataclass(frozen=True, slots=True)
class SendBackRequest:
    """Consumer -> master: processing failed (RECONSUME_LATER). The master stores a copy
    in %RETRY%group, or in %DLQ%group once `reconsume_times` reaches
    `max_reconsume_times`; either copy is stored with WAIT=false."""

    request_id: int
    group: str
    origin_topic: str
    key: str
    body: bytes
    reconsume_times: int
    max_reconsume_times: int


@dataclass(frozen=True, slots=True)
class SendReply:
    """Master -> producer: a SendStatus (stored) or an ErrorCode (refused)."""

    request_id: int
    status: str
    msg_id: str
    queue_offset: int
    detail: str


@dataclass(frozen=True, slots=True)
class PullRequest:
    """Consumer -> any node: up to `max_count` messages of `topic` from `queue_offset`.
    With nothing new the node holds the request up to `suspend_ms` (long polling)."""

    request_id: int
    topic: str
    queue_offset: int
    max_count: int
    suspend_ms: int


@dataclass(frozen=True, slots=True)
class PullReply:
    """Node -> consumer: a PullStatus or an ErrorCode; `next_offset` is where to pull next."""

    request_id: int
    status: str
    next_offset: int
    messages: tuple[Message, ...]
    detail: str


@dataclass(frozen=True, slots=True)
class CommitOffsetRequest:
    """Consumer -> node: every message of `topic` before `offset` is processed by `group`."""

    request_id: int
    group: str
    topic: str
    offset: int


@dataclass(frozen=True, slots=True)
class QueryOffsetRequest:
    """Consumer -> node: where should `group` resume `topic`?"""

    request_id: int
    group: str
    topic: str


@dataclass(frozen=True, slots=True)
class OffsetReply:
    """Node -> consumer: the committed offset (-1 when the group has none) or an error."""

    request_id: int
    status: str
    offset: int
    detail: str


@dataclass(frozen=True, slots=True)
class HaReport:
    """Slave -> master: the slave holds the master's log up to `stored_offset` (in its page
    cache) and has flushed it up to `flushed_offset`. The first report says where the
    master should start pushing."""

    stored_offset: int
    flushed_offset: int


@dataclass(frozen=True, slots=True)
class HaData:
    """Master -> slave: whole commit-log records, starting at byte `offset`."""

    offset: int
    data: bytes


@dataclass(frozen=True, slots=True)
class HaHello:
    """Slave -> master, first on every connection: where the slave's log ends, and its last
    record's start and CRC (0 and 0 for an empty log), for the master to check against its
    own log before it counts the slave (the checked handshake)."""

    stored_offset: int
    flushed_offset: int
    last_record_offset: int
    last_record_crc: int


@dataclass(frozen=True, slots=True)
class HaTruncate:
    """Master -> slave: your record at `offset` is not the one I hold there (or I hold none):
    drop it and everything after it, then say hello again."""

    offset: int


@dataclass(frozen=True, slots=True)
class ConsumerOffsetsRequest:
    """Slave -> master: every committed consumer offset you hold (SlaveSynchronize)."""

    request_id: int


@dataclass(frozen=True, slots=True)
class ConsumerOffsetsReply:
    """Master -> slave: its committed consumer offsets, as consumerOffset.json holds them."""

    request_id: int
    offsets: bytes


Request = SendRequest | SendBackRequest | PullRequest | CommitOffsetRequest | QueryOffsetRequest
Reply = SendReply | PullReply | OffsetReply
Wire = Request | Reply | HaReport | HaData | HaHello | HaTruncate | ConsumerOffsetsRequest | ConsumerOffsetsReply
"""Everything that travels in a frame."""
