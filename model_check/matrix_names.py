"""Counterexample pages of a matrix: which violations are distinct, and their file names.

Two violations are the same when they break the same property by the same steps (presets of
one model give the same ones): each gets one page, under COUNTEREXAMPLES.
"""

from __future__ import annotations

from noloss.model_check.check import Verdict
from noloss.model_check.matrix import Cell, Matrix

COUNTEREXAMPLES = "counterexamples"


def counterexample_name(cell: Cell, verdict: Verdict) -> str:
    """File name of one counterexample: `<preset>__<scenario>__<property>.md`."""
    return f"{cell.preset}__{cell.scenario}__{verdict.name}.md"


def distinct_violations(matrix: Matrix) -> list[tuple[Cell, Verdict]]:
    """Each (property, steps) once, first in matrix order."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    found = []
    for cell in matrix.cells:
        for verdict in cell.result.violated:
            if verdict.counterexample is None:
                continue
            key = _violation_key(matrix, verdict)
            if key not in seen:
                seen.add(key)
                found.append((cell, verdict))
    return found


def links(matrix: Matrix) -> dict[tuple[str, str, str], str]:
    """(preset, scenario, property) -> file of its distinct counterexample."""
    first: dict[tuple[str, tuple[str, ...]], str] = {}
    links = {}
    for cell in matrix.cells:
        for verdict in cell.result.violated:
            if verdict.counterexample is None:
                continue
            name = first.setdefault(_violation_key(matrix, verdict), counterexample_name(cell, verdict))
            links[(cell.preset, cell.scenario, verdict.name)] = name
    return links


def _violation_key(matrix: Matrix, verdict: Verdict) -> tuple[str, tuple[str, ...]]:
    assert verdict.counterexample is not None
    return (verdict.name, tuple(matrix.protocol.step_text(step.action) for step in verdict.counterexample))
