"""What master and slave cores share: configuration, events in, a Ready batch out.

A core is a state machine with no clocks, sockets or randomness (as etcd-io/raft's):

    core.step(event)   a connection opened or closed, a message arrived, a flush finished
    core.tick()        tick_ms of time passed
    core.ready()       the batch of work the shell must do now (see `Ready` for the order)
    core.advance()     the shell has done the last batch; new bytes are now readable

The shell (server.py, or a deterministic simulation) owns files and sockets. A core
reads bytes the shell has already appended through a `LogReader`, never writes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum

from noloss.reference import log
from noloss.reference import messages as m
from noloss.reference.index import ConsumeQueues
from noloss.reference.releases import RELEASES, ReleaseBehaviour, canonical_release

OFFSETS_FILE = "consumerOffset.json"
MAX_PULL_COUNT = 1024
MAX_PULL_BYTES = 1024 * 1024
"""A pull reply stops adding messages past this size (it always holds at least one)."""


HA_TRUST_SLAVE_OFFSET = True
"""The HA handshake a node, `noloss broker` and `noloss cluster` use unless told otherwise:
trust the offset a slave reports, as every RocketMQ release does (and as the spec's
haTrustSlaveOffset defaults to). The master takes a connecting slave's first report as where
to stream from and as acknowledged: store/src/main/java/org/apache/rocketmq/store/ha/
HAConnection.java ReadSocketService.processReadEvent (4.9.7:176-189: only a *later* report
past the master's end is refused, apache/rocketmq#3015), DefaultHAConnection.java (5.3.0:
230-236: none is)."""


class Role(StrEnum):
    """brokerRole."""

    SYNC_MASTER = "SYNC_MASTER"
    ASYNC_MASTER = "ASYNC_MASTER"
    SLAVE = "SLAVE"


class FlushType(StrEnum):
    """flushDiskType."""

    SYNC_FLUSH = "SYNC_FLUSH"
    ASYNC_FLUSH = "ASYNC_FLUSH"


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """One node's broker.conf, in RocketMQ's terms; times in milliseconds."""

    role: Role
    flush: FlushType
    topics: frozenset[str] = frozenset({"TopicTest"})
    tick_ms: int = 10
    sync_flush_timeout_ms: int = 5000
    slave_timeout_ms: int = 3000
    flush_interval_ms: int = 500
    """flushIntervalCommitLog: how often ASYNC_FLUSH flushes."""
    flush_consumer_offset_interval_ms: int = 5000
    ha_max_gap_not_in_sync: int = 256 * 1024 * 1024
    """haMaxGapNotInSync: a slave further behind than this is not in sync."""
    ha_transfer_batch_bytes: int = 1024 * 1024
    ha_window_bytes: int = 8 * 1024 * 1024
    """How far the master pushes ahead of what the slave has reported."""
    ha_heartbeat_ms: int = 1000
    max_body_bytes: int = 4 * 1024 * 1024
    rocketmq_version: str = "4.9.7"
    """The release whose behaviour the node follows where releases differ (reference/releases.py)."""
    in_sync_replicas: int = 1
    """inSyncReplicas (5.x): a SYNC_MASTER waits for a slave only when this is 2 or more."""
    read_uncommitted: bool = False
    """readUnCommitted (5.3+): under SYNC_FLUSH consumers see unflushed records too."""
    slave_read_enable: bool = False
    """slaveReadEnable (5.x): a slave answers pulls (a 4.x slave always does)."""
    ha_trust_slave_offset: bool = HA_TRUST_SLAVE_OFFSET
    """true (the default): the master counts a slave by the offset it reports, unchecked, as
    RocketMQ does; false: it first checks the slave's last record against its own log and
    cuts a diverged slave back (HaTruncate)."""
    slave_synchronize_interval_ms: int = 10_000
    """How often a slave copies the master's consumer offsets (RocketMQ's SlaveSynchronize)."""

    def __post_init__(self) -> None:
        # `4` and `5` name the newest release of each line, as rocketmqVersion does for the spec.
        object.__setattr__(self, "rocketmq_version", canonical_release(self.rocketmq_version))
        if self.rocketmq_version not in RELEASES:
            raise ValueError(f"rocketmq_version: unknown release {self.rocketmq_version!r}: allowed {', '.join(RELEASES)}")
        if self.in_sync_replicas < 1:
            raise ValueError(f"in_sync_replicas: {self.in_sync_replicas} is below 1")

    @property
    def release(self) -> ReleaseBehaviour:
        """What the release does where releases differ."""
        return RELEASES[self.rocketmq_version]

    @property
    def waits_for_slave(self) -> bool:
        """A send's reply waits for a slave's report (4.x SYNC_MASTER; 5.x with inSyncReplicas >= 2)."""
        if self.role is not Role.SYNC_MASTER:
            return False
        return not self.release.quorum_to_wait or self.in_sync_replicas >= 2

    @property
    def dispatch_to_flushed(self) -> bool:
        """Consumers see only flushed records (5.3+ under SYNC_FLUSH unless readUnCommitted):
        ReputMessageService stops at the confirm offset."""
        return self.release.dispatch_to_confirm and not self.read_uncommitted and self.flush is FlushType.SYNC_FLUSH

    @property
    def serves_pulls(self) -> bool:
        """A master always answers pulls; a slave does in 4.x, in 5.x only with slaveReadEnable."""
        return self.role is not Role.SLAVE or self.release.slave_serves_pulls or self.slave_read_enable


@dataclass(frozen=True, slots=True)
class Connected:
    """The shell opened connection `conn`; `to_master` on the slave's link to its master."""

    conn: int
    to_master: bool = False


@dataclass(frozen=True, slots=True)
class Disconnected:
    """Connection `conn` is gone."""

    conn: int


@dataclass(frozen=True, slots=True)
class Received:
    """A whole, well-formed message arrived on `conn`."""

    conn: int
    message: m.Wire


@dataclass(frozen=True, slots=True)
class Flushed:
    """The fsync the core asked for finished: the log is durable up to `offset`."""

    offset: int


Event = Connected | Disconnected | Received | Flushed


@dataclass(slots=True)
class Ready:
    """A batch of work for the shell. Do it in this order:

    0. if `truncate` is set, cut the commit log to that many bytes and forget the
       checkpoint (a slave whose log diverged from its master's); fsyncs already running
       report nothing afterwards;
    1. append `appends` to the commit log (into the page cache);
    2. write each `meta` file atomically and durably (a real shell queues the write on
       its fsync thread, behind the fsyncs already requested: no reply waits on it);
    3. if `flush`, start an fsync of the log without waiting for it; when it finishes,
       step `Flushed(end)` with the log end as it was when the fsync started;
    4. send `frames`, each to its connection (drop those for closed connections);
    5. close `closes`, logging each reason on one line;
    6. call `advance()`.

    Persist before replying: a reply that SYNC_FLUSH makes wait for the disk is only put
    in `frames` after the `Flushed` event that covers it, and a slave's report of an
    offset is only sent once step 1 has put those bytes in its page cache.
    """

    truncate: int | None = None
    appends: list[bytes] = field(default_factory=list)
    meta: dict[str, bytes] = field(default_factory=dict)
    flush: bool = False
    frames: list[tuple[int, m.Wire]] = field(default_factory=list)
    closes: list[tuple[int, str]] = field(default_factory=list)

    def empty(self) -> bool:
        """Nothing to do."""
        return self.truncate is None and not (self.appends or self.meta or self.flush or self.frames or self.closes)


@dataclass(slots=True)
class _HeldPull:
    """A long-polling pull waiting for new messages until `deadline_ms`."""

    conn: int
    request: m.PullRequest
    deadline_ms: int


class NodeCore:
    """The part of a broker node that master and slave share: consume queues, pulls,
    consumer offsets, and when to flush. Subclasses add the role's own messages."""

    def __init__(self, config: NodeConfig, reader: log.LogReader, recovery: log.Recovery, offsets: bytes | None) -> None:
        self.config = config
        self.reader = reader
        self.queues: ConsumeQueues = recovery.queues
        self.log_end = recovery.end
        """End of the log including appends handed to the shell but not yet advanced."""
        self.readable_end = recovery.end
        """End of what the shell has appended: the only bytes the core may read."""
        self.flushed_end = recovery.end
        self.now_ms = 0
        self.offsets: dict[tuple[str, str], int] = parse_offsets(offsets)
        self._offsets_dirty = False
        self._last_flush_ms = 0
        self._last_offsets_ms = 0
        self._held: list[_HeldPull] = []
        self._out = Ready()
        self._handed_end = recovery.end

    # -- the interface the shell drives ---------------------------------------------

    def step(self, event: Event) -> None:
        """Take one input event."""
        if isinstance(event, Received):
            self._on_message(event.conn, event.message)
        elif isinstance(event, Flushed):
            self.flushed_end = max(self.flushed_end, event.offset)
            if self.config.dispatch_to_flushed:
                self._serve_held_pulls()
            self._on_flushed()
        elif isinstance(event, Connected):
            self._on_connected(event)
        else:
            self._held = [h for h in self._held if h.conn != event.conn]
            self._on_disconnected(event.conn)

    def tick(self) -> None:
        """Let `tick_ms` pass: expire long polls, flush on the configured interval,
        persist consumer offsets on theirs."""
        self.now_ms += self.config.tick_ms
        self._serve_held_pulls()
        # SYNC_FLUSH also flushes every tick: messages stored with WAIT=false (retry, DLQ,
        # oneway) have no waiter asking for a flush, as in RocketMQ's GroupCommitService.
        interval = self.config.tick_ms if self.config.flush is FlushType.SYNC_FLUSH else self.config.flush_interval_ms
        if self.log_end > self.flushed_end and self.now_ms - self._last_flush_ms >= interval:
            self._request_flush()
        if self._offsets_dirty and self.now_ms - self._last_offsets_ms >= self.config.flush_consumer_offset_interval_ms:
            self.persist_offsets()
        self._on_tick()

    def persist_offsets(self) -> None:
        """Write consumer offsets now (on the interval, and on shutdown)."""
        self._out.meta[OFFSETS_FILE] = dump_offsets(self.offsets)
        self._offsets_dirty = False
        self._last_offsets_ms = self.now_ms

    def ready(self) -> Ready:
        """Hand over the work accumulated since the last call."""
        out, self._out = self._out, Ready()
        self._handed_end = self.log_end
        return out

    def advance(self) -> None:
        """The shell finished the last `ready()` batch: its appends are readable now."""
        self.readable_end = self._handed_end
        self._serve_held_pulls()
        self._on_advance()

    # -- hooks for the roles ---------------------------------------------------------

    def _on_role_message(self, conn: int, message: m.Wire) -> None:
        self._close(conn, f"unexpected {type(message).__name__}")

    def _on_flushed(self) -> None:
        pass

    def _on_connected(self, event: Connected) -> None:
        pass

    def _on_disconnected(self, conn: int) -> None:
        pass

    def _on_tick(self) -> None:
        pass

    def _on_advance(self) -> None:
        pass

    # -- shared handling -------------------------------------------------------------

    def _on_message(self, conn: int, message: m.Wire) -> None:
        if isinstance(message, m.PullRequest):
            self._on_pull(conn, message)
        elif isinstance(message, m.CommitOffsetRequest):
            if not self.known_topic(message.topic) or message.offset < 0:
                self._send(conn, m.OffsetReply(message.request_id, m.ErrorCode.BAD_REQUEST, -1, "unknown topic or negative offset"))
                return
            self.offsets[(message.group, message.topic)] = message.offset
            self._offsets_dirty = True
            self._send(conn, m.OffsetReply(message.request_id, m.OK, message.offset, ""))
        elif isinstance(message, m.QueryOffsetRequest):
            offset = self.offsets.get((message.group, message.topic), -1)
            self._send(conn, m.OffsetReply(message.request_id, m.OK, offset, ""))
        else:
            self._on_role_message(conn, message)

    def known_topic(self, topic: str) -> bool:
        """Topics are configured; retry and DLQ topics exist for every group."""
        return topic in self.config.topics or m.is_system_topic(topic)

    @property
    def dispatch_end(self) -> int:
        """Where ReputMessageService has got to: the records consumers can see end by here.
        The readable end, or in 5.3+ under SYNC_FLUSH (unless readUnCommitted) the flushed one."""
        if self.config.dispatch_to_flushed:
            return min(self.readable_end, self.flushed_end)
        return self.readable_end

    def _on_pull(self, conn: int, request: m.PullRequest) -> None:
        if not self.config.serves_pulls:
            detail = "this slave serves no pulls (slaveReadEnable=false): pull from the master"
            self._send(conn, _pull_reply(request, m.ErrorCode.SERVICE_NOT_AVAILABLE, request.queue_offset, detail))
        elif not self.known_topic(request.topic):
            self._send(conn, _pull_reply(request, m.ErrorCode.TOPIC_NOT_EXIST, request.queue_offset, f"topic {request.topic!r} does not exist"))
        elif request.queue_offset < 0 or request.max_count <= 0:
            self._send(conn, _pull_reply(request, m.ErrorCode.BAD_REQUEST, request.queue_offset, "negative offset or count"))
        elif request.queue_offset > self.queues.count_by(request.topic, self.dispatch_end):
            # Past the end (the consumer read records this node has since lost, or a slave
            # behind the master it read before): OFFSET_OVERFLOW_BADLY, with where to go on.
            next_offset = self._corrected_offset(request.topic, request.queue_offset)
            self._send(conn, _pull_reply(request, m.PullStatus.OFFSET_OVERFLOW, next_offset, ""))
        elif self._answer_pull(conn, request):
            pass
        elif request.suspend_ms > 0:
            self._held.append(_HeldPull(conn, request, self.now_ms + request.suspend_ms))
        else:
            self._send(conn, _pull_reply(request, m.PullStatus.NO_NEW_MSG, request.queue_offset, ""))

    def _corrected_offset(self, topic: str, offset: int) -> int:
        """Where a consumer past the queue's end goes on (DefaultMessageStore.getMessage): the
        queue's end, or up to 4.9.3 its start. A slave leaves the offset as it is
        (offsetCheckInSlave=false: PULL_RETRY_IMMEDIATELY)."""
        if self.config.role is Role.SLAVE:
            return offset
        if self.config.release.overflow_to_min:
            return 0
        return self.queues.count_by(topic, self.dispatch_end)

    def _answer_pull(self, conn: int, request: m.PullRequest) -> bool:
        """Send what the queue holds from the requested offset; False if nothing yet."""
        entries = self.queues.entries(request.topic, request.queue_offset, min(request.max_count, MAX_PULL_COUNT), self.dispatch_end)
        if not entries:
            return False
        found: list[m.Message] = []
        size = 0
        for commit_offset, length in entries:
            if found and size + length > MAX_PULL_BYTES:
                break
            found.append(log.decode_record(self.reader.read(commit_offset, length)))
            size += length
        next_offset = request.queue_offset + len(found)
        self._send(conn, m.PullReply(request.request_id, m.PullStatus.FOUND, next_offset, tuple(found), ""))
        return True

    def _serve_held_pulls(self) -> None:
        still = []
        for held in self._held:
            if self._answer_pull(held.conn, held.request):
                continue
            if self.now_ms >= held.deadline_ms:
                self._send(held.conn, _pull_reply(held.request, m.PullStatus.NO_NEW_MSG, held.request.queue_offset, ""))
            else:
                still.append(held)
        self._held = still

    # -- output helpers --------------------------------------------------------------

    def _send(self, conn: int, message: m.Wire) -> None:
        self._out.frames.append((conn, message))

    def _close(self, conn: int, reason: str) -> None:
        self._out.closes.append((conn, reason))

    def _request_flush(self) -> None:
        self._out.flush = True
        self._last_flush_ms = self.now_ms

    def _truncate_log(self, offset: int) -> None:
        """Cut the log back to `offset` (a record boundary): the records from there on go."""
        self._out.truncate = offset
        self._out.appends.clear()
        self.queues.truncate(offset)
        self.log_end = self.readable_end = self._handed_end = offset
        self.flushed_end = min(self.flushed_end, offset)

    def _append_bytes(self, data: bytes) -> None:
        self._out.appends.append(data)
        self.log_end += len(data)


def _pull_reply(request: m.PullRequest, status: str, next_offset: int, detail: str) -> m.PullReply:
    return m.PullReply(request.request_id, status, next_offset, (), detail)


def parse_offsets(data: bytes | None) -> dict[tuple[str, str], int]:
    """Consumer offsets as `consumerOffset.json` holds them: (group, topic) -> offset."""
    if not data:
        return {}
    return {(group, topic): int(offset) for group, topic, offset in json.loads(data)}


def dump_offsets(offsets: dict[tuple[str, str], int]) -> bytes:
    return json.dumps(sorted([group, topic, offset] for (group, topic), offset in offsets.items())).encode()
