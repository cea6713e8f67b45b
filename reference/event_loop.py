"""Which event loop runs a broker node or a benchmark's clients: uvloop's (libuv, its
transports in C) when it is installed, else asyncio's own.

Who does what: `noloss broker --event-loop` and the benchmarks call `run`; nothing else
depends on the loop. uvloop pays on the hot path — every send is a socket read, a
decode, a socket write — see benchmarks/broker_throughput.py. It is a dependency where
PyPI has it (not on Windows); asyncio's loop stays the fallback and the reference.
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
