"""Power loss on real processes: a FUSE filesystem that keeps unsynced writes in memory only.

Like LazyFS, in Python on mfusepy. A broker's data directory is put on the mountpoint;
everything it writes goes to a page cache held by the filesystem process, and reaches the
backing directory (the "disk") only when the broker asks for it:

- `fsync`/`fdatasync` of a file makes that file's data and size durable when it returns
  (a cut while it runs loses them; `fsync_delay_ms` lengthens it like a slower disk);
- a directory entry (create, link, unlink, rename, mkdir, rmdir) becomes durable only
  when its directory is fsynced — so a new file whose data was fsynced but whose
  directory was not vanishes on a cut, and an unlinked file comes back;
- `close` makes nothing durable.

A power cut drops exactly that in-memory state: afterwards the mountpoint shows only what
was durable. With `torn_last_write`, a strict prefix of the last unsynced write reaches the
disk as well (the disk was mid-write when the power went). See docs/faults.md for what
POSIX and ext4 really promise and where this model is stricter.

API for the harness (the caller kills the processes using the mount before a cut and
restarts them after; handles opened before a cut answer EIO):

    reason = unavailable_reason()            # None, or one line: why FUSE mounts fail here
    with PowerLossFS(backing, mountpoint, seed=7) as fs:
        ...start the broker with its data directory under `mountpoint`...
        ...SIGKILL it...
        report = fs.power_cut(torn_last_write=True)   # CutReport: what was dropped
        ...restart the broker on the same directory...
        fs.stats()                            # FsStats: unsynced bytes, fsync counts

Make each data directory durable before a broker starts in it (mkdir, then fsync its
parent): a broker that creates it itself without that fsync loses it on the first cut.
Disk loss is a cut after wiping the node's folder in the backing directory
(`shutil.rmtree(fs.backing / "node")`, then `fs.power_cut()`): a cut re-reads the disk.

The filesystem runs in its own process (`faultfs_mount`): a killed broker cannot take it
down, and the harness talks to it over a pipe. `power_cut` returns once the cut is done;
`CutReport.at` is the `time.monotonic()` at which the power went (`at`, by default when the
cut was asked), for the history: an fsync that returned after it is lost too, so pass the
time the processes were killed.
"""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from .child import ChildFailed, JsonChild
from .faultfs_model import CutReport, FsStats, TornWrite
from .faultfs_mount import fusermount

__all__ = ["CutReport", "FsStats", "PowerLossFS", "PowerLossUnavailable", "TornWrite", "unavailable_reason"]

MOUNT_TIMEOUT = 10.0


class PowerLossUnavailable(RuntimeError):
    """FUSE mounts do not work here; the message is one line saying why."""


class PowerLossFS:
    """A mounted power-loss filesystem over `backing`, seen at `mountpoint`.

    A context manager: mounts on enter, unmounts on exit. `seed` fixes the torn prefixes.
    `fsync_delay_ms` makes every fsync take that much longer than the backing disk's own:
    a disk's fsync latency, during which a cut loses what the fsync was making durable.
    """

    def __init__(self, backing: Path, mountpoint: Path, *, seed: int = 0, fsync_delay_ms: float = 0.0) -> None:
        if fsync_delay_ms < 0:
            raise ValueError(f"fsync_delay_ms: {fsync_delay_ms} is negative")
        self.backing = Path(backing)
        self.mountpoint = Path(mountpoint)
        self.seed = seed
        self.fsync_delay_ms = fsync_delay_ms
        self._child: JsonChild | None = None

    @property
    def pid(self) -> int | None:
        """The filesystem process (not to be killed by the harness: unmount instead)."""
        return self._child.process.pid if self._child is not None else None

    def mount(self) -> None:
        if self._child is not None:
            raise RuntimeError("already mounted")
        self.backing.mkdir(parents=True, exist_ok=True)
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        where = [str(self.backing.resolve()), str(self.mountpoint.resolve())]
        self._child = JsonChild("faultfs_mount", [*where, str(self.seed), repr(self.fsync_delay_ms)])
        try:
            self._child.reply(timeout=MOUNT_TIMEOUT)
        except ChildFailed as error:
            self.unmount()
            raise PowerLossUnavailable(f"cannot mount the power-loss filesystem on {self.mountpoint}: {error}") from None

    def unmount(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        child.stop()
        if _is_mounted(self.mountpoint):  # the process died without unmounting
            helper = fusermount()
            if helper is not None:
                subprocess.run([helper, "-u", "-z", str(self.mountpoint.resolve())], check=False, capture_output=True)

    def __enter__(self) -> PowerLossFS:
        self.mount()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.unmount()

    def power_cut(self, torn_last_write: bool = False, at: float | None = None) -> CutReport:
        """Drop every write and directory change not durable at `at` (time.monotonic(); by
        default now): an fsync that had not returned by then is lost. Say when and what."""
        when = time.monotonic() if at is None else at
        reply = self._mounted().request("cut", torn=torn_last_write, at=when)["report"]
        torn = reply.pop("torn")
        return CutReport(**_tuples(reply), torn=TornWrite(**torn) if torn else None)

    def stats(self) -> FsStats:
        return FsStats(**self._mounted().request("stats")["stats"])

    def _mounted(self) -> JsonChild:
        if self._child is None:
            raise RuntimeError("not mounted")
        return self._child


def _is_mounted(mountpoint: Path) -> bool:
    # Not os.path.ismount: a mount whose FUSE process died answers ENOTCONN, which ismount
    # takes for "not a mount point"; the kernel's table still lists it.
    target = str(mountpoint.resolve())
    with open("/proc/self/mounts") as table:
        return any(line.split()[1] == target for line in table if len(line.split()) > 1)


def _tuples(reply: dict[str, Any]) -> dict[str, Any]:
    return {name: tuple(value) if isinstance(value, list) else value for name, value in reply.items()}


@functools.cache
def unavailable_reason() -> str | None:
    """None when a power-loss filesystem mounts here; otherwise one line saying why not."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse does not exist (no FUSE in this kernel or container)"
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
    except OSError as error:
        return f"/dev/fuse cannot be opened: {error.strerror}"
    if fusermount() is None:
        return "no fusermount3 or fusermount on PATH (install the fuse3 package)"
    # A trial mount: also reports a missing mfusepy or libfuse (the child's last error line).
    with tempfile.TemporaryDirectory(prefix="noloss-faultfs-probe-") as scratch:
        try:
            with PowerLossFS(Path(scratch) / "disk", Path(scratch) / "mnt"):
                pass
        except PowerLossUnavailable as error:
            return str(error)
    return None
