"""The power-loss filesystem, mounted: what survives a cut is exactly what was made durable.

Every test here mounts a real FUSE filesystem; where mounts do not work, each skips with
the one-line reason `unavailable_reason()` gives.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from noloss.conformance.inject.faultfs import PowerLossFS, unavailable_reason
from noloss.reference.storage import sync_directory


@pytest.fixture(scope="module")
def mounted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PowerLossFS]:
    """One mount for the module (mounting costs a process start); each test gets a folder."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    scratch = tmp_path_factory.mktemp("faultfs")
    with PowerLossFS(scratch / "disk", scratch / "mnt", seed=3) as fs:
        yield fs


@dataclass(frozen=True)
class Disk:
    """A test's own durable folder on the shared mount, starting with nothing unsynced."""

    fs: PowerLossFS
    root: Path
    cuts_before: int

    def path(self, inside: str) -> str:
        """`inside` (a path under `root`) as the filesystem names it in a CutReport."""
        return f"/{self.root.name}{inside}"


@pytest.fixture
def disk(mounted: PowerLossFS, request: pytest.FixtureRequest) -> Disk:
    mounted.power_cut()  # whatever an earlier test left unsynced is gone
    root = mounted.mountpoint / request.node.name
    root.mkdir()
    sync_directory(mounted.mountpoint)
    return Disk(mounted, root, mounted.stats().cuts)


def _write(path: Path, data: bytes, *, sync: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, data)
        if sync:
            os.fdatasync(fd)
    finally:
        os.close(fd)


def test_fsynced_data_survives_a_cut_and_unsynced_data_does_not(disk: Disk) -> None:
    log = disk.root / "log"
    _write(log, b"durable;", sync=True)
    sync_directory(disk.root)
    _write(log, b"volatile", sync=False)
    assert log.read_bytes() == b"durable;volatile"  # the page cache is what processes read
    assert disk.fs.stats().unsynced_bytes == 8

    report = disk.fs.power_cut()

    assert log.read_bytes() == b"durable;"
    assert report.reverted_paths == (disk.path("/log"),) and report.lost_paths == ()
    assert report.dropped_bytes == 8 and report.torn is None
    assert disk.fs.stats().unsynced_bytes == 0 and disk.fs.stats().cuts == disk.cuts_before + 1


@pytest.mark.parametrize("flag", ["O_DSYNC", "O_SYNC"])
def test_a_write_through_a_synchronous_descriptor_survives_a_cut(disk: Disk, flag: str) -> None:
    # The kernel follows each such write with an fsync request to the filesystem.
    log = disk.root / "log"
    _write(log, b"", sync=True)
    sync_directory(disk.root)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | getattr(os, flag))
    try:
        os.write(fd, b"durable")
    finally:
        os.close(fd)
    _write(log, b";volatile", sync=False)

    disk.fs.power_cut()

    assert log.read_bytes() == b"durable"


def test_a_torn_last_write_keeps_a_strict_prefix_of_it(disk: Disk) -> None:
    log = disk.root / "log"
    _write(log, b"base", sync=True)
    sync_directory(disk.root)
    record = bytes(range(200))
    _write(log, record, sync=False)

    report = disk.fs.power_cut(torn_last_write=True)

    assert report.torn is not None
    assert (report.torn.path, report.torn.offset, report.torn.length) == (disk.path("/log"), 4, 200)
    kept = log.read_bytes()[4:]
    assert 0 < len(kept) < len(record) and kept == record[: len(kept)]
    assert len(kept) == report.torn.kept and report.dropped_bytes == 200 - len(kept)


def test_a_new_file_vanishes_unless_its_directory_was_fsynced(disk: Disk) -> None:
    (disk.root / "old").mkdir()
    sync_directory(disk.root)
    orphan = disk.root / "old" / "orphan"
    kept = disk.root / "old" / "kept"
    _write(orphan, b"data fsynced, name not", sync=True)
    _write(kept, b"data and name fsynced", sync=True)
    # Make only `kept` durable: fsync the directory, then add `orphan` afresh after it.
    os.rename(orphan, disk.root / "old" / "later")
    sync_directory(disk.root / "old")
    os.rename(disk.root / "old" / "later", orphan)

    report = disk.fs.power_cut()

    assert sorted(os.listdir(disk.root / "old")) == ["kept", "later"]
    assert kept.read_bytes() == b"data and name fsynced"
    assert report.lost_paths == (disk.path("/old/orphan"),) and report.resurrected_paths == (disk.path("/old/later"),)


def test_a_new_directory_needs_its_parent_fsynced(disk: Disk) -> None:
    inner = disk.root / "a" / "b"
    inner.mkdir(parents=True)
    _write(inner / "f", b"x", sync=True)
    sync_directory(inner)
    sync_directory(disk.root / "a")  # a/b durable inside a; but a itself is not in the root yet
    disk.fs.power_cut()
    assert os.listdir(disk.root) == []

    inner.mkdir(parents=True)
    _write(inner / "f", b"x", sync=True)
    sync_directory(inner)
    sync_directory(disk.root / "a")
    sync_directory(disk.root)
    disk.fs.power_cut()
    assert (inner / "f").read_bytes() == b"x"


def test_rename_over_a_file_is_durable_only_after_the_directorysync_directory(disk: Disk) -> None:
    meta = disk.root / "meta"
    _write(meta, b"old", sync=True)
    sync_directory(disk.root)
    _write(disk.root / "meta.tmp", b"new", sync=True)
    os.replace(disk.root / "meta.tmp", meta)
    assert meta.read_bytes() == b"new"

    disk.fs.power_cut()
    assert meta.read_bytes() == b"old" and os.listdir(disk.root) == ["meta"]

    _write(disk.root / "meta.tmp", b"new", sync=True)
    os.replace(disk.root / "meta.tmp", meta)
    sync_directory(disk.root)
    disk.fs.power_cut()
    assert meta.read_bytes() == b"new" and os.listdir(disk.root) == ["meta"]


def test_an_unlink_without_a_directory_fsync_comes_back(disk: Disk) -> None:
    _write(disk.root / "segment", b"entries", sync=True)
    sync_directory(disk.root)
    os.unlink(disk.root / "segment")
    report = disk.fs.power_cut()
    assert (disk.root / "segment").read_bytes() == b"entries"
    assert report.resurrected_paths == (disk.path("/segment"),)


def test_an_unsynced_truncate_is_undone_and_a_synced_one_is_kept(disk: Disk) -> None:
    log = disk.root / "log"
    _write(log, b"0123456789", sync=True)
    sync_directory(disk.root)
    os.truncate(log, 4)
    _write(log, b"ab", sync=False)
    assert log.read_bytes() == b"0123ab"
    disk.fs.power_cut()
    assert log.read_bytes() == b"0123456789"

    fd = os.open(log, os.O_RDWR)
    os.ftruncate(fd, 4)
    os.pwrite(fd, b"ab", 6)  # a hole between the cut-off size and the write reads as zeros
    os.fsync(fd)
    os.close(fd)
    disk.fs.power_cut()
    assert log.read_bytes() == b"0123\0\0ab"


def test_a_handle_opened_before_a_cut_is_dead_after_it(disk: Disk) -> None:
    log = disk.root / "log"
    _write(log, b"x", sync=True)
    sync_directory(disk.root)
    fd = os.open(log, os.O_WRONLY)
    try:
        disk.fs.power_cut()
        with pytest.raises(OSError):
            os.write(fd, b"after the cut")
    finally:
        os.close(fd)
    assert log.read_bytes() == b"x"


def test_disk_loss_is_a_cut_after_wiping_the_backing_folder(disk: Disk) -> None:
    _write(disk.root / "log", b"durable", sync=True)
    sync_directory(disk.root)
    shutil.rmtree(disk.fs.backing / disk.root.name)
    report = disk.fs.power_cut()
    assert not disk.root.exists()
    assert report.lost_paths == (disk.path(""), disk.path("/log"))


# The writer appends numbered 64-byte records and fdatasyncs after every third: whatever
# instant it is killed at, the durable file is a whole number of synced groups.
_WRITER = textwrap.dedent(
    """
    import os, sys
    path = sys.argv[1]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    dir_fd = os.open(os.path.dirname(path), os.O_RDONLY)
    os.fsync(dir_fd)
    print("ready", flush=True)
    for i in range(1_000_000):
        os.write(fd, f"{i:063d}\\n".encode())
        if i % 3 == 2:
            os.fdatasync(fd)
    """
)


def test_a_killed_writer_loses_exactly_its_unsynced_tail(disk: Disk) -> None:
    log = disk.root / "log"
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(log)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
    time.sleep(0.3)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    writer.stdout.close()

    seen = log.read_bytes()  # a killed process's writes stay in the page cache
    unsynced = disk.fs.stats().unsynced_bytes
    report = disk.fs.power_cut()
    durable = log.read_bytes()

    assert len(seen) % 64 == 0 and len(seen) >= 64 * 3  # it wrote for a while
    assert durable == seen[: len(seen) - unsynced]
    # At most a whole group: killed after its third write, before its fdatasync was served.
    assert report.dropped_bytes == unsynced and unsynced <= 3 * 64
    assert len(durable) % (3 * 64) == 0
