"""Run `noloss` in-process and capture what a user would see."""

from __future__ import annotations

import pytest

from noloss.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """main's exit status (argparse's own errors exit through SystemExit), stdout, stderr."""
    try:
        code = main(list(argv))
    except SystemExit as exit:
        code = int(exit.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
