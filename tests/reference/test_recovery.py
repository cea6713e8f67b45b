"""Recovery from the checkpoint: a bad record below it stops the node with the file and
byte offset and leaves the file alone; a torn tail above it is cut and reported; the
consume queues come back from their files; files created are made durable by a
directory fsync."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from noloss.reference import log, storage
from noloss.reference.checkpoint import CHECKPOINT_FILE, Checkpointer, queue_file, read_checkpoint
from noloss.reference.node import LOG_NAME
from noloss.reference.recovery import LogDamaged, recover_node
from noloss.reference.storage import FileStorage, LogFile, SimStorage, Storage

from test_commit_log import _append_messages


def _checkpointed_log(store: Storage, count: int, checkpointed: int) -> tuple[LogFile, list[int]]:
    """A commit log of `count` records, fsynced, whose first `checkpointed` records a
    checkpoint covers; return the file and each record's start."""
    file = store.open_log(LOG_NAME)
    starts = _append_messages(file, count)
    file.sync()
    recovered = recover_node(store, file, LOG_NAME)
    covered = starts[checkpointed] if checkpointed < count else file.size()
    checkpointer = Checkpointer(store, file, recovered.checkpoint)
    pending = checkpointer.collect(recovered.recovery.queues, covered)
    assert pending is not None
    checkpointer.write(pending)
    checkpointer.close()
    return file, starts


def _flip(path: Path, at: int, bit: int = 0x01) -> bytes:
    data = bytearray(path.read_bytes())
    data[at] ^= bit
    path.write_bytes(bytes(data))
    return bytes(data)


@pytest.mark.parametrize(("record", "within"), [(7, 40), (0, 0), (0, 30), (19, 50), (7, 4), (12, 1)])
def test_a_bad_record_below_the_checkpoint_refuses_to_start_and_keeps_the_file(tmp_path: Path, record: int, within: int) -> None:
    store = FileStorage(str(tmp_path))
    file, starts = _checkpointed_log(store, 20, 20)
    file.close()
    path = tmp_path / LOG_NAME
    damaged = _flip(path, starts[record] + within)
    file = store.open_log(LOG_NAME)
    with pytest.raises(LogDamaged) as raised:
        recover_node(store, file, LOG_NAME)
    message = str(raised.value)
    assert message.startswith(f"{path}: damaged record at byte offset {starts[record]} (")
    assert message.endswith(f"below the {len(damaged)} bytes the checkpoint says were fsynced; refusing to start")
    assert "\n" not in message
    assert path.read_bytes() == damaged  # nothing truncated, nothing rewritten


def test_a_log_shorter_than_its_checkpoint_refuses_to_start(tmp_path: Path) -> None:
    store = FileStorage(str(tmp_path))
    file, starts = _checkpointed_log(store, 20, 20)
    size = file.size()
    file.truncate(starts[-1] + 3)
    with pytest.raises(LogDamaged, match=f"{starts[-1] + 3} bytes, but the checkpoint says {size} were fsynced"):
        recover_node(store, file, LOG_NAME)


@pytest.mark.parametrize("damage", ["torn", "flip"])
def test_a_bad_last_record_above_the_checkpoint_is_a_torn_tail_cut_and_reported(tmp_path: Path, damage: str) -> None:
    store = FileStorage(str(tmp_path))
    file, starts = _checkpointed_log(store, 20, 19)
    size = file.size()
    file.close()
    path = tmp_path / LOG_NAME
    if damage == "torn":
        os.truncate(path, starts[-1] + 11)
        dropped = 11
    else:
        _flip(path, starts[-1] + 40)
        dropped = size - starts[-1]
    recovery = recover_node(store, store.open_log(LOG_NAME), LOG_NAME).recovery
    assert (recovery.scanned_from, recovery.end, recovery.dropped_bytes) == (starts[-1], starts[-1], dropped)
    assert recovery.queues.total() == 19
    assert f"dropped {dropped} bytes of torn/corrupt tail at offset {starts[-1]}" in recovery.describe()
    assert os.path.getsize(path) == starts[-1]


def test_recovery_loads_the_queues_below_the_checkpoint_and_scans_only_after_it() -> None:
    store = SimStorage()
    file, starts = _checkpointed_log(store, 30, 25)
    full = log.scan(file, file.size()).queues
    recovery = recover_node(store, file, LOG_NAME).recovery
    assert recovery.scanned_from == starts[25]
    for topic in ("t", "u"):
        assert recovery.queues.slice(topic, 0, 99) == full.slice(topic, 0, 99)
    # The queue files hold exactly the entries below the checkpoint.
    covered = read_checkpoint(store).queues
    assert sum(count for count, _ in covered.values()) == 25


def test_a_damaged_queue_file_is_rebuilt_from_the_log_and_said_so() -> None:
    store = SimStorage()
    file, _ = _checkpointed_log(store, 30, 30)
    queue = store.open_log(queue_file("t"))
    queue.cache[5] ^= 0xFF
    recovery = recover_node(store, file, LOG_NAME).recovery
    assert recovery.scanned_from == 0
    assert recovery.queues.total() == 30
    assert "rebuilt from the log" in recovery.describe()


def test_a_checkpoint_that_is_not_one_refuses_to_start(tmp_path: Path) -> None:
    store = FileStorage(str(tmp_path))
    file, _ = _checkpointed_log(store, 5, 5)
    (tmp_path / CHECKPOINT_FILE).write_bytes(b"{not json")
    with pytest.raises(LogDamaged, match=f"^{tmp_path / CHECKPOINT_FILE}: not a checkpoint"):
        recover_node(store, file, LOG_NAME)


def test_checkpoints_extend_the_queue_files_and_survive_a_restart() -> None:
    store = SimStorage()
    file = store.open_log(LOG_NAME)
    recovered = recover_node(store, file, LOG_NAME)
    checkpointer = Checkpointer(store, file, recovered.checkpoint)
    queues = recovered.recovery.queues
    for first in (0, 10, 20):
        for start in _append_messages(file, 10, first):
            message = log.decode_record(file.read(start, 1000))
            queues.add(message.topic, start, len(log.encode_record(message.topic, message.key, message.body, start, message.queue_offset)))
        file.sync()
        pending = checkpointer.collect(queues, file.size())
        assert pending is not None
        checkpointer.write(pending)
    assert checkpointer.collect(queues, file.size()) is None
    recovery = recover_node(store, file, LOG_NAME).recovery
    assert (recovery.scanned_from, recovery.end, recovery.queues.total()) == (file.size(), file.size(), 30)


def test_a_reset_checkpoint_lets_the_log_be_cut_below_it_and_the_next_one_starts_over() -> None:
    store = SimStorage()
    file, starts = _checkpointed_log(store, 20, 20)
    checkpointer = Checkpointer(store, file, read_checkpoint(store))
    checkpointer.reset()
    file.truncate(starts[10])
    recovered = recover_node(store, file, LOG_NAME)
    assert (recovered.recovery.scanned_from, recovered.recovery.end, recovered.recovery.queues.total()) == (0, starts[10], 10)
    pending = checkpointer.collect(recovered.recovery.queues, file.size())
    assert pending is not None
    checkpointer.write(pending)
    assert sum(count for count, _ in read_checkpoint(store).queues.values()) == 10
    assert recover_node(store, file, LOG_NAME).recovery.scanned_from == starts[10]


def test_creating_a_file_fsyncs_its_directory_and_reopening_does_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real_open, real_fsync = os.open, os.fsync
    paths: dict[int, str] = {}

    def tracking_open(path: str, flags: int, mode: int = 0o777) -> int:
        fd = real_open(path, flags, mode)
        paths[fd] = str(path)
        calls.append(("open", str(path)))
        return fd

    def tracking_fsync(fd: int) -> None:
        calls.append(("fsync", paths.get(fd, "?")))
        real_fsync(fd)

    monkeypatch.setattr(storage.os, "open", tracking_open)
    monkeypatch.setattr(storage.os, "fsync", tracking_fsync)
    FileStorage(str(tmp_path / "new"))
    assert calls == [("open", str(tmp_path)), ("fsync", str(tmp_path))]  # the new directory's entry
    calls.clear()
    file = FileStorage(str(tmp_path)).open_log("commitlog")
    file.close()
    assert calls == [("open", str(tmp_path / "commitlog")), ("open", str(tmp_path)), ("fsync", str(tmp_path))]
    calls.clear()
    FileStorage(str(tmp_path)).open_log("commitlog").close()
    assert ("fsync", str(tmp_path)) not in calls
    FileStorage(str(tmp_path)).write_meta("m", b"x")
    assert calls[-1] == ("fsync", str(tmp_path))
