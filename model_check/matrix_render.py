"""The matrix as a text table, a Markdown table (docs/matrix.md), JSON, and counterexample files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from model_check.check import HOLDS, INCOMPLETE, VIOLATED, Verdict
from model_check.explain import COUNTEREXAMPLES, distinct_violations, links, prevention
from model_check.matrix import COLUMNS, Cell, Matrix
from model_check.matrix_names import counterexample_name
from model_check.render import final_note, step_lines, to_json_data, to_mermaid
from spec.faults import FAULT_KINDS

_SHORT = {HOLDS: "holds", VIOLATED: "VIOLATED", INCOMPLETE: "incomplete"}


def _verdicts(cell: Cell) -> dict[str, Verdict]:
    return {verdict.name: verdict for verdict in cell.result.verdicts}


def _vacuity(cell: Cell) -> str:
    """`ok` when every reachability guard is reached, else the ones that are not."""
    missing = [v.name for v in cell.result.verdicts if v.kind == "sometimes" and v.status != HOLDS]
    return "ok" if not missing else "unreached: " + ", ".join(missing)


def _mark(verdict: Verdict | None) -> str:
    if verdict is None:
        return "-"
    text = _SHORT[verdict.status]
    if verdict.counterexample is not None:
        text += f" ({len(verdict.counterexample)})"
    return text


def _summary(matrix: Matrix) -> str:
    states = sum(cell.result.stats.states for cell in matrix.cells)
    largest = max(matrix.cells, key=lambda cell: cell.result.stats.states)
    return (
        f"{len(matrix.cells)} cells ({matrix.explored} distinct models explored), {states:,} states in all, "
        f"{matrix.seconds:.1f} s wall on {matrix.jobs} jobs, {matrix.messages} messages; largest cell: "
        f"{largest.preset} × {largest.scenario}, {largest.result.stats.states:,} states, "
        f"{largest.result.stats.seconds:.1f} s"
    )


def to_text(matrix: Matrix) -> str:
    header = ["preset", "scenario", *COLUMNS, "states", "vacuity"]
    rows = [header]
    for cell in matrix.cells:
        verdicts = _verdicts(cell)
        rows.append(
            [cell.preset, cell.scenario]
            + [_mark(verdicts.get(name)) for name in COLUMNS]
            + [f"{cell.result.stats.states:,}", _vacuity(cell)]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip() for row in rows]
    lines.append("(n): length of the shortest counterexample (a lasso's prefix and cycle for liveness)")
    lines.append(_summary(matrix))
    return "\n".join(lines)


def to_markdown(matrix: Matrix) -> str:
    """A Markdown table; each VIOLATED links to its distinct counterexample under counterexamples/."""
    link = links(matrix)
    lines = [
        "| preset | scenario | " + " | ".join(COLUMNS) + " | states |",
        "|---|---|" + "---|" * len(COLUMNS) + "---:|",
    ]
    for cell in matrix.cells:
        verdicts = _verdicts(cell)
        marks = []
        for name in COLUMNS:
            verdict = verdicts.get(name)
            mark = _mark(verdict)
            target = link.get((cell.preset, cell.scenario, name))
            if target is not None:
                mark = f"[{mark}]({COUNTEREXAMPLES}/{target})"
            marks.append(mark)
        lines.append(f"| {cell.preset} | {cell.scenario} | " + " | ".join(marks) + f" | {cell.result.stats.states:,} |")
    return "\n".join(lines)


def to_json_data_matrix(matrix: Matrix) -> dict[str, Any]:
    return {
        "seconds": round(matrix.seconds, 3),
        "jobs": matrix.jobs,
        "messages": matrix.messages,
        "explored_models": matrix.explored,
        "cells": [{"preset": cell.preset, "scenario": cell.scenario, **to_json_data(cell.result)} for cell in matrix.cells],
    }


def counterexample_markdown(cell: Cell, verdict: Verdict) -> str:
    """One counterexample as a page: numbered steps, then its Mermaid sequence diagram."""
    assert verdict.counterexample is not None
    result = cell.result
    steps = "\n".join(step_lines(result.initial, verdict.counterexample, verdict.prefix_length))
    return (
        f"# {verdict.name} violated: {cell.preset} under {cell.scenario}\n\n"
        f"{verdict.statement}.\n\n"
        f"Replay: `noloss check --preset {cell.preset} --faults {_faults_option(cell)} --max-faults "
        f"{result.faults.max_faults} --messages {result.config.messages}`\n\n"
        f"```\n{steps}\n      {final_note(result, verdict)}\n```\n\n"
        f"```mermaid\n{to_mermaid(result, verdict)}\n```\n"
    )


def _faults_option(cell: Cell) -> str:
    kinds = [f"{kind}*{bound}" for kind, bound in zip(FAULT_KINDS, cell.result.faults.bounds) if bound]
    return ",".join(kinds) or "none"


def write_out(matrix: Matrix, directory: Path, with_json: bool = True) -> list[Path]:
    """matrix.md, counterexamples/ (each distinct violation once) and matrix.json under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "matrix.md"]
    written[0].write_text(to_markdown(matrix) + "\n")
    if with_json:
        written.append(directory / "matrix.json")
        written[-1].write_text(json.dumps(to_json_data_matrix(matrix), indent=2) + "\n")
    folder = directory / COUNTEREXAMPLES
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    for cell, verdict in distinct_violations(matrix):
        text = counterexample_markdown(cell, verdict)
        text += f"\n## What prevents it\n\n{prevention(matrix, cell, verdict)}\n"
        path = folder / counterexample_name(cell, verdict)
        path.write_text(text)
        written.append(path)
    return written
