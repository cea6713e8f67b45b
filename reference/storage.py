"""Where a node keeps its bytes: real files, or a simulated disk with a page cache.

Who does what: the shell opens a `Storage` and hands its log file to `node.open_node` (recovery in `log.recover`);
the cores never touch storage. `FileStorage` is the real thing; `SimStorage` keeps bytes
in memory and separates what is in the page cache from what is on disk, so a simulated
power loss (`SimStorage.power_loss`) drops exactly the unflushed bytes while a process
crash keeps them — the distinction the spec's fault model makes.
"""

from __future__ import annotations

import os
from typing import Protocol


class LogFile(Protocol):
    """An append-only file."""

    def size(self) -> int:
        """Bytes appended so far (page cache included)."""

    def append(self, data: bytes) -> None:
        """Write at the end, into the page cache: lost on power loss until `sync`."""

    def read(self, offset: int, length: int) -> bytes:
        """Up to `length` bytes from `offset` (fewer at the end)."""

    def sync(self) -> None:
        """Make every byte appended before the call durable (fsync)."""

    def truncate(self, size: int) -> None:
        """Cut the file to `size` bytes, durably."""

    def close(self) -> None:
        """Release the file."""


class Storage(Protocol):
    """One node's disk: an append-only log and small metadata files."""

    def open_log(self, name: str) -> LogFile:
        """Open (creating if needed) the append-only file `name`."""

    def read_meta(self, name: str) -> bytes | None:
        """The last content written to metadata file `name`, or None."""

    def write_meta(self, name: str, data: bytes) -> None:
        """Replace metadata file `name` atomically and durably."""

    def path(self, name: str) -> str:
        """Where file `name` lives, for error messages."""


class FileLog:
    """A LogFile on a real file: pwrite/pread at known offsets, fdatasync to flush.

    `sync` runs on a worker thread while the event loop keeps appending; that is safe
    because appends never rewrite bytes a sync may be flushing.

    A file this opens with O_CREAT is durable only once its directory entry is: the
    directory is fsynced when the open created the file, before anything is appended.
    """

    def __init__(self, path: str) -> None:
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            sync_directory(os.path.dirname(path) or ".")
        except FileExistsError:
            self._fd = os.open(path, os.O_RDWR)
        self._size = os.fstat(self._fd).st_size

    def size(self) -> int:
        return self._size

    def append(self, data: bytes) -> None:
        written = 0
        while written < len(data):
            written += os.pwrite(self._fd, data[written:], self._size + written)
        self._size += len(data)

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self._fd, max(0, min(length, self._size - offset)), offset)

    def sync(self) -> None:
        os.fdatasync(self._fd)

    def truncate(self, size: int) -> None:
        os.ftruncate(self._fd, size)
        os.fsync(self._fd)
        self._size = size

    def close(self) -> None:
        os.close(self._fd)


def sync_directory(directory: str | os.PathLike[str]) -> None:
    """fsync a directory: makes the files created or renamed in it durable."""
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class FileStorage:
    """Storage in a directory of real files."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        if not os.path.isdir(directory):
            # A new data directory: its own entry in its parent must be durable too.
            os.makedirs(directory, exist_ok=True)
            sync_directory(os.path.dirname(os.path.abspath(directory)))

    def path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    def open_log(self, name: str) -> FileLog:
        return FileLog(os.path.join(self.directory, name))

    def read_meta(self, name: str) -> bytes | None:
        try:
            with open(os.path.join(self.directory, name), "rb") as file:
                return file.read()
        except FileNotFoundError:
            return None

    def write_meta(self, name: str, data: bytes) -> None:
        # Write a temporary file, fsync it, rename over the old one, fsync the directory:
        # after a power loss the file holds either the old or the new content, whole.
        path = os.path.join(self.directory, name)
        with open(path + ".tmp", "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(path + ".tmp", path)
        sync_directory(self.directory)


class SimLog:
    """A LogFile in memory: `cache` is what the process sees, `durable` what the disk holds."""

    def __init__(self) -> None:
        self.cache = bytearray()
        self.durable = b""
        self.syncs = 0

    def size(self) -> int:
        return len(self.cache)

    def append(self, data: bytes) -> None:
        self.cache += data

    def read(self, offset: int, length: int) -> bytes:
        return bytes(self.cache[offset : offset + length])

    def sync(self) -> None:
        self.durable = bytes(self.cache)
        self.syncs += 1

    def truncate(self, size: int) -> None:
        del self.cache[size:]
        self.durable = self.durable[:size]

    def close(self) -> None:
        pass

    def power_loss(self, torn_bytes: int = 0) -> None:
        """Lose the page cache; `torn_bytes` of the unflushed tail reach the disk anyway,
        as a torn write would leave them."""
        kept = self.cache[len(self.durable) : len(self.durable) + torn_bytes]
        self.durable += bytes(kept)
        self.cache = bytearray(self.durable)


class SimStorage:
    """Storage in memory for deterministic simulation.

    A process crash needs nothing here (the page cache survives: reopen the same object);
    `power_loss` drops what was never synced.
    """

    def __init__(self) -> None:
        self.logs: dict[str, SimLog] = {}
        self.meta: dict[str, bytes] = {}

    def open_log(self, name: str) -> SimLog:
        return self.logs.setdefault(name, SimLog())

    def path(self, name: str) -> str:
        return name

    def read_meta(self, name: str) -> bytes | None:
        return self.meta.get(name)

    def write_meta(self, name: str, data: bytes) -> None:
        self.meta[name] = data

    def power_loss(self, torn_bytes: int = 0) -> None:
        """Every log loses its unflushed bytes (bar `torn_bytes` of each torn tail)."""
        for log in self.logs.values():
            log.power_loss(torn_bytes)
