"""The power-loss filesystem's own process: mounts a `PageCacheTree` with mfusepy.

Run as `python -m <package>.faultfs_mount BACKING MOUNTPOINT SEED FSYNC_DELAY_MS` by `faultfs.PowerLossFS`,
never by hand. It runs in its own process so that a broker killed mid-write (or a crash
of this process) cannot take the other down, and so that a SIGKILLed client's pending
FUSE requests are this process's business only.

Control channel (see `child`): the readiness line once the kernel has the mount, then
    {"op": "cut", "torn": false, "at": MONOTONIC}  ->  {"ok": true, "report": {...CutReport}}
    {"op": "stats"}                                ->  {"ok": true, "stats": {...FsStats}}
and on `quit` or the end of stdin, it unmounts and exits.
"""

from __future__ import annotations

import ctypes.util
import dataclasses
import errno
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .child import serve
from .faultfs_model import DirNode, FileNode, PageCacheTree, sync_and_close

# No kernel caching of names or attributes: after a cut, the next lookup must see the disk.
# `hard_remove`: unlink really unlinks (no .fuse_hidden rename) - open handles keep the node.
MOUNT_OPTIONS: dict[str, Any] = {
    "attr_timeout": 0,
    "entry_timeout": 0,
    "negative_timeout": 0,
    "hard_remove": True,
}


def fusermount() -> str | None:
    """The unmount helper of the installed libfuse (3 preferred), or None."""
    return shutil.which("fusermount3") or shutil.which("fusermount")


class PowerLossOperations:
    """mfusepy's path-based callbacks onto the tree, one at a time under a lock.

    mfusepy registers every libfuse callback this class has a method for; the rest stay
    unset (libfuse answers ENOSYS): symlinks, xattrs and special files are not modelled.
    """

    use_ns = True

    def __init__(self, tree: PageCacheTree, ready: threading.Event, fsync_delay_s: float = 0.0) -> None:
        self.tree = tree
        self.fsync_delay_s = fsync_delay_s  # added to the backing disk's own fdatasync time
        self.lock = threading.Lock()
        self.ready = ready
        self.handles: dict[int, tuple[int, FileNode]] = {}
        self.next_handle = 1

    def init(self, path: str) -> None:
        self.ready.set()

    def _handle(self, fh: int) -> FileNode:
        handle = self.handles.get(fh)
        if handle is None or handle[0] != self.tree.generation:
            raise OSError(errno.EIO, "file handle from before a power cut")
        return handle[1]

    def _open(self, node: FileNode) -> int:
        fh = self.next_handle
        self.next_handle += 1
        self.handles[fh] = (self.tree.generation, node)
        return fh

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        with self.lock:
            node = self._handle(fh) if fh else self.tree.lookup(path)
            return _attributes(node)

    def readdir(self, path: str, fh: int) -> list[str]:
        with self.lock:
            return [".", "..", *self.tree.readdir(path)]

    def open(self, path: str, flags: int) -> int:
        with self.lock:
            return self._open(self.tree.file(path))

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        with self.lock:
            return self._open(self.tree.create(path, mode))

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        with self.lock:
            return self._handle(fh).read(offset, size)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        with self.lock:
            return self.tree.write(self._handle(fh), offset, bytes(data))

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        with self.lock:
            (self._handle(fh) if fh else self.tree.file(path)).truncate(length)
            return 0

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        with self.lock:
            fd, record = self.tree.start_sync(self._handle(fh))
        # The device wait happens outside the lock, so other threads' writes go on meanwhile,
        # as a group-committing broker expects of a disk; a cut until it ends undoes the sync.
        sync_and_close(fd)
        if self.fsync_delay_s:
            time.sleep(self.fsync_delay_s)
        with self.lock:
            self.tree.finish_sync(record)
        return 0

    def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
        with self.lock:
            self.tree.fsync_dir(path)
            return 0

    def flush(self, path: str, fh: int) -> int:
        return 0  # close() is not fsync()

    def release(self, path: str, fh: int) -> int:
        with self.lock:
            self.handles.pop(fh, None)
            return 0

    def mkdir(self, path: str, mode: int) -> int:
        with self.lock:
            self.tree.mkdir(path, mode)
            return 0

    def unlink(self, path: str) -> int:
        with self.lock:
            self.tree.unlink(path)
            return 0

    def rmdir(self, path: str) -> int:
        with self.lock:
            self.tree.rmdir(path)
            return 0

    def rename(self, old: str, new: str) -> int:
        with self.lock:
            self.tree.rename(old, new)
            return 0

    def link(self, target: str, source: str) -> int:
        with self.lock:
            self.tree.link(source, target)
            return 0

    def chmod(self, path: str, mode: int) -> int:
        with self.lock:
            self.tree.lookup(path).mode = mode & 0o7777
            return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        return 0

    def statfs(self, path: str) -> dict[str, int]:
        info = os.statvfs(self.tree.backing)
        return {key: getattr(info, key) for key in ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree", "f_namemax")}

    def cut(self, torn: bool, rng: random.Random, at: float) -> dict[str, Any]:
        with self.lock:
            self.handles.clear()
            return dataclasses.asdict(self.tree.cut(torn, rng, at))

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return dataclasses.asdict(self.tree.stats())


def _attributes(node: FileNode | DirNode) -> dict[str, Any]:
    if isinstance(node, DirNode):
        subdirs = sum(1 for child in node.entries.values() if isinstance(child, DirNode))
        mode, nlink, size = 0o040000 | node.mode, 2 + subdirs, 4096
    else:
        mode, nlink, size = 0o100000 | node.mode, max(node.nlink, 1), node.size
    return {
        "st_mode": mode,
        "st_nlink": nlink,
        "st_size": size,
        "st_uid": os.getuid(),
        "st_gid": os.getgid(),
        "st_atime": node.mtime,
        "st_mtime": node.mtime,
        "st_ctime": node.mtime,
    }


def _unmount(mountpoint: str) -> None:
    helper = fusermount()
    if helper is not None:
        subprocess.run([helper, "-u", "-z", mountpoint], check=False)


def _control(operations: PowerLossOperations, mountpoint: str, seed: int, ready: threading.Event) -> None:
    """Answer the harness's commands; unmount on `quit` or when the harness goes away."""
    rng = random.Random(seed)
    ready.wait()
    serve({"ready": True}, {
        "cut": lambda command: {"report": operations.cut(bool(command["torn"]), rng, float(command["at"]))},
        "stats": lambda command: {"stats": operations.stats()},
    })
    _unmount(mountpoint)


def main(argv: list[str]) -> int:
    backing, mountpoint, seed, fsync_delay_ms = argv[0], argv[1], int(argv[2]), float(argv[3])
    # libfuse 3 when installed: mfusepy picks libfuse 2 first unless told otherwise.
    if ctypes.util.find_library("fuse3"):
        os.environ.setdefault("FUSE_LIBRARY_NAME", "fuse3")
    import mfusepy

    ready = threading.Event()
    operations = PowerLossOperations(PageCacheTree(Path(backing)), ready, fsync_delay_ms / 1000)
    threading.Thread(target=_control, args=(operations, mountpoint, seed, ready), daemon=True).start()
    mfusepy.FUSE(operations, mountpoint, foreground=True, fsname="noloss-faultfs", **MOUNT_OPTIONS)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
