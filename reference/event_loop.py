"""Which event loop runs a broker node or a benchmark's clients: uvloop's (libuv, its
transports in C) when it is installed, else asyncio's own.

Who does what: `noloss broker --event-loop` and the benchmarks call `run`; nothing else
depends on the loop. Measured on the 2-core machine (benchmarks/broker_throughput.py,
docs/protocol.md), uvloop's gain is small and not steady: a mean of 12,843 msgs/s against
asyncio's 11,976 over six turns, then 11,613 and 13,772 against 12,545 and 13,910 with the
final send path; most of a send's server time is system calls and the fsync hand-off,
which no loop removes. It is a dependency where PyPI has it
(not on Windows); asyncio's loop stays the fallback and the reference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
CHOICES = ("auto", "uvloop", "asyncio")


def available() -> bool:
    """Whether uvloop can be imported here."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def resolve(choice: str) -> str:
    """`auto` becomes uvloop when it is installed, asyncio otherwise; ValueError when
    uvloop is asked for and missing."""
    if choice not in CHOICES:
        raise ValueError(f"event loop {choice!r} is not one of {', '.join(CHOICES)}")
    if choice == "auto":
        return "uvloop" if available() else "asyncio"
    if choice == "uvloop" and not available():
        raise ValueError("event loop 'uvloop' is not installed (pip install uvloop)")
    return choice


def run(coroutine: Coroutine[Any, Any, T], choice: str = "auto") -> T:
    """Run `coroutine` to completion on a fresh loop of the chosen kind."""
    if resolve(choice) == "uvloop":
        import uvloop

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)
