"""What the benchmarks print about the machine they share: its load and the CPU they used.

The cores are shared with other work, so a wall time alone measures the neighbours too:
every benchmark prints the load (`uptime`) before and after, and CPU seconds beside wall ones.
"""

from __future__ import annotations

import resource
import subprocess


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def cpu_seconds() -> float:
    """User and system CPU of this process and of its finished children (workers, subprocesses)."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )
