"""The commit log: record layout, recovery scan, and reading whole records.

Who does what: a core decides what to append and hands the shell encoded records
(`encode_record`) in `Ready.appends`; the shell writes them with `LogFile.append`. On
start the shell calls `recover`, which scans the log, truncates a torn or corrupt tail
and rebuilds the consume queues that the core then serves from.

Record (all integers big-endian), modelled on RocketMQ's CommitLog message layout:

    u32 total_length   the whole record, this field included
    u32 magic          RECORD_MAGIC
    u32 crc            CRC32C of every byte after this field
    i64 commit_offset  where the record starts in the log: offsets increase monotonically
    i64 queue_offset   its index in the topic's consume queue
    i32 reconsume_times
    u16+ topic, u16+ origin_topic, u16+ key, u32+ body   (length-prefixed)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Protocol

import crc32c

from noloss.reference.index import ConsumeQueues
from noloss.reference.messages import Message
from noloss.reference.storage import LogFile

RECORD_MAGIC = 0xDAA320A7
_HEAD = struct.Struct(">IIIqqi")
_UP_TO_CRC = struct.Struct(">III")
"""total length, magic, CRC: the part of _HEAD the CRC does not cover."""
_AFTER_CRC = struct.Struct(">qqi")
"""commit offset, queue offset, reconsume times: the rest of _HEAD."""
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_CRC_FROM = 12
"""The CRC covers the record from commit_offset to the end."""
MAX_RECORD_BYTES = 8 * 1024 * 1024
SCAN_CHUNK = 4 * 1024 * 1024


class CorruptRecord(Exception):
    """A record that fails a check; the message says which."""


class LogReader(Protocol):
    """What a core may do with a log: read bytes the shell has already appended."""

    def read(self, offset: int, length: int) -> bytes:
        """Up to `length` bytes from `offset`."""


def encode_record(
    topic: str,
    key: str,
    body: bytes,
    commit_offset: int,
    queue_offset: int,
    reconsume_times: int = 0,
    origin_topic: str = "",
) -> bytes:
    """The bytes of one record."""
    # On every send's path: the body is copied once, into the record, and the CRC runs
    # over the fields and then the body rather than over a copy of both.
    topic_bytes, origin_bytes, key_bytes = topic.encode(), origin_topic.encode(), key.encode()
    fields = b"".join(
        (
            _AFTER_CRC.pack(commit_offset, queue_offset, reconsume_times),
            _U16.pack(len(topic_bytes)),
            topic_bytes,
            _U16.pack(len(origin_bytes)),
            origin_bytes,
            _U16.pack(len(key_bytes)),
            key_bytes,
            _U32.pack(len(body)),
        )
    )
    crc = crc32c.crc32c(body, crc32c.crc32c(fields))
    return b"".join((_UP_TO_CRC.pack(_CRC_FROM + len(fields) + len(body), RECORD_MAGIC, crc), fields, body))


def record_length(data: bytes, pos: int) -> int:
    """The total length a record header at `pos` claims (not yet checked)."""
    length: int = _U32.unpack_from(data, pos)[0]
    return length


def decode_record(data: bytes, pos: int = 0) -> Message:
    """Decode and check the record at `pos` of `data`; raise CorruptRecord if it is torn
    (runs past the data) or corrupt (bad length, magic or CRC, malformed fields)."""
    if len(data) - pos < _HEAD.size:
        raise CorruptRecord(f"torn header: {len(data) - pos} bytes of {_HEAD.size}")
    total, magic, crc, commit_offset, queue_offset, reconsume = _HEAD.unpack_from(data, pos)
    if magic != RECORD_MAGIC:
        raise CorruptRecord(f"bad magic {magic:#010x}")
    if not _HEAD.size < total <= MAX_RECORD_BYTES:
        raise CorruptRecord(f"impossible record length {total}")
    if pos + total > len(data):
        raise CorruptRecord(f"torn record: {len(data) - pos} bytes of {total}")
    if crc32c.crc32c(data[pos + _CRC_FROM : pos + total]) != crc:
        raise CorruptRecord("CRC mismatch")
    try:
        cursor = pos + _HEAD.size
        strings = []
        for _ in range(3):
            (n,) = _U16.unpack_from(data, cursor)
            strings.append(data[cursor + 2 : cursor + 2 + n].decode())
            cursor += 2 + n
        (n,) = _U32.unpack_from(data, cursor)
        body = data[cursor + 4 : cursor + 4 + n]
        cursor += 4 + n
    except (struct.error, UnicodeDecodeError) as error:
        raise CorruptRecord(f"malformed fields: {error}") from None
    if cursor != pos + total or len(body) != n:
        raise CorruptRecord("field lengths disagree with the record length")
    topic, origin_topic, key = strings
    return Message(topic, queue_offset, commit_offset, key, body, reconsume, origin_topic)


def record_header(log: LogReader, offset: int) -> tuple[int, int, int]:
    """The total length, magic and CRC the record header at `offset` claims (unchecked;
    zeros where the log holds no header there)."""
    data = log.read(offset, _CRC_FROM)
    if len(data) < _CRC_FROM:
        return 0, 0, 0
    total, magic, crc = struct.unpack(">III", data)
    return total, magic, crc


def index_record(data: bytes, at: int, commit_offset: int, queues: ConsumeQueues) -> int:
    """Check the record at `data[at:]`, which should sit at `commit_offset` in the log and
    be next in its topic's queue, and add it to `queues`; return its length. Recovery
    and a slave receiving the master's log both index records this way."""
    message = decode_record(data, at)
    if message.commit_offset != commit_offset:
        raise CorruptRecord(f"record claims offset {message.commit_offset}")
    expected = queues.count(message.topic)
    if message.queue_offset != expected:
        raise CorruptRecord(f"queue offset {message.queue_offset}, expected {expected}")
    length = record_length(data, at)
    queues.add(message.topic, commit_offset, length)
    return length


def starts_record(log: LogReader, offset: int) -> bool:
    """A record of this log starts at `offset` (its header has the magic and names `offset`)."""
    data = log.read(offset, _HEAD.size)
    if len(data) < _HEAD.size:
        return False
    _total, magic, _crc, commit_offset, _queue, _reconsume = _HEAD.unpack(data)
    return bool(magic == RECORD_MAGIC and commit_offset == offset)


def whole_records(log: LogReader, offset: int, end: int, max_bytes: int) -> bytes:
    """Bytes from `offset` cut at a record boundary: as many whole records as fit in
    `max_bytes` (at least one), never past `end`. Used to ship the log to a slave."""
    data = log.read(offset, min(max(max_bytes, 4), end - offset))
    pos = 0
    while len(data) - pos >= 4 and pos + record_length(data, pos) <= len(data):
        pos += record_length(data, pos)
    if pos == 0 and len(data) >= 4:
        return log.read(offset, record_length(data, 0))
    return data[:pos]


@dataclass
class Recovery:
    """What the recovery scan found: the valid end of the log, what it cut off and why,
    and the consume queues rebuilt from the surviving records."""

    end: int
    dropped_bytes: int
    reason: str
    queues: ConsumeQueues = field(default_factory=ConsumeQueues)
    scanned_from: int = 0
    """Where the record-by-record scan began: the checkpoint, 0 without one."""
    note: str = ""
    """Anything else recovery did that the broker's log should say (a rebuilt index)."""

    def describe(self) -> str:
        """One line for the broker's log."""
        start = f"{self.end} bytes, {self.queues.total()} records, scanned from offset {self.scanned_from}"
        note = f"; {self.note}" if self.note else ""
        if not self.dropped_bytes:
            return f"recovered commit log: {start}, clean{note}"
        return (
            f"recovered commit log: {start}{note}; "
            f"dropped {self.dropped_bytes} bytes of torn/corrupt tail at offset {self.end} ({self.reason})"
        )


def scan(log: LogReader, size: int, start: int = 0, queues: ConsumeQueues | None = None) -> Recovery:
    """Walk the records from `start` (a record boundary; `queues` indexes every record
    before it) and stop at the first one that is torn, corrupt or out of sequence;
    everything from there on is the tail to drop."""
    recovery = Recovery(end=start, dropped_bytes=0, reason="", queues=queues if queues is not None else ConsumeQueues(), scanned_from=start)
    buffer, base, pos = b"", start, start
    while pos < size:
        at = pos - base
        if len(buffer) - at < _HEAD.size or len(buffer) - at < record_length(buffer, at):
            # Refill from `pos` so that the buffer holds the whole record there.
            buffer, base = log.read(pos, SCAN_CHUNK), pos
            if len(buffer) >= 4 and record_length(buffer, 0) > len(buffer):
                buffer = log.read(pos, min(record_length(buffer, 0), MAX_RECORD_BYTES))
        try:
            pos += index_record(buffer, pos - base, pos, recovery.queues)
        except CorruptRecord as error:
            recovery.reason = f"{error} at offset {pos}"
            break
    recovery.end = pos
    recovery.dropped_bytes = size - pos
    return recovery


def recover(log: LogFile, start: int = 0, queues: ConsumeQueues | None = None) -> Recovery:
    """Scan `log` from `start` (see `scan`), truncate its bad tail, and make what remains
    durable. recovery.py decides where the scan may start and what a bad record below
    that point means.

    The sync matters after a process crash: the surviving bytes may still sit only in
    the page cache, and the core starts out believing everything it has is flushed.
    """
    recovery = scan(log, log.size(), start, queues)
    if recovery.dropped_bytes:
        log.truncate(recovery.end)
    log.sync()
    return recovery
