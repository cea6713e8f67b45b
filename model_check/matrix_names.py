"""File names of counterexample pages (shared by the matrix renderer and the explainer)."""

from __future__ import annotations

from noloss.model_check.check import Verdict
from noloss.model_check.matrix import Cell


def counterexample_name(cell: Cell, verdict: Verdict) -> str:
    """File name of one counterexample: `<preset>__<scenario>__<property>.md`."""
    return f"{cell.preset}__{cell.scenario}__{verdict.name}.md"
