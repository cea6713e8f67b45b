"""Group commit on a thread of its own: the commit log's fsyncs run back to back, off the
event loop, while appends wait for them (RocketMQ's GroupCommitService).

Who does what: the shell (server.py) calls `request` after it has appended bytes the
core wants flushed; this thread notes the log's size, runs fdatasync, and hands that
size to `flushed` (which the shell points at its event loop), with the count of cuts. A request made while an
fsync runs is served by the next one, which covers every byte appended meanwhile: that
is the sharing. The next fsync starts as soon as the last one returns, not when the
event loop gets round to it — a loop busy with a burst of sends would otherwise leave
the disk idle, and every waiting send would wait longer.

Safety: the size is read before the fsync starts, and a byte counts in it only once its
pwrite has returned (FileLog.append), so `flushed(offset)` never reports a byte the
fsync may have missed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from noloss.reference.storage import LogFile

THREAD_NAME = "fsync-group-commit"


def timed_sync(log: LogFile) -> float:
    """fsync `log`; return the wall time it took (how long the disk held the caller)."""
    began = time.perf_counter()
    log.sync()
    return time.perf_counter() - began


class GroupCommit:
    """One thread that fsyncs `log` whenever asked, at most one fsync at a time."""

    def __init__(self, log: LogFile, flushed: Callable[[int, int], None]) -> None:
        self._log = log
        self._flushed = flushed
        self._wake = threading.Condition()
        self._wanted = False
        self._stopping = False
        self.fsyncs = 0
        """fsyncs finished so far."""
        self.fsync_seconds = 0.0
        """Wall time spent in them: beside the time running, how busy the disk kept this thread."""
        self.cuts = 0
        """How many times the log was cut (`cut`). Each fsync hands `flushed` the count as
        it was when the fsync began, with the offset: a cut since then voids the offset."""
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request(self) -> None:
        """Ask for an fsync covering everything appended so far; return at once."""
        with self._wake:
            if not self._wanted:
                self._wanted = True
                self._wake.notify()

    def cut(self) -> None:
        """The shell cut the log (on its event loop): fsyncs running now report a stale end."""
        self.cuts += 1

    def stop(self) -> None:
        """Let the fsync that is running finish (its `flushed` call included), run no
        other, and return once the thread is gone. Blocks: call it off the event loop."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not (self._wanted or self._stopping):
                    self._wake.wait()
                if self._stopping:
                    return
                self._wanted = False
            cuts = self.cuts
            offset = self._log.size()
            self.fsync_seconds += timed_sync(self._log)
            self.fsyncs += 1
            self._flushed(offset, cuts)
