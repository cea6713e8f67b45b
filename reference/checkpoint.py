"""The durable checkpoint: how far the commit log is known to be on disk, and the
consume-queue files that index it up to there (RocketMQ's StoreCheckpoint and
ConsumeQueue files).

Who does what: the shell calls `Checkpointer.collect` on its event loop after an fsync of
the log (it reads the in-memory queues) and `Checkpointer.write` on its fsync thread;
recovery.py reads the checkpoint back on start. The checkpoint lets a restart (1) skip
the record-by-record scan below it, loading the queues from their files instead, and
(2) tell damage from a torn tail: the log was fsynced up to `log_offset` before the
checkpoint named it, so a bad record below that offset is damage, never a torn write.

Files (all beside the commit log):

    checkpoint               JSON: log_offset, log_crc (CRC32C of the log's bytes
                             [0, log_offset)), queues: {topic: [entries, crc]}
    consumequeue-<hex topic> per entry: i64 commit_offset, i64 record length (big-endian);
                             `entries` of them are covered by the checkpoint, whose crc
                             is the CRC32C of their bytes
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

import crc32c

from noloss.reference.index import ConsumeQueues
from noloss.reference.storage import LogFile, Storage

CHECKPOINT_FILE = "checkpoint"
QUEUE_ENTRY = struct.Struct(">qq")
CRC_CHUNK = 4 * 1024 * 1024


class LogDamaged(Exception):
    """The node's files contradict its checkpoint; the message is the one-line reason."""


def queue_file(topic: str) -> str:
    """The name of `topic`'s consume-queue file (hex: a topic may hold any character)."""
    return "consumequeue-" + topic.encode().hex()


@dataclass(frozen=True)
class Checkpoint:
    """What was durable when the checkpoint was written."""

    log_offset: int = 0
    log_crc: int = 0
    queues: dict[str, tuple[int, int]] = field(default_factory=dict)
    """topic -> (entries covered, CRC32C of those entries' bytes in its queue file)."""

    def dump(self) -> bytes:
        queues = {topic: list(entry) for topic, entry in sorted(self.queues.items())}
        return json.dumps({"log_offset": self.log_offset, "log_crc": self.log_crc, "queues": queues}).encode()

    @classmethod
    def parse(cls, data: bytes, where: str) -> Checkpoint:
        """Read a checkpoint file's content; LogDamaged names `where` if it is not one."""
        try:
            raw = json.loads(data)
            queues = {str(topic): (int(count), int(crc)) for topic, (count, crc) in raw["queues"].items()}
            checkpoint = cls(int(raw["log_offset"]), int(raw["log_crc"]), queues)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise LogDamaged(f"{where}: not a checkpoint ({type(error).__name__}: {error}); refusing to start") from None
        if checkpoint.log_offset < 0 or any(count < 0 for count, _ in queues.values()):
            raise LogDamaged(f"{where}: negative offset or count; refusing to start")
        return checkpoint


def read_checkpoint(storage: Storage) -> Checkpoint:
    """The last checkpoint written, or the empty one (nothing known durable)."""
    data = storage.read_meta(CHECKPOINT_FILE)
    return Checkpoint() if data is None else Checkpoint.parse(data, storage.path(CHECKPOINT_FILE))


def log_crc(file: LogFile, start: int, end: int, crc: int = 0) -> int:
    """CRC32C of the log's bytes [start, end), continuing `crc` (of the bytes before)."""
    pos = start
    while pos < end:
        chunk = file.read(pos, min(CRC_CHUNK, end - pos))
        if not chunk:
            break
        crc = crc32c.crc32c(chunk, crc)
        pos += len(chunk)
    return crc


def load_queues(storage: Storage, checkpoint: Checkpoint) -> ConsumeQueues | None:
    """The consume queues as the checkpoint covers them, or None if a queue file is
    short or its bytes differ from the checkpoint's CRC (the caller rebuilds them)."""
    queues = ConsumeQueues()
    for topic, (count, crc) in checkpoint.queues.items():
        file = storage.open_log(queue_file(topic))
        data = file.read(0, count * QUEUE_ENTRY.size)
        file.close()
        if len(data) != count * QUEUE_ENTRY.size or crc32c.crc32c(data) != crc:
            return None
        queues.load(topic, list(QUEUE_ENTRY.iter_unpack(data)))
    return queues


@dataclass(frozen=True)
class Pending:
    """A checkpoint collected on the event loop, for `Checkpointer.write` to make durable."""

    log_offset: int
    entries: dict[str, list[tuple[int, int]]]


class Checkpointer:
    """Extends the queue files and the checkpoint as the log is flushed."""

    def __init__(self, storage: Storage, log: LogFile, start: Checkpoint) -> None:
        self.storage = storage
        self.log = log
        self.current = start
        self._files: dict[str, LogFile] = {}

    def collect(self, queues: ConsumeQueues, flushed: int) -> Pending | None:
        """On the event loop: the queue entries whose records end by `flushed` that no
        checkpoint covers yet, or None when there is nothing new."""
        if flushed <= self.current.log_offset:
            return None
        entries: dict[str, list[tuple[int, int]]] = {}
        for topic in queues.topics():
            done = self.current.queues.get(topic, (0, 0))[0]
            new = queues.slice(topic, done, queues.count(topic))
            kept = [entry for entry in new if entry[0] + entry[1] <= flushed]
            if kept:
                entries[topic] = kept
        return Pending(flushed, entries)

    def write(self, pending: Pending) -> Checkpoint:
        """On the fsync thread: append the entries to the queue files, fsync them, then
        replace the checkpoint. The log must already be fsynced up to pending.log_offset."""
        queues = dict(self.current.queues)
        for topic, entries in pending.entries.items():
            count, crc = queues.get(topic, (0, 0))
            file = self._file(topic, count)
            data = b"".join(QUEUE_ENTRY.pack(*entry) for entry in entries)
            file.append(data)
            file.sync()
            queues[topic] = (count + len(entries), crc32c.crc32c(data, crc))
        crc = log_crc(self.log, self.current.log_offset, pending.log_offset, self.current.log_crc)
        checkpoint = Checkpoint(pending.log_offset, crc, queues)
        self.storage.write_meta(CHECKPOINT_FILE, checkpoint.dump())
        self.current = checkpoint
        return checkpoint

    def reset(self) -> None:
        """Forget every checkpoint: call it before cutting the log below the current one
        (a slave whose log diverged from its master's). Otherwise the next start would
        find the log shorter than its checkpoint and refuse, rightly, to start. The next
        `write` rebuilds the queue files from the start."""
        self.storage.write_meta(CHECKPOINT_FILE, Checkpoint().dump())
        for topic in self.current.queues:
            self._file(topic, 0)
        self.current = Checkpoint()

    def _file(self, topic: str, count: int) -> LogFile:
        """The queue file of `topic`, cut back to the `count` entries the checkpoint covers
        (a crash may have left entries past them)."""
        file = self._files.get(topic)
        if file is None:
            file = self.storage.open_log(queue_file(topic))
            self._files[topic] = file
        if file.size() != count * QUEUE_ENTRY.size:
            file.truncate(count * QUEUE_ENTRY.size)
        return file

    def close(self) -> None:
        """Release the queue files."""
        for file in self._files.values():
            file.close()
        self._files.clear()
