"""Small appends with and without fdatasync: on disk, through each FUSE library, through
the power-loss filesystem.

    python benchmarks/faultfs_throughput.py [--appends 2000] [--rounds 3]

Prints, per target, appends+fdatasync per second and plain appends per second (100-byte
records, O_APPEND), the median of `--rounds` interleaved rounds. The library rows mount a
minimal passthrough filesystem (every write and fsync forwarded to a backing file) under
each library that is installed — fusepy (libfuse 2), mfusepy on libfuse 2 and on libfuse
3, pyfuse3 (libfuse 3, trio) — once with the backing fsync done for real and once with it
skipped, which isolates what the library itself costs per round trip. Only mfusepy is a
project dependency; install the others (`pip install fusepy pyfuse3`, pyfuse3 needs the
Debian package libfuse3-dev) to compare.
"""

from __future__ import annotations

import argparse
import errno
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RECORD = b"r" * 99 + b"\n"


def appends_per_second(directory: Path, count: int, sync: bool) -> float:
    path = directory / "bench.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    started = time.perf_counter()
    for _ in range(count):
        os.write(fd, RECORD)
        if sync:
            os.fdatasync(fd)
    elapsed = time.perf_counter() - started
    os.close(fd)
    os.unlink(path)
    return count / elapsed


# --- minimal passthroughs, one per library (run in a child process: `--serve LIB ...`) ----------


def _highlevel_passthrough(module: Any, backing: str, real_fsync: bool) -> Any:
    """fusepy and mfusepy share one path-based API."""

    class Passthrough(module.Operations):  # type: ignore[misc]
        use_ns = True

        def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
            try:
                info = os.lstat(backing + path)
            except FileNotFoundError:
                raise module.FuseOSError(errno.ENOENT) from None
            keys = ("st_mode", "st_nlink", "st_size", "st_uid", "st_gid", "st_atime", "st_mtime", "st_ctime")
            return {key: getattr(info, key) for key in keys}

        def readdir(self, path: str, fh: int) -> list[str]:
            return [".", "..", *os.listdir(backing + path)]

        def create(self, path: str, mode: int, fi: Any = None) -> int:
            return os.open(backing + path, os.O_RDWR | os.O_CREAT, mode)

        def open(self, path: str, flags: int) -> int:
            return os.open(backing + path, flags & ~os.O_APPEND)

        def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
            return os.pwrite(fh, data, offset)

        def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
            return os.pread(fh, size, offset)

        def fsync(self, path: str, datasync: int, fh: int) -> int:
            if real_fsync:
                os.fdatasync(fh)
            return 0

        def flush(self, path: str, fh: int) -> int:
            return 0

        def release(self, path: str, fh: int) -> int:
            os.close(fh)
            return 0

        def unlink(self, path: str) -> int:
            os.unlink(backing + path)
            return 0

    return Passthrough()


def _serve_highlevel(module_name: str, backing: str, mountpoint: str, real_fsync: bool) -> None:
    module = __import__(module_name)
    module.FUSE(_highlevel_passthrough(module, backing, real_fsync), mountpoint, foreground=True,
                attr_timeout=0, entry_timeout=0)


def _serve_pyfuse3(backing: str, mountpoint: str, real_fsync: bool) -> None:
    import pyfuse3
    import trio

    class Passthrough(pyfuse3.Operations):  # type: ignore[misc, unused-ignore]
        """Inode-based: the root and the files created in it."""

        def __init__(self) -> None:
            super().__init__()
            self.paths: dict[int, str] = {pyfuse3.ROOT_INODE: backing}

        def _entry(self, path: str) -> Any:
            info = os.lstat(path)
            inode = pyfuse3.ROOT_INODE if path == backing else info.st_ino + 1000
            self.paths[inode] = path
            entry = pyfuse3.EntryAttributes()
            entry.st_ino = inode
            for key in ("st_mode", "st_nlink", "st_size", "st_uid", "st_gid", "st_atime_ns", "st_mtime_ns", "st_ctime_ns"):
                setattr(entry, key, getattr(info, key))
            entry.attr_timeout = entry.entry_timeout = 0
            return entry

        async def getattr(self, inode: int, ctx: Any = None) -> Any:
            return self._entry(self.paths[inode])

        async def lookup(self, parent: int, name: bytes, ctx: Any = None) -> Any:
            try:
                return self._entry(os.path.join(self.paths[parent], os.fsdecode(name)))
            except FileNotFoundError:
                raise pyfuse3.FUSEError(errno.ENOENT) from None

        async def create(self, parent: int, name: bytes, mode: int, flags: int, ctx: Any) -> Any:
            path = os.path.join(self.paths[parent], os.fsdecode(name))
            return pyfuse3.FileInfo(fh=os.open(path, os.O_RDWR | os.O_CREAT, mode)), self._entry(path)

        async def open(self, inode: int, flags: int, ctx: Any) -> Any:
            return pyfuse3.FileInfo(fh=os.open(self.paths[inode], flags & ~(os.O_CREAT | os.O_APPEND)))

        async def write(self, fh: int, offset: int, data: bytes) -> int:
            return os.pwrite(fh, data, offset)

        async def fsync(self, fh: int, datasync: bool) -> None:
            if real_fsync:
                os.fdatasync(fh)

        async def flush(self, fh: int) -> None:
            pass

        async def release(self, fh: int) -> None:
            os.close(fh)

        async def unlink(self, parent: int, name: bytes, ctx: Any) -> None:
            os.unlink(os.path.join(self.paths[parent], os.fsdecode(name)))

        async def forget(self, inodes: Any) -> None:
            pass

    pyfuse3.init(Passthrough(), mountpoint, set(pyfuse3.default_options))
    try:
        trio.run(pyfuse3.main)
    finally:
        pyfuse3.close(unmount=True)


LIBRARIES: dict[str, tuple[str, dict[str, str]]] = {
    # row name: (module, environment)
    "fusepy (libfuse 2)": ("fuse", {}),
    "mfusepy (libfuse 2)": ("mfusepy", {"FUSE_LIBRARY_NAME": "fuse"}),
    "mfusepy (libfuse 3)": ("mfusepy", {"FUSE_LIBRARY_NAME": "fuse3"}),
    "pyfuse3 (libfuse 3)": ("pyfuse3", {}),
}


def _installed(module: str, environment: dict[str, str]) -> bool:
    probe = subprocess.run([sys.executable, "-c", f"import {module}"], env={**os.environ, **environment},
                           capture_output=True, check=False)
    return probe.returncode == 0


def _measure_library(module: str, environment: dict[str, str], real_fsync: bool, count: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as backing, tempfile.TemporaryDirectory() as mountpoint:
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", module, backing, mountpoint, str(int(real_fsync))],
            env={**os.environ, **environment}, stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while not os.path.ismount(mountpoint):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"{module} did not mount")
                time.sleep(0.02)
            return (appends_per_second(Path(mountpoint), count, True),
                    appends_per_second(Path(mountpoint), count * 5, False))
        finally:
            subprocess.run(["fusermount3" if "3" in environment.get("FUSE_LIBRARY_NAME", "3") else "fusermount",
                            "-u", "-z", mountpoint], check=False, capture_output=True)
            server.terminate()
            server.wait(10)


def _measure_power_loss_fs(count: int) -> tuple[float, float]:
    from noloss.conformance.inject.faultfs import PowerLossFS

    with tempfile.TemporaryDirectory() as scratch, PowerLossFS(Path(scratch) / "disk", Path(scratch) / "mnt") as fs:
        return (appends_per_second(fs.mountpoint, count, True),
                appends_per_second(fs.mountpoint, count * 5, False))


def _measure_disk(count: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as scratch:
        return appends_per_second(Path(scratch), count, True), appends_per_second(Path(scratch), count * 5, False)


def _measure_disk_busy(count: int) -> tuple[float, float]:
    """The disk again while another process spins: on a VM, an fdatasync that sleeps on an
    idle vCPU pays its wake-up; a FUSE round trip keeps a second process awake, so this row
    is the fair comparison for the FUSE rows."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        return _measure_disk(count)
    finally:
        spinner.kill()
        spinner.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load_before = _uptime()

    from noloss.conformance.inject.faultfs import unavailable_reason

    targets: dict[str, Callable[[], tuple[float, float]]] = {
        "disk (no FUSE)": lambda: _measure_disk(args.appends),
        "disk (no FUSE), another process spinning": lambda: _measure_disk_busy(args.appends),
    }
    reason = unavailable_reason()
    if reason is None:
        targets["power-loss fs (mfusepy, libfuse 3)"] = lambda: _measure_power_loss_fs(args.appends)
    skipped: list[str] = [] if reason is None else [f"power-loss fs: {reason}"]
    for row, (module, environment) in LIBRARIES.items():
        if not _installed(module, environment):
            skipped.append(f"{row}: not installed")
            continue
        for real in (True, False):
            label = f"{row}, {'fdatasync on backing' if real else 'fsync a no-op'}"
            targets[label] = functools.partial(_measure_library, module, environment, real, args.appends)

    results: dict[str, list[tuple[float, float]]] = {label: [] for label in targets}
    for _ in range(args.rounds):  # interleaved, so load from other work spreads over all rows
        for label, measure in targets.items():
            results[label].append(measure())

    print(f"load average (1, 5, 15 min) before: {load_before}")
    print(f"{'target':<58} {'append+fdatasync/s':>19} {'append/s':>10}")
    for label, rows in results.items():
        synced = statistics.median(row[0] for row in rows)
        plain = statistics.median(row[1] for row in rows)
        print(f"{label:<58} {synced:>19,.0f} {plain:>10,.0f}")
    for line in skipped:
        print(f"skipped: {line}")
    print(f"{args.rounds} rounds, median; {args.appends} synced appends and {args.appends * 5} plain appends of "
          f"{len(RECORD)} bytes per round; cores: {os.cpu_count()}; load after: {_uptime()}")


def _uptime() -> str:
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        module_name, backing, mountpoint, real = sys.argv[2:6]
        if module_name == "pyfuse3":
            _serve_pyfuse3(backing, mountpoint, real == "1")
        else:
            _serve_highlevel(module_name, backing, mountpoint, real == "1")
    else:
        main()
