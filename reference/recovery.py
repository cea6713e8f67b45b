"""Start-up recovery of a node's commit log from its checkpoint.

Who does what: node.open_node calls `recover_node` before it builds a core. Like
RocketMQ's recovery it starts from the checkpoint instead of re-reading every record:

1. the log's bytes below the checkpoint must have the CRC the checkpoint recorded (one
   pass of CRC32C over the file, in large chunks). If they do not, a record the broker
   fsynced — and may have acknowledged — is damaged: recovery refuses to start, naming
   the file and the byte offset of the first bad record. It never truncates there;
2. the consume queues below the checkpoint are loaded from their files (rebuilt by a full
   scan, and said so, if a file disagrees with the checkpoint: they are derived data);
3. the records after the checkpoint are checked one by one; the first torn or corrupt
   one and everything after it is the tail a crash left unflushed: truncated, reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from noloss.reference import log
from noloss.reference.checkpoint import Checkpoint, LogDamaged, load_queues, log_crc, read_checkpoint
from noloss.reference.storage import LogFile, Storage

__all__ = ["LogDamaged", "Recovered", "recover_node"]


@dataclass
class Recovered:
    """The recovered log and the checkpoint later checkpoints continue from."""

    recovery: log.Recovery
    checkpoint: Checkpoint


def recover_node(storage: Storage, file: LogFile, name: str) -> Recovered:
    """Recover the commit log `name` (opened as `file`) of `storage`; raise LogDamaged
    with a one-line reason if a record below the checkpoint is bad."""
    checkpoint = read_checkpoint(storage)
    where = storage.path(name)
    size = file.size()
    if checkpoint.log_offset > size:
        raise LogDamaged(
            f"{where}: {size} bytes, but the checkpoint says {checkpoint.log_offset} were fsynced; "
            "the file lost durable records; refusing to start"
        )
    if log_crc(file, 0, checkpoint.log_offset) != checkpoint.log_crc:
        raise LogDamaged(_locate_damage(file, where, checkpoint.log_offset))
    queues = load_queues(storage, checkpoint)
    if queues is None:
        recovery = log.recover(file)
        recovery.note = "consume-queue files disagreed with the checkpoint: rebuilt from the log"
        return Recovered(recovery, Checkpoint())
    return Recovered(log.recover(file, checkpoint.log_offset, queues), checkpoint)


def _locate_damage(file: LogFile, where: str, durable: int) -> str:
    """The one-line error for a log whose bytes below `durable` fail the checkpoint's CRC:
    it names the first record that fails its own checks."""
    found = log.scan(file, durable)
    if found.end < durable:
        return (
            f"{where}: damaged record at byte offset {found.end} ({found.reason.rsplit(' at offset', 1)[0]}), "
            f"below the {durable} bytes the checkpoint says were fsynced; refusing to start"
        )
    return f"{where}: bytes below offset {durable} differ from the checkpoint's CRC; refusing to start"
