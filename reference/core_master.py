"""The master's deterministic core: store sends, wait for flush and slave as configured,
push the log to slaves.

Who does what: a producer's SendRequest is appended at once (the page cache); then two
waits run in parallel, as in RocketMQ 4.9's CommitLog.asyncPutMessage:

* flush — SYNC_FLUSH waits for a `Flushed` event covering the record (group commit:
  the shell runs one fsync for everything appended so far, so every waiting send
  shares it), or answers FLUSH_DISK_TIMEOUT after `sync_flush_timeout_ms`;
* replication — SYNC_MASTER (in 5.x only with inSyncReplicas >= 2) waits for a slave's
  HaReport covering the record (already covered if the slave's last report is past it),
  or answers FLUSH_SLAVE_TIMEOUT after `slave_timeout_ms`; with no slave in sync 4.x
  answers SLAVE_NOT_AVAILABLE at once, 5.x waits all the same.

The reply goes out when both are settled; a replication failure status overrides a flush
failure status. Whatever the status, the master has stored the message.
"""

from __future__ import annotations

from dataclasses import dataclass

from noloss.reference import log
from noloss.reference import messages as m
from noloss.reference.core import FlushType, NodeConfig, NodeCore, Role, dump_offsets


@dataclass(slots=True)
class _Waiter:
    """A stored send whose reply waits for the disk and/or the slave."""

    conn: int
    request_id: int
    end: int
    """Log offset just past the record: covered once a flush or report reaches it."""
    msg_id: str
    queue_offset: int
    flush_status: str | None
    replica_status: str | None
    flush_deadline_ms: int
    replica_deadline_ms: int


@dataclass(slots=True)
class _SlaveLink:
    """What the master knows of one connected slave."""

    stored: int
    flushed: int
    pushed: int
    """Next byte to push: the master streams ahead of the reports, up to a window."""


class MasterCore(NodeCore):
    """A SYNC_MASTER or ASYNC_MASTER node."""

    def __init__(self, config: NodeConfig, reader: log.LogReader, recovery: log.Recovery, offsets: bytes | None) -> None:
        assert config.role is not Role.SLAVE
        super().__init__(config, reader, recovery, offsets)
        self._waiters: list[_Waiter] = []
        self.slaves: dict[int, _SlaveLink] = {}

    # -- producer sends ----------------------------------------------------------------

    def _on_role_message(self, conn: int, message: m.Wire) -> None:
        if isinstance(message, m.SendRequest):
            self._on_send(conn, message)
        elif isinstance(message, m.SendBackRequest):
            self._on_send_back(conn, message)
        elif isinstance(message, m.HaHello):
            self._on_hello(conn, message)
        elif isinstance(message, m.HaReport):
            if conn in self.slaves or self.config.ha_trust_slave_offset:
                self._on_report(conn, message)
        elif isinstance(message, m.ConsumerOffsetsRequest):
            self._send(conn, m.ConsumerOffsetsReply(message.request_id, dump_offsets(self.offsets)))
        else:
            super()._on_role_message(conn, message)

    def _on_send(self, conn: int, request: m.SendRequest) -> None:
        error = self._refusal(request.topic, request.body)
        if error is not None:
            if not request.oneway:
                self._send(conn, m.SendReply(request.request_id, error[0], "", -1, error[1]))
            return
        commit_offset, queue_offset = self._store(request.topic, request.key, request.body)
        sync_flush = self.config.flush is FlushType.SYNC_FLUSH
        if sync_flush:
            self._request_flush()
        if request.oneway:
            return
        replica_status: str | None = m.SendStatus.SEND_OK
        if self.config.waits_for_slave:
            # 4.x isSlaveOK: no slave in sync means SLAVE_NOT_AVAILABLE at once; 5.x never
            # asks: it waits, and answers FLUSH_SLAVE_TIMEOUT if no slave reports in time.
            gives_up = self.config.release.slave_not_available and not self.slave_in_sync()
            replica_status = m.SendStatus.SLAVE_NOT_AVAILABLE if gives_up else None
        waiter = _Waiter(
            conn,
            request.request_id,
            self.log_end,
            m.msg_id(commit_offset),
            queue_offset,
            flush_status=None if sync_flush else m.SendStatus.SEND_OK,
            replica_status=replica_status,
            flush_deadline_ms=self.now_ms + self.config.sync_flush_timeout_ms,
            replica_deadline_ms=self.now_ms + self.config.slave_timeout_ms,
        )
        # Only the new wait can be settled now: the others were checked when the flush
        # point, the slaves' reports or the clock last moved (checking them all on every
        # send costs O(waiters) per message, the hot path under many producers).
        replicated = self._replicated() if replica_status is None else -1  # no slave to ask about: skip the walk
        if not self._settled(waiter, replicated):
            self._waiters.append(waiter)

    def _on_send_back(self, conn: int, request: m.SendBackRequest) -> None:
        """Store a failed message's copy in the retry topic, or in the DLQ once it has
        been reconsumed `max_reconsume_times`; WAIT=false: reply SEND_OK at once."""
        dead = request.reconsume_times >= request.max_reconsume_times
        topic = m.dlq_topic(request.group) if dead else m.retry_topic(request.group)
        error = self._refusal(request.origin_topic, request.body)
        if error is not None or not request.group:
            code, detail = error or (m.ErrorCode.BAD_REQUEST, "empty consumer group")
            self._send(conn, m.SendReply(request.request_id, code, "", -1, detail))
            return
        commit_offset, queue_offset = self._store(topic, request.key, request.body, request.reconsume_times + 1, request.origin_topic)
        self._send(conn, m.SendReply(request.request_id, m.SendStatus.SEND_OK, m.msg_id(commit_offset), queue_offset, topic))

    def _refusal(self, topic: str, body: bytes) -> tuple[str, str] | None:
        if not self.known_topic(topic):
            return m.ErrorCode.TOPIC_NOT_EXIST, f"topic {topic!r} does not exist"
        if len(body) > self.config.max_body_bytes:
            return m.ErrorCode.MESSAGE_ILLEGAL, f"body of {len(body)} bytes exceeds {self.config.max_body_bytes}"
        return None

    def _store(self, topic: str, key: str, body: bytes, reconsume_times: int = 0, origin_topic: str = "") -> tuple[int, int]:
        """Append one record; return its commit offset and queue offset."""
        commit_offset = self.log_end
        queue_offset = self.queues.count(topic)
        record = log.encode_record(topic, key, body, commit_offset, queue_offset, reconsume_times, origin_topic)
        self.queues.add(topic, commit_offset, len(record))
        self._append_bytes(record)
        return commit_offset, queue_offset

    def _replicated(self) -> int:
        """The highest offset a connected slave has reported (-1: none)."""
        return max((link.stored for link in self.slaves.values()), default=-1)

    def _settle(self) -> None:
        """Settle each wait that is covered or timed out; reply once both are settled."""
        replicated = self._replicated()
        self._waiters = [waiter for waiter in self._waiters if not self._settled(waiter, replicated)]

    def _settled(self, waiter: _Waiter, replicated: int) -> bool:
        """Settle what is covered or timed out of `waiter`; if both waits are settled,
        reply and return True."""
        if waiter.flush_status is None:
            if waiter.end <= self.flushed_end:
                waiter.flush_status = m.SendStatus.SEND_OK
            elif self.now_ms >= waiter.flush_deadline_ms:
                waiter.flush_status = m.SendStatus.FLUSH_DISK_TIMEOUT
        if waiter.replica_status is None:
            if waiter.end <= replicated:
                waiter.replica_status = m.SendStatus.SEND_OK
            elif self.now_ms >= waiter.replica_deadline_ms:
                waiter.replica_status = m.SendStatus.FLUSH_SLAVE_TIMEOUT
        if waiter.flush_status is None or waiter.replica_status is None:
            return False
        status = reply_status(waiter.flush_status, waiter.replica_status)
        self._send(waiter.conn, m.SendReply(waiter.request_id, status, waiter.msg_id, waiter.queue_offset, ""))
        return True

    def _on_flushed(self) -> None:
        self._settle()

    def _on_tick(self) -> None:
        self._settle()
        self._push()

    def _on_advance(self) -> None:
        self._push()

    # -- replication -----------------------------------------------------------------

    def slave_in_sync(self) -> bool:
        """4.x HAService.isSlaveOK: a slave is connected and not too far behind."""
        return any(self.log_end - link.stored < self.config.ha_max_gap_not_in_sync for link in self.slaves.values())

    def _on_hello(self, conn: int, hello: m.HaHello) -> None:
        """A slave (re)connects. Trusting (haTrustSlaveOffset, the default, as RocketMQ): its
        offset counts as it is. Checked: it counts only if its last record is the one this
        master holds at that offset; otherwise it is told to drop that record and try again,
        until its log is a prefix of this one."""
        if self.config.ha_trust_slave_offset or self._holds_last_record(hello):
            self._on_report(conn, m.HaReport(hello.stored_offset, hello.flushed_offset))
        else:
            self._send(conn, m.HaTruncate(hello.last_record_offset))

    def _holds_last_record(self, hello: m.HaHello) -> bool:
        """This log has, at the slave's last record's offset, a record of the same length and CRC."""
        if hello.stored_offset == 0:
            return True
        if hello.stored_offset > self.readable_end:
            return False
        total, magic, crc = log.record_header(self.reader, hello.last_record_offset)
        ends_there = hello.last_record_offset + total == hello.stored_offset
        return magic == log.RECORD_MAGIC and ends_there and crc == hello.last_record_crc

    def _on_report(self, conn: int, report: m.HaReport) -> None:
        if report.stored_offset > self.log_end and not self.config.ha_trust_slave_offset:
            # The slave holds bytes this master does not (the master lost its tail):
            # the logs have diverged and pushing would corrupt the slave's log.
            self._close(conn, f"slave is ahead of the master (slave {report.stored_offset} > master {self.log_end}); resync the slave by hand")
            return
        link = self.slaves.setdefault(conn, _SlaveLink(report.stored_offset, report.flushed_offset, report.stored_offset))
        link.stored = max(link.stored, report.stored_offset)
        link.flushed = max(link.flushed, report.flushed_offset)
        link.pushed = max(link.pushed, link.stored)
        self._settle()
        self._push()

    def _push(self) -> None:
        """Stream whole records to every slave, up to `ha_window_bytes` past its report.

        A trusted offset may fall inside a record (a slave that kept entries this master
        lost, of other sizes): RocketMQ then streams raw bytes from there (HAConnection's
        WriteSocketService reads the commit log from `slaveRequestOffset`), and so does this
        master, up to its end, which is a record boundary again."""
        for conn, link in self.slaves.items():
            while link.pushed < self.readable_end and link.pushed - link.stored < self.config.ha_window_bytes:
                if log.starts_record(self.reader, link.pushed):
                    data = log.whole_records(self.reader, link.pushed, self.readable_end, self.config.ha_transfer_batch_bytes)
                else:
                    data = self.reader.read(link.pushed, self.readable_end - link.pushed)
                if not data:
                    break
                self._send(conn, m.HaData(link.pushed, data))
                link.pushed += len(data)

    def _on_disconnected(self, conn: int) -> None:
        self.slaves.pop(conn, None)
        self._waiters = [w for w in self._waiters if w.conn != conn]


def reply_status(flush_status: str, replica_status: str) -> str:
    """The status of a send whose two waits are settled: a replication failure overrides
    a flush failure (RocketMQ's handleDiskFlushAndHA).

    pre: flush_status in ("SEND_OK", "FLUSH_DISK_TIMEOUT")
    pre: replica_status in ("SEND_OK", "FLUSH_SLAVE_TIMEOUT", "SLAVE_NOT_AVAILABLE")
    post: (__return__ == "SEND_OK") == (flush_status == "SEND_OK" and replica_status == "SEND_OK")
    post: replica_status == "SEND_OK" or __return__ == replica_status
    """
    return replica_status if replica_status != m.SendStatus.SEND_OK else flush_status
