"""The slave's deterministic core: take the master's log, report, copy the master's
consumer offsets, serve consumers.

Who does what: the shell keeps a connection to the master and steps `Connected(conn,
to_master=True)` when it is up. The core then says hello: where its log ends and its last
record's offset and CRC. A checking master may answer HaTruncate (that record is not the
one it holds there): the core cuts it off and says hello again. Once counted, the master
pushes whole records (HaData) from the slave's end. The slave checks and indexes them, hands
them to the shell to append, and reports the new end in the same Ready — so the report
leaves once the bytes are in the slave's page cache, before its own flush (RocketMQ
HAClient). Its flushDiskType only decides how soon it flushes; after each flush it
reports again. On its interval it asks the master for its consumer offsets and copies them
(SlaveSynchronize). A trusting master may stream from inside a record (the slave kept
entries it lost, of other sizes): as a RocketMQ slave, this one takes those bytes and
counts them in its reports but can read none of them, nor anything after (`_unread`; it
keeps them in no file and forgets them with the link, where RocketMQ's recovery cuts them
off at a restart). It serves pulls (4.x; 5.x with slaveReadEnable) and offsets like the
master but refuses sends.
"""

from __future__ import annotations

from noloss.reference import log
from noloss.reference import messages as m
from noloss.reference.core import Connected, FlushType, NodeConfig, NodeCore, Role, parse_offsets


class SlaveCore(NodeCore):
    """A SLAVE node."""

    def __init__(self, config: NodeConfig, reader: log.LogReader, recovery: log.Recovery, offsets: bytes | None) -> None:
        assert config.role is Role.SLAVE
        super().__init__(config, reader, recovery, offsets)
        self.master: int | None = None
        self._last_report_ms = 0
        self._last_sync_ms = 0
        self._sync_requests = 0
        self.unread = 0
        """Bytes taken from the master past the log that no record boundary leads to."""

    def _on_connected(self, event: Connected) -> None:
        if event.to_master:
            self.master = event.conn
            self._hello()

    def _hello(self) -> None:
        """Say where the log ends and what its last record is (the master may check it)."""
        assert self.master is not None
        last = self.queues.last()
        offset, crc = 0, 0
        if last is not None:
            offset = last[0]
            crc = log.record_header(self.reader, offset)[2]
        self._send(self.master, m.HaHello(self.log_end, self.flushed_end, offset, crc))
        self._last_report_ms = self.now_ms

    def synchronize(self, conn: int | None = None) -> None:
        """SlaveSynchronize: ask the master for its consumer offsets (the reply is copied).

        Over the HA connection unless `conn` names another connection to the master: RocketMQ's
        SlaveSynchronize has a remoting connection of its own, up while the HA link is not."""
        target = self.master if conn is None else conn
        if target is not None:
            self._sync_requests += 1
            self._send(target, m.ConsumerOffsetsRequest(self._sync_requests))
            self._last_sync_ms = self.now_ms

    def _on_disconnected(self, conn: int) -> None:
        if conn == self.master:
            self.master = None
            self.unread = 0

    def _on_role_message(self, conn: int, message: m.Wire) -> None:
        if isinstance(message, m.HaData) and conn == self.master:
            self._on_data(conn, message)
        elif isinstance(message, m.HaTruncate) and conn == self.master:
            self._on_truncate(message.offset)
        elif isinstance(message, m.ConsumerOffsetsReply):  # only a master answers the request
            # putAll, as RocketMQ's SlaveSynchronize.syncConsumerOffset: the master's offsets
            # replace the slave's where it has one; the slave's others stay. Then persist.
            self.offsets.update(parse_offsets(message.offsets))
            self.persist_offsets()
        elif isinstance(message, m.SendRequest | m.SendBackRequest):
            if not (isinstance(message, m.SendRequest) and message.oneway):
                detail = "this node is a slave: send to the master"
                self._send(conn, m.SendReply(message.request_id, m.ErrorCode.SERVICE_NOT_AVAILABLE, "", -1, detail))
        else:
            super()._on_role_message(conn, message)

    def _on_data(self, conn: int, data: m.HaData) -> None:
        if data.offset != self.log_end + self.unread:
            self._close(conn, f"replication gap: master sent offset {data.offset}, slave log ends at {self.log_end + self.unread}")
            return
        if self.unread or self._from_inside_a_record(data.data):
            self.unread += len(data.data)
            self._report()
            return
        # Check every record before appending any, so a bad chunk leaves the log as it was.
        mark = self.queues.mark()
        pos = 0
        try:
            while pos < len(data.data):
                pos += log.index_record(data.data, pos, self.log_end + pos, self.queues)
        except log.CorruptRecord as error:
            self.queues.rollback(mark)
            self._close(conn, f"bad record from master at offset {self.log_end + pos}: {error}")
            return
        self._append_bytes(data.data)
        self._report()
        if self.config.flush is FlushType.SYNC_FLUSH:
            self._request_flush()

    def _from_inside_a_record(self, data: bytes) -> bool:
        """A trusting master streamed from an offset inside one of its records: no record
        starts at this log's end (RocketMQ's slave appends such bytes unchecked)."""
        if not self.config.ha_trust_slave_offset:
            return False
        try:
            log.decode_record(data)
        except log.CorruptRecord:
            return True
        return False

    def _on_truncate(self, offset: int) -> None:
        """The master holds another record (or none) where this log's last one starts: the
        logs diverged there (the master lost a tail this slave kept). Drop it, say hello again."""
        last = self.queues.last()
        if last is None or offset != last[0]:
            assert self.master is not None
            self._close(self.master, f"the master asks to cut the log at {offset}, which is not where its last record starts")
            return
        self._truncate_log(offset)
        self._hello()

    def _on_flushed(self) -> None:
        self._report()

    def _on_tick(self) -> None:
        if self.now_ms - self._last_report_ms >= self.config.ha_heartbeat_ms:
            self._report()
        if self.now_ms - self._last_sync_ms >= self.config.slave_synchronize_interval_ms:
            self.synchronize()

    def _report(self) -> None:
        if self.master is not None:
            self._send(self.master, m.HaReport(self.log_end + self.unread, self.flushed_end))
            self._last_report_ms = self.now_ms
