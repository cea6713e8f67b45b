"""Subcommands of `noloss` that run the reference broker and its clients."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: "argparse._SubParsersAction[Any]") -> None:
    """Add the reference broker's subcommands (broker, cluster, produce, consume)."""
