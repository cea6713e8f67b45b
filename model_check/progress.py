"""A one-line progress bar on stderr for long explorations: shown on a terminal only.

It shows states, states/s, the BFS level and its frontier, the process's memory, and a guess
at the levels left: once the frontier shrinks from level to level, by the latest ratio r,
about log(frontier) / log(1/r) more levels empty it. Pipes and CI (the CI variable set) get
nothing, so logs stay clean.
"""

from __future__ import annotations

import math
import os
import sys
import time

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes(pid: int | str = "self") -> int:
    """A process's resident memory now (0 where /proc is not there, or the process is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except OSError:
        return 0


def wanted(requested: bool) -> bool:
    """Progress only when asked for and a person is watching."""
    return requested and sys.stderr.isatty() and not os.environ.get("CI")


def levels_left(previous: int, current: int) -> str:
    """A guess at the BFS levels left from the last two frontier sizes ('?' while it grows)."""
    if previous <= 0 or current <= 0 or current >= previous:
        return "?"
    ratio = current / previous
    return f"~{math.ceil(math.log(current) / -math.log(ratio) - 1e-9)}"


class Progress:
    """Redraws at most once a second; `done` ends the line if anything was drawn."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.start = time.perf_counter()
        self.next_report = self.start + 1.0
        self.printed = False
        self.previous_frontier = 0
        self.frontier = 0

    def level(self, frontier: int) -> None:
        """A new BFS level starts with `frontier` states."""
        self.previous_frontier, self.frontier = self.frontier, frontier

    def tick(self, states: int, depth: int, memory_of: tuple[int, ...] = ()) -> None:
        """Redraw if a second has passed; memory is this process's, or that of `memory_of` (pids)."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if now < self.next_report:
            return
        self.next_report = now + 1.0
        rate = states / (now - self.start)
        left = levels_left(self.previous_frontier, self.frontier)
        memory = (sum(map(resident_bytes, memory_of)) if memory_of else resident_bytes()) / 2**20
        line = (
            f"\r{states:>12,} states  {rate:>9,.0f}/s  level {depth} frontier {self.frontier:,}"
            f"  levels left {left}  {memory:,.0f} MiB "
        )
        print(line, end="", file=sys.stderr, flush=True)
        self.printed = True

    def done(self) -> None:
        if self.printed:
            print(file=sys.stderr)
