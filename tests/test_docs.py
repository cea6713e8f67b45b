"""The committed design-review docs are the checker's current output, and their counterexamples replay."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from noloss.model_check.matrix import run_matrix
from noloss.cli.matrix_render import to_markdown, write_out
from noloss.spec.rocketmq.faults import DEFAULT_SCENARIOS
from noloss.spec.rocketmq.config import PRESETS
from noloss.spec.rocketmq.protocol import ROCKETMQ

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.slow
def test_docs_matrix_is_not_stale(tmp_path: Path) -> None:
    """docs/ is `noloss matrix --out docs` (less the JSON); regenerate with `python -m noloss.cli.docs_gen`."""
    matrix = run_matrix(ROCKETMQ, list(PRESETS), list(DEFAULT_SCENARIOS))
    assert (DOCS / "matrix.md").read_text() == to_markdown(matrix) + "\n"
    # The committed counterexample pages are exactly what today's (replayed) counterexamples give.
    write_out(matrix, tmp_path, with_json=False)
    fresh = {path.name: path.read_text() for path in (tmp_path / "counterexamples").glob("*.md")}
    committed = {path.name: path.read_text() for path in (DOCS / "counterexamples").glob("*.md")}
    assert fresh == committed
    # Every linked counterexample page exists, and every page is linked.
    linked = set(re.findall(r"\]\(counterexamples/([^)]+)\)", (DOCS / "matrix.md").read_text()))
    pages = {path.name for path in (DOCS / "counterexamples").glob("*.md")}
    assert linked == pages
    # check() replays every counterexample through the spec before it is reported.
    assert sum(len(cell.result.violated) for cell in matrix.cells) > len(pages) > 20


def test_a_knob_moves_the_matrix_verdict(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Verdicts come from exploration: the same preset name with one knob changed flips its cell."""
    import noloss.spec.rocketmq.config

    cell = lambda: run_matrix(ROCKETMQ, ["probe"], ["net-drop"], jobs=1).cells[0]  # noqa: E731
    status = lambda c: next(v.status for v in c.result.verdicts if v.name == "NoAckedLoss")  # noqa: E731
    monkeypatch.setitem(noloss.spec.rocketmq.config.PRESETS, "probe", PRESETS["oneway"])
    assert status(cell()) == "VIOLATED"
    monkeypatch.setitem(noloss.spec.rocketmq.config.PRESETS, "probe", PRESETS["oneway"].with_settings({"sendMode": "sync"}))
    assert status(cell()) == "holds"


@pytest.mark.slow
def test_docs_findings_is_not_stale() -> None:
    """docs/findings.md is the checker's findings page; regenerate with `python -m noloss.cli.docs_gen`."""
    from noloss.spec.rocketmq.findings import findings_markdown

    assert (DOCS / "findings.md").read_text() == findings_markdown()
