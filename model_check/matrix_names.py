"""File names of counterexample pages (shared by the matrix renderer and the explainer)."""

from __future__ import annotations

from pathlib import Path

from noloss.model_check.check import Verdict
from noloss.model_check.matrix import Cell


def counterexample_name(cell: Cell, verdict: Verdict) -> str:
    """File name of one counterexample: `<preset>__<scenario>__<property>.md`."""
    return f"{cell.preset}__{cell.scenario}__{verdict.name}.md"


def clear_pages(folder: Path, suffix: str) -> None:
    """Make `folder` hold no page of an earlier run: remove the files named as pages are
    (`<a>__<b>__<c><suffix>`), so that a page whose violation is gone does not linger, and leave
    every other file alone (the folder may be the user's own)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.glob(f"*__*__*{suffix}"):
        if path.is_file():
            path.unlink()
