"""Run `noloss` in-process, as a test would from the shell, with its exit status."""

from __future__ import annotations

from noloss.cli import main


def noloss(*argv: str) -> int:
    try:
        return main(list(argv))
    except SystemExit as exit:
        return int(exit.code or 0)
