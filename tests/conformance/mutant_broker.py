"""`noloss` with one mutation of tests/mbt/mutations.py applied, as a real process.

A broker node (what a conformance run's `launcher` starts):

    python -m tests.conformance.mutant_broker MUTATION broker --role ... (as `noloss broker`)

A whole conformance run, from the repository's root: the mutation applies in this process
(the clients: `client_commit_before_process`) and in every broker node it starts
(`reply_before_fsync`, `reply_before_slave_report`):

    python -m tests.conformance.mutant_broker MUTATION conform --target reference ... (as `noloss conform`)

MUTATION is a function name there. The conformance tests run nodes this way to show the
harness catches each mutation.
"""

from __future__ import annotations

import functools
import sys

import pytest

from noloss.cli import main
from noloss.conformance.targets import reference
from tests.mbt import mutations


def launcher(mutation: str) -> list[str]:
    """What replaces `python -m noloss` in a node's command line."""
    return [sys.executable, "-m", "tests.conformance.mutant_broker", mutation]


def mutate(mutation: str) -> pytest.MonkeyPatch:
    """Apply `mutation` here, and make the reference target start its nodes with it too."""
    patch = pytest.MonkeyPatch()
    getattr(mutations, mutation)(patch)
    patch.setattr(reference, "factory", functools.partial(reference.factory, launcher=launcher(mutation)))
    return patch


if __name__ == "__main__":
    if len(sys.argv) < 3 or not hasattr(mutations, sys.argv[1]):
        print("usage: python -m tests.conformance.mutant_broker MUTATION (broker|conform) ARGS...", file=sys.stderr)
        sys.exit(2)
    mutate(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
