"""The commit log's recovery scan keeps every whole record and drops only a bad tail."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from noloss.reference import log
from noloss.reference.storage import FileStorage, LogFile, SimStorage


def _append_messages(file: LogFile, count: int, first: int = 0) -> list[int]:
    """Append messages `first`..`first+count-1` (every third to topic "u", the rest to
    "t", queue offsets in sequence); return each record's start offset."""
    starts = []
    for i in range(first, first + count):
        topic, queue_offset = ("u", i // 3) if i % 3 == 0 else ("t", i - i // 3 - 1)
        starts.append(file.size())
        file.append(log.encode_record(topic, f"k{i}", b"body %d" % i, file.size(), queue_offset))
    return starts


def test_clean_log_recovers_every_record(tmp_path: Path) -> None:
    _, starts, end = _closed_log(tmp_path, 50)
    file = FileStorage(str(tmp_path)).open_log("commitlog")
    recovery = log.recover(file)
    assert (recovery.end, recovery.dropped_bytes) == (end, 0)
    assert recovery.queues.count("t") + recovery.queues.count("u") == 50
    assert log.decode_record(file.read(starts[7], 1000)).key == "k7"
    assert "clean" in recovery.describe()


def _closed_log(directory: Path, count: int) -> tuple[Path, list[int], int]:
    """A commit log of `count` messages on disk: its path, record starts and size."""
    file = FileStorage(str(directory)).open_log("commitlog")
    starts = _append_messages(file, count)
    size = file.size()
    file.close()
    return directory / "commitlog", starts, size


@pytest.mark.parametrize("cut", [1, 4, 20, 33])
def test_truncated_last_record_is_dropped_and_reported(tmp_path: Path, cut: int) -> None:
    path, starts, size = _closed_log(tmp_path, 20)
    os.truncate(path, starts[-1] + cut)
    recovery = log.recover(FileStorage(str(tmp_path)).open_log("commitlog"))
    assert recovery.end == starts[-1]
    assert recovery.dropped_bytes == cut
    assert recovery.queues.total() == 19
    assert f"dropped {cut} bytes" in recovery.describe()
    assert "torn" in recovery.reason
    assert os.path.getsize(path) == starts[-1] < size


@pytest.mark.parametrize("where", [0, 5, 13, 30, -1])
def test_flipped_byte_in_last_record_drops_only_that_record(tmp_path: Path, where: int) -> None:
    path, starts, size = _closed_log(tmp_path, 20)
    data = bytearray(path.read_bytes())
    data[starts[-1] + where if where >= 0 else where] ^= 0x01
    path.write_bytes(bytes(data))
    recovery = log.recover(FileStorage(str(tmp_path)).open_log("commitlog"))
    assert recovery.end == starts[-1]
    assert recovery.dropped_bytes == size - starts[-1]
    assert recovery.queues.total() == 19
    assert f"at offset {starts[-1]}" in recovery.reason


def test_sim_power_loss_drops_unflushed_bytes_and_recovery_cuts_the_torn_write() -> None:
    storage = SimStorage()
    file = storage.open_log("commitlog")
    starts = _append_messages(file, 10)
    file.sync()
    durable = file.size()
    _append_messages(file, 5, first=10)
    storage.power_loss(torn_bytes=7)
    file = storage.open_log("commitlog")
    assert file.size() == durable + 7
    recovery = log.recover(file)
    assert (recovery.end, recovery.dropped_bytes, recovery.queues.total()) == (durable, 7, 10)
    assert len(starts) == 10


def test_whole_records_cuts_at_a_boundary() -> None:
    file = SimStorage().open_log("commitlog")
    starts = _append_messages(file, 5)
    chunk = log.whole_records(file, 0, file.size(), starts[2] + 3)
    assert len(chunk) == starts[2]
    assert len(log.whole_records(file, 0, file.size(), 1)) == starts[1]
