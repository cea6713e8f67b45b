"""The page-cache tree behind the power-loss filesystem, driven without FUSE.

These run where mounts do not (no /dev/fuse): the durability rules live in the tree, the
mount only forwards to it.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from noloss.conformance.faultfs_model import STORE, PageCacheTree


def _cut(tree: PageCacheTree, torn: bool = False) -> None:
    tree.cut(torn, random.Random(1), at=0.0)


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

    report = tree.cut(True, random.Random(1), at=0.0)

    assert report.torn is not None and (report.torn.path, report.torn.length) == ("/b", 10)
    kept = tree.file("/b").read(0, 100)
    assert 0 < len(kept) < 10 and b"unsynced-b".startswith(kept)
    assert tree.file("/a").read(0, 100) == b"" and tree.file("/c").read(0, 100) == b"synced-c"
