"""The page-cache tree behind the power-loss filesystem, driven without FUSE.

These run where mounts do not (no /dev/fuse): the durability rules live in the tree, the
mount only forwards to it.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path

from noloss.conformance.inject.faultfs_model import STORE, FileNode, PageCacheTree, SyncInFlight, sync_and_close


def _cut(tree: PageCacheTree, torn: bool = False) -> None:
    tree.cut(torn, random.Random(1), at=time.monotonic())


def _disk(backing: Path) -> dict[str, bytes]:
    """The backing directory's files (the disk), store folder aside."""
    found: dict[str, bytes] = {}
    for folder, dirs, names in os.walk(backing):
        dirs[:] = [d for d in dirs if d != STORE]
        for name in names:
            path = Path(folder) / name
            found["/" + str(path.relative_to(backing))] = path.read_bytes()
    return found


def _durable_file(tree: PageCacheTree, path: str, data: bytes) -> None:
    node = tree.create(path, 0o644)
    tree.write(node, 0, data)
    tree.fsync(node)


def test_a_directory_rename_is_durable_with_the_new_parent(tmp_path: Path) -> None:
    tree = PageCacheTree(tmp_path)
    tree.mkdir("/a", 0o755)
    tree.mkdir("/a/queue", 0o755)
    _durable_file(tree, "/a/queue/0", b"entries")
    tree.fsync_dir("/a/queue")
    tree.fsync_dir("/a")
    tree.fsync_dir("/")
    tree.mkdir("/b", 0o755)
    tree.fsync_dir("/")
    tree.rename("/a/queue", "/b/queue")

    _cut(tree)
    assert _disk(tmp_path) == {"/a/queue/0": b"entries"}

    tree.rename("/a/queue", "/b/queue")
    tree.fsync_dir("/b")
    assert _disk(tmp_path) == {"/b/queue/0": b"entries"}  # the old entry went with it
    _cut(tree)
    assert tree.readdir("/a") == [] and tree.readdir("/b/queue") == ["0"]


def test_data_fsynced_through_one_hard_link_is_durable_under_the_other(tmp_path: Path) -> None:
    tree = PageCacheTree(tmp_path)
    _durable_file(tree, "/one", b"v1")
    tree.link("/one", "/two")
    tree.fsync_dir("/")
    node = tree.file("/two")
    tree.write(node, 0, b"v2")
    tree.fsync(node)

    _cut(tree)
    assert tree.file("/one").read(0, 10) == b"v2" and tree.file("/two") is tree.file("/one")


def test_an_rmdir_is_undone_without_the_parent_fsync(tmp_path: Path) -> None:
    tree = PageCacheTree(tmp_path)
    tree.mkdir("/d", 0o755)
    tree.fsync_dir("/")
    tree.rmdir("/d")
    _cut(tree)
    assert tree.readdir("/") == ["d"]
    tree.rmdir("/d")
    tree.fsync_dir("/")
    _cut(tree)
    assert tree.readdir("/") == []


def test_a_torn_write_to_a_file_without_a_durable_name_leaves_nothing(tmp_path: Path) -> None:
    tree = PageCacheTree(tmp_path)
    node = tree.create("/new", 0o644)
    tree.write(node, 0, b"0123456789")

    report = tree.cut(True, random.Random(1), at=5.0)

    assert report.torn is not None and report.torn.path == "" and report.lost_paths == ("/new",)
    assert report.dropped_bytes == 10 and report.at == 5.0
    assert _disk(tmp_path) == {}


def test_the_torn_write_is_the_last_unsynced_one_not_the_last_one(tmp_path: Path) -> None:
    tree = PageCacheTree(tmp_path)
    for name in ("/a", "/b", "/c"):
        _durable_file(tree, name, b"")
    tree.fsync_dir("/")
    tree.write(tree.file("/a"), 0, b"older")
    tree.write(tree.file("/b"), 0, b"unsynced-b")
    latest = tree.file("/c")
    tree.write(latest, 0, b"synced-c")
    tree.fsync(latest)

    report = tree.cut(True, random.Random(1), at=time.monotonic())

    assert report.torn is not None and (report.torn.path, report.torn.length) == ("/b", 10)
    kept = tree.file("/b").read(0, 100)
    assert 0 < len(kept) < 10 and b"unsynced-b".startswith(kept)
    assert tree.file("/a").read(0, 100) == b"" and tree.file("/c").read(0, 100) == b"synced-c"


def _log_with_a_durable_record(tree: PageCacheTree) -> FileNode:
    log = tree.create("/log", 0o644)
    tree.write(log, 0, b"first;")
    tree.fsync(log)
    tree.fsync_dir("/")
    return log


def test_a_cut_during_a_slow_fsync_loses_what_it_was_making_durable(tmp_path: Path) -> None:
    tree = PageCacheTree(tmp_path)
    log = _log_with_a_durable_record(tree)
    tree.write(log, 6, b"second;")
    fd, in_flight = tree.start_sync(log)  # the device is still writing when the power goes
    sync_and_close(fd)
    tree.write(log, 13, b"third;")  # the page cache goes on meanwhile

    report = tree.cut(False, random.Random(1), at=time.monotonic())
    tree.finish_sync(in_flight)  # too late: the cut came first

    assert _disk(tmp_path) == {"/log": b"first;"} and tree.file("/log").read(0, 100) == b"first;"
    assert report.reverted_paths == ("/log",) and report.dropped_bytes == len(b"second;third;")


def test_a_cut_after_a_slow_fsync_returns_keeps_its_data(tmp_path: Path) -> None:
    tree = PageCacheTree(tmp_path)
    log = _log_with_a_durable_record(tree)
    tree.write(log, 6, b"second;")
    fd, in_flight = tree.start_sync(log)
    sync_and_close(fd)
    tree.write(log, 13, b"third;")
    tree.finish_sync(in_flight)

    report = tree.cut(False, random.Random(1), at=time.monotonic())

    assert tree.file("/log").read(0, 100) == b"first;second;" and report.dropped_bytes == len(b"third;")


def test_an_fsync_that_returns_after_the_cut_was_asked_for_is_lost(tmp_path: Path) -> None:
    """The harness kills the broker, then asks for the cut at `at`: an fsync that returns
    between the two returned to a dead process, and the power was gone at `at`."""
    tree = PageCacheTree(tmp_path)
    log = _log_with_a_durable_record(tree)
    tree.write(log, 6, b"second;")
    fd, in_flight = tree.start_sync(log)
    sync_and_close(fd)
    asked = time.monotonic()
    time.sleep(0.001)
    tree.finish_sync(in_flight)

    tree.cut(False, random.Random(1), at=asked)

    assert tree.file("/log").read(0, 100) == b"first;"


def _two_syncs_in_flight(tree: PageCacheTree, log: FileNode, between: Callable[[], object]) -> tuple[SyncInFlight, SyncInFlight]:
    """Append to `log`, start an fsync, run `between`, start another; neither returns yet."""
    tree.write(log, 6, b"second;")
    first_fd, first = tree.start_sync(log)
    between()
    second_fd, second = tree.start_sync(log)
    for fd in (first_fd, second_fd):
        sync_and_close(fd)
    return first, second


def test_a_returned_fsync_makes_an_earlier_one_of_its_file_durable(tmp_path: Path) -> None:
    tree = PageCacheTree(tmp_path)
    log = _log_with_a_durable_record(tree)
    # The rewrite covers a byte range the first write-back overwrote.
    first, second = _two_syncs_in_flight(tree, log, lambda: tree.write(log, 0, b"FIRST;"))
    tree.finish_sync(second)  # the later one returns first: the disk wrote both

    tree.cut(False, random.Random(1), at=time.monotonic())
    tree.finish_sync(first)

    assert tree.file("/log").read(0, 100) == b"FIRST;second;"


def test_two_fsyncs_cut_before_either_returns_leave_the_file_as_before_both(tmp_path: Path) -> None:
    tree = PageCacheTree(tmp_path)
    log = _log_with_a_durable_record(tree)

    def rewrite() -> None:
        log.truncate(3)
        tree.write(log, 3, b"REWRITTEN")

    _two_syncs_in_flight(tree, log, rewrite)

    report = tree.cut(True, random.Random(1), at=time.monotonic())

    # Both undone; the torn write is the in-flight one's last write, onto the old file.
    assert report.torn is not None and (report.torn.path, report.torn.offset, report.torn.length) == ("/log", 3, 9)
    expected = bytearray(b"first;")
    expected[3 : 3 + report.torn.kept] = b"REWRITTEN"[: report.torn.kept]
    assert 0 < report.torn.kept < 9 and tree.file("/log").read(0, 100) == bytes(expected)
