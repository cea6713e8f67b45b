"""`noloss` with one broker mutation of tests/mbt/mutations.py applied, as a real process:

    python -m tests.conformance.mutant_broker MUTATION broker --role ... (as `noloss broker`)

MUTATION is a function name there (`reply_before_fsync`, ...). The conformance tests run
a target's nodes this way (ReferenceTarget's `launcher`) to show the harness catches it.
"""

from __future__ import annotations

import sys

import pytest

from noloss.cli import main
from tests.mbt import mutations


def launcher(mutation: str) -> list[str]:
    """What replaces `python -m noloss` in a node's command line."""
    return [sys.executable, "-m", "tests.conformance.mutant_broker", mutation]


if __name__ == "__main__":
    getattr(mutations, sys.argv[1])(pytest.MonkeyPatch())
    sys.exit(main(sys.argv[2:]))
