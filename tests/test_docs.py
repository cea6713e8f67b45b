"""The committed design-review docs are the checker's current output, and their counterexamples replay."""

from __future__ import annotations

import re
from pathlib import Path

from model_check.matrix import run_matrix
from model_check.matrix_render import to_markdown
from model_check.scenarios import DEFAULT_SCENARIOS
from spec.config import PRESETS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_docs_matrix_is_not_stale() -> None:
    """docs/matrix.md is `noloss matrix --format markdown`; regenerate with `python -m model_check.docs_gen`."""
    matrix = run_matrix(list(PRESETS), list(DEFAULT_SCENARIOS))
    assert (DOCS / "matrix.md").read_text() == to_markdown(matrix) + "\n"
    # Every linked counterexample page exists, and every page is linked.
    linked = set(re.findall(r"\]\(counterexamples/([^)]+)\)", (DOCS / "matrix.md").read_text()))
    pages = {path.name for path in (DOCS / "counterexamples").glob("*.md")}
    assert linked == pages
    # check() replays every counterexample through the spec before it is reported.
    assert sum(len(cell.result.violated) for cell in matrix.cells) > len(pages) > 20
