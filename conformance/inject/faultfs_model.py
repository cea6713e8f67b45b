"""The state behind the power-loss filesystem: what processes see versus what the disk holds.

The backing directory IS the disk: after any operation it holds exactly the durable state,
so a power cut is "forget everything in memory and read the backing directory again".
Memory holds the page cache and the un-fsynced directory entries:

- file data: a written page stays in `FileNode.pages` (memory) until `fsync`/`fdatasync`
  of that file writes it to the file's store in the backing directory. It is durable once
  that fsync *returns*: until then a cut rolls the store back (a `SyncInFlight` keeps the
  bytes it overwrote), as a disk that loses power mid-fsync keeps none of it. So a cut
  loses an fsync that had not returned by the cut's time `at`: still running, or returned
  after `at` to a process the harness had already killed;
- directory entries: a create, link, unlink, rename, mkdir or rmdir changes only
  `DirNode.entries`; `fsync` of the directory replays the difference against
  `DirNode.durable` onto the backing directory.

A file's durable bytes live in one store file per inode, `.faultfs-store/<n>` in the
backing directory; every durable name of the file is a hard link to that store file, so
data made durable through one name is durable under every durable name, and a file whose
data was fsynced but whose name never was is not reachable after a cut (its store link is
discarded when the backing directory is read again).

This module does no FUSE: `faultfs_mount` adapts it to mfusepy, and the tests drive it
directly as well.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path

PAGE = 4096
STORE = ".faultfs-store"  # hidden top-level folder of the backing directory
SYNC_MEMORY_S = 5.0  # how long a returned fsync's undo is kept (see `_forget_old_syncs`)


def _fail(code: int, path: str) -> OSError:
    return OSError(code, os.strerror(code), path)


class FileNode:
    """A regular file: durable bytes in `store`, unsynced pages in memory."""

    def __init__(self, store: Path, size: int, mode: int) -> None:
        self.store = store
        self.size = size  # the size processes see
        self.durable_size = size  # the size of the store file
        # Durable bytes at or after this offset were cut off by an unsynced truncate: they
        # read as zeros until a write covers them.
        self.hidden_from = size
        self.pages: dict[int, bytearray] = {}
        self.mode = mode
        self.nlink = 0
        self.mtime = time.time()
        self.unsynced_bytes = 0
        self.last_write: tuple[int, int, int] | None = None  # (sequence, offset, length)
        self._fd: int | None = None

    @property
    def dirty(self) -> bool:
        return bool(self.pages) or self.size != self.durable_size or self.hidden_from < self.durable_size

    def _store_fd(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.store, os.O_RDWR)
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _page(self, index: int) -> bytearray:
        cached = self.pages.get(index)
        if cached is not None:
            return cached
        start = index * PAGE
        visible = max(0, min(PAGE, min(self.durable_size, self.hidden_from) - start))
        data = os.pread(self._store_fd(), visible, start) if visible else b""
        return bytearray(data.ljust(PAGE, b"\0"))

    def read(self, offset: int, length: int) -> bytes:
        end = min(offset + length, self.size)
        out = bytearray()
        position = offset
        while position < end:
            index, within = divmod(position, PAGE)
            take = min(PAGE - within, end - position)
            out += self._page(index)[within : within + take]
            position += take
        return bytes(out)

    def write(self, offset: int, data: bytes, sequence: int) -> None:
        position = offset
        done = 0
        while done < len(data):
            index, within = divmod(position, PAGE)
            take = min(PAGE - within, len(data) - done)
            page = self._page(index)
            page[within : within + take] = data[done : done + take]
            self.pages[index] = page
            position += take
            done += take
        self.size = max(self.size, offset + len(data))
        self.unsynced_bytes += len(data)
        self.last_write = (sequence, offset, len(data))
        self.mtime = time.time()

    def truncate(self, size: int) -> None:
        if size < self.size:
            index, within = divmod(size, PAGE)
            for stale in [i for i in self.pages if i > index or (i == index and within == 0)]:
                del self.pages[stale]
            if within:
                page = self._page(index)
                page[within:] = bytes(PAGE - within)
                self.pages[index] = page
            self.hidden_from = min(self.hidden_from, size)
        self.size = size
        self.last_write = None  # the tail a torn write would keep may be gone
        self.mtime = time.time()

    def write_back(self) -> tuple[int, SyncInFlight]:
        """Write the unsynced state to the store, keeping what it overwrote.

        Returns a duplicate of the store's descriptor, which the caller fdatasyncs and closes
        outside any lock, and the record that undoes this write-back if the power goes
        before the fsync returns (`PageCacheTree.finish_sync` marks when it did).
        """
        fd = self._store_fd()
        record = SyncInFlight(self, self.durable_size, self._overwritten(fd), self.unsynced_bytes, self.last_write)
        if self.hidden_from < self.durable_size:
            os.ftruncate(fd, self.hidden_from)
        for index in sorted(self.pages):
            length = min(PAGE, self.size - index * PAGE)
            if length > 0:
                os.pwrite(fd, bytes(self.pages[index][:length]), index * PAGE)
        os.ftruncate(fd, self.size)
        self.pages.clear()
        self.durable_size = self.hidden_from = self.size
        self.unsynced_bytes = 0
        self.last_write = None
        return os.dup(fd), record

    def _overwritten(self, fd: int) -> tuple[tuple[int, bytes], ...]:
        """The store's bytes that a write-back now would change (those before its old end)."""
        regions = [(index * PAGE, min(PAGE, self.size - index * PAGE)) for index in sorted(self.pages)]
        if self.hidden_from < self.durable_size:
            regions.append((self.hidden_from, self.durable_size - self.hidden_from))
        kept = ((start, min(length, self.durable_size - start)) for start, length in regions)
        return tuple((start, os.pread(fd, length, start)) for start, length in kept if length > 0)


@dataclass
class SyncInFlight:
    """One file's write-back for an fsync: what it overwrote, and when the fsync returned."""

    node: FileNode
    size: int  # the store's size before
    overwritten: tuple[tuple[int, bytes], ...]  # (offset, old bytes) in the store
    unsynced_bytes: int  # the writes it covered, and the last of them (for a cut's report)
    last_write: tuple[int, int, int] | None
    returned: float | None = None  # time.monotonic() when the fsync returned to its caller

    def durable_by(self, at: float) -> bool:
        return self.returned is not None and self.returned <= at

    def undo(self) -> None:
        """Put the store back as it was before this write-back."""
        fd = os.open(self.node.store, os.O_WRONLY)
        try:
            os.ftruncate(fd, self.size)
            for offset, data in self.overwritten:
                os.pwrite(fd, data, offset)
            os.fdatasync(fd)
        finally:
            os.close(fd)


class DirNode:
    """A directory: the entries processes see, and the entries the disk holds."""

    def __init__(self, mode: int) -> None:
        self.entries: dict[str, Node] = {}
        self.durable: dict[str, Node] = {}
        # Where this directory durably sits (None: nowhere yet, or its durable entry is gone).
        self.durable_parent: DirNode | None = None
        self.durable_name = ""
        self.mode = mode
        self.mtime = time.time()


Node = FileNode | DirNode


@dataclass(frozen=True)
class TornWrite:
    """The last unsynced write, of which a strict prefix reached the disk."""

    path: str  # the file's durable name, or "" when it had none (then nothing survives)
    offset: int
    length: int
    kept: int


@dataclass(frozen=True)
class CutReport:
    """What a power cut dropped. Paths are as processes saw them before the cut."""

    at: float  # time.monotonic() when the cut was asked for (one clock for every process)
    lost_paths: tuple[str, ...]  # existed before, gone after
    reverted_paths: tuple[str, ...]  # still there, but unsynced data or size was dropped
    resurrected_paths: tuple[str, ...]  # unlinked or renamed away without a directory fsync
    dropped_bytes: int  # bytes written and not fsynced (a torn write's kept prefix excluded)
    torn: TornWrite | None


@dataclass(frozen=True)
class FsStats:
    unsynced_bytes: int
    dirty_files: int
    writes: int
    fsyncs: int
    dir_fsyncs: int
    cuts: int


class PageCacheTree:
    """The whole filesystem: path operations as a FUSE high-level API needs them."""

    def __init__(self, backing: Path) -> None:
        self.backing = backing
        self.generation = 0  # bumped by each cut: file handles from before it are dead
        self._sequence = 0
        self._writes = self._fsyncs = self._dir_fsyncs = self._cuts = 0
        self._syncs: list[SyncInFlight] = []  # write-backs a cut may still undo, oldest first
        self.root = self._load()

    # --- reading the disk -------------------------------------------------------------------

    def _load(self) -> DirNode:
        """Build the in-memory tree from the backing directory: the durable state only."""
        store = self.backing / STORE
        shutil.rmtree(store, ignore_errors=True)
        store.mkdir()
        files: dict[tuple[int, int], FileNode] = {}
        root = DirNode(stat.S_IMODE(os.stat(self.backing).st_mode))

        def scan(directory: DirNode, real: Path) -> None:
            with os.scandir(real) as listing:
                for entry in sorted(listing, key=lambda e: e.name):
                    if directory is root and entry.name == STORE:
                        continue
                    info = entry.stat(follow_symlinks=False)
                    child: Node
                    if stat.S_ISDIR(info.st_mode):
                        child = DirNode(stat.S_IMODE(info.st_mode))
                        child.durable_parent, child.durable_name = directory, entry.name
                        scan(child, Path(entry.path))
                    elif stat.S_ISREG(info.st_mode):
                        key = (info.st_dev, info.st_ino)
                        known = files.get(key)
                        if known is None:
                            known = FileNode(store / str(len(files)), info.st_size, stat.S_IMODE(info.st_mode))
                            os.link(entry.path, known.store)
                            files[key] = known
                        known.nlink += 1
                        child = known
                    else:
                        continue  # symlinks and special files are not modelled
                    directory.entries[entry.name] = child
                    directory.durable[entry.name] = child

        scan(root, self.backing)
        return root

    # --- names --------------------------------------------------------------------------------

    def lookup(self, path: str) -> Node:
        node: Node = self.root
        for part in _parts(path):
            if not isinstance(node, DirNode):
                raise _fail(errno.ENOTDIR, path)
            child = node.entries.get(part)
            if child is None:
                raise _fail(errno.ENOENT, path)
            node = child
        return node

    def directory(self, path: str) -> DirNode:
        node = self.lookup(path)
        if not isinstance(node, DirNode):
            raise _fail(errno.ENOTDIR, path)
        return node

    def file(self, path: str) -> FileNode:
        node = self.lookup(path)
        if isinstance(node, DirNode):
            raise _fail(errno.EISDIR, path)
        return node

    def _parent(self, path: str) -> tuple[DirNode, str]:
        parts = _parts(path)
        if not parts:
            raise _fail(errno.EBUSY, path)
        parent = self.directory("/" + "/".join(parts[:-1]))
        name = parts[-1]
        if parent is self.root and name == STORE:
            raise _fail(errno.EPERM, path)
        return parent, name

    def create(self, path: str, mode: int) -> FileNode:
        parent, name = self._parent(path)
        existing = parent.entries.get(name)
        if existing is not None:
            if isinstance(existing, DirNode):
                raise _fail(errno.EISDIR, path)
            return existing
        self._sequence += 1
        store = self.backing / STORE / f"new-{self.generation}-{self._sequence}"
        store.touch()
        node = FileNode(store, 0, stat.S_IMODE(mode))
        node.nlink = 1
        parent.entries[name] = node
        parent.mtime = time.time()
        return node

    def mkdir(self, path: str, mode: int) -> None:
        parent, name = self._parent(path)
        if name in parent.entries:
            raise _fail(errno.EEXIST, path)
        parent.entries[name] = DirNode(stat.S_IMODE(mode))
        parent.mtime = time.time()

    def link(self, existing: str, new: str) -> None:
        node = self.file(existing)
        parent, name = self._parent(new)
        if name in parent.entries:
            raise _fail(errno.EEXIST, new)
        parent.entries[name] = node
        node.nlink += 1

    def unlink(self, path: str) -> None:
        parent, name = self._parent(path)
        node = self.file(path)
        del parent.entries[name]
        _drop_link(node)
        parent.mtime = time.time()

    def rmdir(self, path: str) -> None:
        parent, name = self._parent(path)
        node = self.directory(path)
        if node.entries:
            raise _fail(errno.ENOTEMPTY, path)
        del parent.entries[name]
        parent.mtime = time.time()

    def rename(self, old: str, new: str) -> None:
        old_parent, old_name = self._parent(old)
        new_parent, new_name = self._parent(new)
        node = self.lookup(old)
        if isinstance(node, DirNode) and _inside(new, old):
            raise _fail(errno.EINVAL, new)
        target = new_parent.entries.get(new_name)
        if target is node:
            return
        if target is not None:
            if isinstance(node, DirNode) != isinstance(target, DirNode):
                raise _fail(errno.EISDIR if isinstance(target, DirNode) else errno.ENOTDIR, new)
            if isinstance(target, DirNode) and target.entries:
                raise _fail(errno.ENOTEMPTY, new)
            if isinstance(target, FileNode):
                _drop_link(target)
        del old_parent.entries[old_name]
        new_parent.entries[new_name] = node
        old_parent.mtime = new_parent.mtime = time.time()

    def readdir(self, path: str) -> list[str]:
        return sorted(self.directory(path).entries)

    # --- data ---------------------------------------------------------------------------------

    def write(self, node: FileNode, offset: int, data: bytes) -> int:
        self._sequence += 1
        self._writes += 1
        node.write(offset, data, self._sequence)
        return len(data)

    def fsync(self, node: FileNode) -> None:
        fd, record = self.start_sync(node)
        sync_and_close(fd)
        self.finish_sync(record)

    def start_sync(self, node: FileNode) -> tuple[int, SyncInFlight]:
        """The first half of `fsync`: write back (see `FileNode.write_back`); the caller
        waits for the device, then calls `finish_sync`. Until then a cut undoes it."""
        self._fsyncs += 1
        self._forget_old_syncs()
        fd, record = node.write_back()
        self._syncs.append(record)
        return fd, record

    def finish_sync(self, record: SyncInFlight) -> None:
        """The fsync returns to its caller now: from this time on, a cut keeps its data."""
        record.returned = time.monotonic()

    def _forget_old_syncs(self) -> None:
        # A cut's `at` is when the harness asked for it, a few milliseconds before the cut
        # reaches this process; a write-back that returned long before that is durable for
        # good, and so is every earlier one of the same file.
        horizon = time.monotonic() - SYNC_MEMORY_S
        for index in range(len(self._syncs) - 1, -1, -1):
            if self._syncs[index].durable_by(horizon):
                del self._syncs[: index + 1]
                return

    def fsync_dir(self, path: str) -> None:
        """Make the directory's entries durable: replay its changes onto the backing directory."""
        self._dir_fsyncs += 1
        directory = self.directory(path)
        real = self._durable_path(directory)
        if real is not None:
            self._replay(directory, real)
            fd = os.open(real, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        directory.durable = dict(directory.entries)

    def _durable_path(self, directory: DirNode) -> Path | None:
        names: list[str] = []
        node = directory
        while node is not self.root:
            parent = node.durable_parent
            if parent is None:
                return None
            names.append(node.durable_name)
            node = parent
        return self.backing.joinpath(*reversed(names))

    def _replay(self, directory: DirNode, real: Path) -> None:
        old = dict(directory.durable)
        for name, child in directory.entries.items():
            previous = old.get(name)
            if previous is child:
                continue
            target = real / name
            if previous is not None:
                self._remove_durable(directory, name, previous, target)
            if isinstance(child, FileNode):
                os.link(child.store, target)
            else:
                self._place_dir(directory, name, child, target)
        for name, previous in old.items():
            if name in directory.entries:
                continue
            if isinstance(previous, DirNode) and (
                previous.durable_parent is not directory or previous.durable_name != name
            ):
                continue  # moved away by an earlier replay: already gone from here
            self._remove_durable(directory, name, previous, real / name)

    def _remove_durable(self, directory: DirNode, name: str, node: Node, target: Path) -> None:
        if isinstance(node, FileNode):
            os.unlink(target)
        elif node.durable_parent is directory and node.durable_name == name:
            shutil.rmtree(target)
            node.durable_parent = None

    def _place_dir(self, parent: DirNode, name: str, child: DirNode, target: Path) -> None:
        """Give `child` the durable name `target`: move it if it is durable elsewhere."""
        source = self._durable_path(child) if child.durable_parent is not None else None
        if source is not None:
            os.rename(source, target)
            assert child.durable_parent is not None
            child.durable_parent.durable.pop(child.durable_name, None)
        else:
            os.mkdir(target, child.mode)
            for sub_name, sub in child.durable.items():
                if isinstance(sub, FileNode):
                    os.link(sub.store, target / sub_name)
                else:
                    self._place_dir(child, sub_name, sub, target / sub_name)
        child.durable_parent, child.durable_name = parent, name

    # --- power ----------------------------------------------------------------------------------

    def cut(self, torn_last_write: bool, rng: random.Random, at: float) -> CutReport:
        """Drop everything not durable at `at`; with `torn_last_write`, keep a strict prefix of the last write."""
        undone = self._unsynced_at(at)
        before = _walk(self.root)
        durable_names = _walk_durable(self.root)
        dirty = {id(node) for node in _all_files(before) if node.dirty} | {id(record.node) for record in undone}
        unsynced = [node for node in _all_files(before) if node.unsynced_bytes]
        dropped = sum(node.unsynced_bytes for node in unsynced)
        torn, torn_store, kept_data = self._tear(unsynced, durable_names, rng) if torn_last_write else (None, None, b"")
        for record in undone:  # newest first: each puts back what the one before it left
            record.undo()
        self._syncs.clear()
        if torn is not None and torn_store is not None and kept_data:
            # The disk wrote the first `kept` bytes of the write onto the durable file; the
            # rest of the page cache never reached it (a gap before `offset` reads as zeros).
            fd = os.open(torn_store, os.O_WRONLY)
            try:
                os.pwrite(fd, kept_data, torn.offset)
                os.fdatasync(fd)
            finally:
                os.close(fd)
        for node in _all_files(before):
            node.close()
        self.generation += 1
        self._cuts += 1
        self.root = self._load()
        after = _walk(self.root)
        return CutReport(
            at=at,
            lost_paths=tuple(sorted(set(before) - set(after))),
            reverted_paths=tuple(sorted(p for p in set(before) & set(after) if id(before[p]) in dirty)),
            resurrected_paths=tuple(sorted(set(after) - set(before))),
            dropped_bytes=dropped - (torn.kept if torn is not None and torn.path else 0),
            torn=torn,
        )

    def _unsynced_at(self, at: float) -> list[SyncInFlight]:
        """The write-backs whose fsync had not returned by `at`, newest first, their writes
        counted as unsynced again. One that returned by `at` makes every earlier one of its
        file durable too (the disk wrote them before it)."""
        undone: list[SyncInFlight] = []
        settled: set[int] = set()
        for record in reversed(self._syncs):
            node = record.node
            if id(node) in settled or record.durable_by(at):
                settled.add(id(node))
                continue
            undone.append(record)
            node.unsynced_bytes += record.unsynced_bytes
            node.last_write = node.last_write or record.last_write
        return undone

    def _tear(self, unsynced: list[FileNode], durable_names: dict[int, str], rng: random.Random) -> tuple[TornWrite | None, Path | None, bytes]:
        """Which write the cut tears, and the bytes of it that reach the disk (read now,
        before any undo rewrites the store under the page cache)."""
        candidates = [node for node in unsynced if node.last_write is not None]
        if not candidates:
            return None, None, b""
        node = max(candidates, key=lambda n: n.last_write[0] if n.last_write else 0)
        assert node.last_write is not None
        _, offset, length = node.last_write
        kept = rng.randrange(1, length) if length > 1 else 0
        path = durable_names.get(id(node), "")
        data = node.read(offset, kept) if path and kept else b""
        return TornWrite(path=path, offset=offset, length=length, kept=kept), node.store, data

    def stats(self) -> FsStats:
        files = _all_files(_walk(self.root))
        return FsStats(
            unsynced_bytes=sum(node.unsynced_bytes for node in files),
            dirty_files=sum(1 for node in files if node.dirty),
            writes=self._writes,
            fsyncs=self._fsyncs,
            dir_fsyncs=self._dir_fsyncs,
            cuts=self._cuts,
        )


def sync_and_close(fd: int) -> None:
    """fdatasync `fd`, then close it."""
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


def _drop_link(node: FileNode) -> None:
    # Its store file stays until the next cut or mount (an open handle may still use it);
    # only the cached descriptor goes, so unlinked files do not pile up open descriptors.
    node.nlink -= 1
    if node.nlink == 0:
        node.close()


def _parts(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def _inside(path: str, ancestor: str) -> bool:
    inner, outer = _parts(path), _parts(ancestor)
    return inner[: len(outer)] == outer


def _walk(root: DirNode) -> dict[str, Node]:
    """Every path processes can see, to its node."""
    found: dict[str, Node] = {}

    def visit(directory: DirNode, prefix: str) -> None:
        for name, child in directory.entries.items():
            path = f"{prefix}/{name}"
            found[path] = child
            if isinstance(child, DirNode):
                visit(child, path)

    visit(root, "")
    return found


def _walk_durable(root: DirNode) -> dict[int, str]:
    """One durable path for each file node that has one (by node identity)."""
    found: dict[int, str] = {}

    def visit(directory: DirNode, prefix: str) -> None:
        for name, child in directory.durable.items():
            path = f"{prefix}/{name}"
            if isinstance(child, FileNode):
                found.setdefault(id(child), path)
            elif child.durable_parent is directory and child.durable_name == name:
                visit(child, path)

    visit(root, "")
    return found


def _all_files(paths: dict[str, Node]) -> list[FileNode]:
    unique: dict[int, FileNode] = {}
    for node in paths.values():
        if isinstance(node, FileNode):
            unique[id(node)] = node
    return list(unique.values())
