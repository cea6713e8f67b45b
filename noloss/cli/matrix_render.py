"""The matrix as a text table, a Markdown table (docs/matrix.md), JSON, and counterexample files.

Any protocol's: its columns, labels and words come from the matrix's `Protocol`.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

from noloss.cli import shell_words
from noloss.cli.protocols import protocol_option
from noloss.model_check.check import HOLDS, INCOMPLETE, VIOLATED, Verdict
from noloss.model_check.matrix import Cell, Matrix
from noloss.cli.user_paths import clear_pages
from noloss.model_check.matrix_names import COUNTEREXAMPLES, counterexample_name, distinct_violations, links
from noloss.model_check.render import step_lines, to_json_data, to_mermaid

WIDTH = 100  # the text report fits a terminal this wide
_TERSE = {HOLDS: "ok", VIOLATED: "X", INCOMPLETE: "?"}
LEGEND = "ok holds; X(n) violated, shortest counterexample n steps; ? incomplete (a bound stopped it); - not checked"


def _verdicts(cell: Cell) -> dict[str, Verdict]:
    return {verdict.name: verdict for verdict in cell.result.verdicts}


def _vacuity(cell: Cell) -> str:
    """`ok` when every reachability guard is reached, else the ones that are not."""
    missing = [v.name for v in cell.result.verdicts if v.kind == "sometimes" and v.status != HOLDS]
    return "ok" if not missing else "unreached: " + ", ".join(missing)


def _mark(verdict: Verdict | None) -> str:
    if verdict is None:
        return "-"
    text = verdict.status
    if verdict.counterexample is not None:
        text += f" ({len(verdict.counterexample)})"
    return text


def summary(matrix: Matrix) -> str:
    states = sum(cell.result.stats.states for cell in matrix.cells)
    largest = max(matrix.cells, key=lambda cell: cell.result.stats.states)
    return (
        f"{len(matrix.cells)} cells ({matrix.explored} distinct models explored), {states:,} states in all, "
        f"{matrix.seconds:.1f} s wall on {matrix.jobs} jobs, {matrix.messages} messages; largest cell: "
        f"{largest.preset} × {largest.scenario}, {largest.result.stats.states:,} states, "
        f"{largest.result.stats.seconds:.1f} s"
    )


def _terse(verdict: Verdict | None) -> str:
    if verdict is None:
        return "-"
    text = _TERSE[verdict.status]
    return text + (f"({len(verdict.counterexample)})" if verdict.counterexample is not None else "")


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip() for row in rows]


def _table(matrix: Matrix) -> list[str]:
    """One table, or one per row when the row names and scenarios would not fit WIDTH."""
    columns = matrix.protocol.columns
    labels = [matrix.protocol.labels[name] for name in columns]

    def marks(cell: Cell) -> list[str]:
        verdicts = _verdicts(cell)
        return [_terse(verdicts.get(name)) for name in columns] + [f"{cell.result.stats.states:,}"]

    flat = _columns(
        [["configuration", "scenario", *labels, "states"]]
        + [[cell.preset, cell.scenario, *marks(cell)] for cell in matrix.cells]
    )
    if max(map(len, flat)) <= WIDTH:
        return flat
    lines: list[str] = []
    for row in dict.fromkeys(cell.preset for cell in matrix.cells):
        lines += ["", f"{row}:"]
        cells = [cell for cell in matrix.cells if cell.preset == row]
        lines += _columns([["  scenario", *labels, "states"]] + [["  " + cell.scenario, *marks(cell)] for cell in cells])
    return lines[1:]


def _wrapped(text: str, indent: str = "    ") -> list[str]:
    return textwrap.wrap(text, WIDTH, subsequent_indent=indent, break_on_hyphens=False)


def legend_lines(matrix: Matrix) -> list[str]:
    """What each column label and mark means."""
    protocol = matrix.protocol
    statements = {v.name: v.statement for cell in matrix.cells for v in cell.result.verdicts}
    lines = _wrapped(LEGEND)
    for name in protocol.columns:
        statement = statements.get(name, "not checked in this matrix")
        lines += _wrapped(f"{protocol.labels[name]:<5} = {name}: {statement}", " " * 8)
    return lines


def _vacuity_lines(matrix: Matrix) -> list[str]:
    unreached = [f"{cell.preset} × {cell.scenario}: {_vacuity(cell)}" for cell in matrix.cells if _vacuity(cell) != "ok"]
    if not unreached:
        return ["reachability guards (a message is acknowledged, processed, each fault happens): all reached"]
    return ["reachability guards not reached (the model is vacuous there):", *("  " + line for line in unreached)]


def _same_model(matrix: Matrix) -> dict[str, tuple[str, str]]:
    """Row -> (an earlier row of the same model, the settings in which they differ)."""
    protocol = matrix.protocol
    configs = {cell.preset: cell.result.config for cell in matrix.cells}
    first: dict[Hashable, str] = {}
    same = {}
    for row, config in configs.items():
        earlier = first.setdefault(protocol.model_key(config), row)
        if earlier != row:
            theirs = protocol.settings(configs[earlier])
            differing = [f"{key}={value}" for key, value in protocol.settings(config).items() if theirs[key] != value]
            same[row] = (earlier, ", ".join(differing))
    return same


def verdict_lines(matrix: Matrix) -> list[str]:
    """The verdicts, wrapped to WIDTH (continuation lines indented)."""
    return [line for verdict in verdicts(matrix) for line in _wrapped(verdict)]


# A cell that loses nothing but leaves an acknowledged message only in %DLQ% or on a slave no
# consumer reads: the verdict line must not call it safe without saying so.
STRANDED = "STRANDED"


def _loss_status(matrix: Matrix, cell: Cell) -> str | None:
    """The loss property's status (NoAckedLoss), or STRANDED where it holds and the stranded
    one (NoAckedStranded) is violated."""
    verdicts = _verdicts(cell)
    protocol = matrix.protocol
    loss = verdicts.get(protocol.loss) if protocol.loss is not None else None
    if loss is None:
        return None
    stranded = verdicts.get(protocol.stranded) if protocol.stranded is not None else None
    if loss.status == HOLDS and stranded is not None and stranded.status == VIOLATED:
        return STRANDED
    return loss.status


def verdicts(matrix: Matrix) -> list[str]:
    """One line per row: the scenarios that lose an acknowledged message, those that strand one, and
    those it survives."""
    same = _same_model(matrix)
    lines = []
    for row in dict.fromkeys(cell.preset for cell in matrix.cells):
        if row in same:
            earlier, differing = same[row]
            together = " together" if "," in differing else ""
            what = f"{differing}{together} cannot change a verdict" if differing else "the same settings"
            lines.append(f"{row}: same model as {earlier}: {what}")
            continue
        by_status: dict[str, list[str]] = {HOLDS: [], VIOLATED: [], INCOMPLETE: [], STRANDED: []}
        for cell in matrix.cells:
            if cell.preset == row:
                status = _loss_status(matrix, cell)
                if status is not None:
                    by_status[status].append("no fault" if cell.scenario == "none" else cell.scenario)
        parts = []
        if by_status[VIOLATED]:
            parts.append("LOSES an acknowledged message under " + ", ".join(by_status[VIOLATED]))
        if by_status[STRANDED]:
            parts.append(
                "STRANDS one (kept only where an operator can recover it) under " + ", ".join(by_status[STRANDED])
            )
        if by_status[HOLDS]:
            prefix = "survives " if by_status[VIOLATED] or by_status[STRANDED] else "loses no acknowledged message under "
            parts.append(prefix + ", ".join(by_status[HOLDS]))
        if by_status[INCOMPLETE]:
            parts.append("undecided (a bound stopped the run) under " + ", ".join(by_status[INCOMPLETE]))
        lines.append(f"{row}: " + "; ".join(parts))
    return lines


def to_text(matrix: Matrix, header: Sequence[str] = ()) -> str:
    """Verdict lines first, then `header` (what the user's files said), the table (within WIDTH
    columns), its legend and the run's size."""
    # The header names the user's files and keys, often longer than WIDTH: wrapped under its own indent.
    wrapped_header = [part for line in header for part in _wrapped(line, " " * (len(line) - len(line.lstrip()) + 4))]
    lines = verdict_lines(matrix) + [""] + [*wrapped_header, *([""] if header else [])]
    lines += _table(matrix) + [""] + legend_lines(matrix) + _vacuity_lines(matrix)
    lines += _wrapped(summary(matrix))
    return "\n".join(lines)


def to_markdown(matrix: Matrix) -> str:
    """A Markdown table; each VIOLATED links to its distinct counterexample under counterexamples/."""
    link = links(matrix)
    columns = matrix.protocol.columns
    lines = [
        "| preset | scenario | " + " | ".join(columns) + " | states |",
        "|---|---|" + "---|" * len(columns) + "---:|",
    ]
    for cell in matrix.cells:
        verdicts = _verdicts(cell)
        marks = []
        for name in columns:
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
        "protocol": matrix.protocol.name,
        "seconds": round(matrix.seconds, 3),
        "jobs": matrix.jobs,
        "messages": matrix.messages,
        "explored_models": matrix.explored,
        "cells": [{"preset": cell.preset, "scenario": cell.scenario, **to_json_data(matrix.protocol, cell.result)} for cell in matrix.cells],
    }


def replay_command(matrix: Matrix, cell: Cell, options: Sequence[str] | None = None) -> str:
    """The `noloss check` command that finds this cell's counterexamples, quoted for any POSIX
    shell and zsh (`master-crash*1` unquoted is a glob there). `options` rebuild the row's
    configuration (default: `--preset ROW`, after `--protocol NAME` for a protocol but the default)."""
    protocol = matrix.protocol
    if options is None:
        options = (*protocol_option(protocol.name), "--preset", cell.preset)
    argv = ["noloss", "check", *options]
    argv += ["--faults", _faults_option(cell), "--max-faults", str(cell.result.faults.max_faults)]
    if protocol.size_knob is not None:
        argv += ["--messages", str(protocol.settings(cell.result.config)[protocol.size_knob])]
    return shell_words.join(argv)


def counterexample_markdown(matrix: Matrix, cell: Cell, verdict: Verdict, options: Sequence[str] | None = None) -> str:
    """One counterexample as a page: numbered steps, then its Mermaid sequence diagram."""
    assert verdict.counterexample is not None
    protocol = matrix.protocol
    result = cell.result
    steps = "\n".join(step_lines(protocol, result.initial, verdict.counterexample, verdict.prefix_length))
    return (
        f"# {verdict.name} violated: {cell.preset} under {cell.scenario}\n\n"
        f"{verdict.statement}.\n\n"
        f"Replay: `{replay_command(matrix, cell, options)}`\n\n"
        f"```\n{steps}\n      {protocol.final_note(result, verdict)}\n```\n\n"
        f"```mermaid\n{to_mermaid(protocol, result, verdict)}\n```\n"
    )


def prevention(matrix: Matrix, cell: Cell, verdict: Verdict) -> str:
    """What prevents this violation: the protocol's own words where it has them, else the
    presets under which the same scenario keeps the property, and the knobs in which they differ."""
    words = matrix.protocol.prevention(matrix, cell, verdict)
    if words is not None:
        return words
    keeping = [
        other
        for other in matrix.cells
        if other.scenario == cell.scenario
        and any(v.name == verdict.name and v.status == HOLDS for v in other.result.verdicts)
    ]
    if not keeping:
        return f"No preset in the matrix keeps {verdict.name} under {cell.scenario}."
    lines = [f"Under {cell.scenario}, these presets keep {verdict.name} (what they set differently):"]
    lines += [f"- `{other.preset}`: {_differences(matrix, cell, other)}" for other in keeping]
    return "\n".join(lines)


def _differences(matrix: Matrix, mine: Cell, theirs: Cell) -> str:
    settings = matrix.protocol.settings
    own = settings(mine.result.config)
    changed = [f"{key}={value}" for key, value in settings(theirs.result.config).items() if own[key] != value]
    return ", ".join(changed) or "the same settings"


def _faults_option(cell: Cell) -> str:
    return ",".join(f"{kind}*{bound}" for kind, bound in cell.result.faults.bounded().items()) or "none"


def write_out(
    matrix: Matrix, directory: Path, with_json: bool = True, options: Mapping[str, Sequence[str]] | None = None
) -> list[Path]:
    """matrix.md, counterexamples/ (each distinct violation once) and matrix.json under `directory`.

    `options`: row -> the `noloss check` options that rebuild its configuration (replay lines).
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "matrix.md"]
    written[0].write_text(to_markdown(matrix) + "\n")
    if with_json:
        written.append(directory / "matrix.json")
        written[-1].write_text(json.dumps(to_json_data_matrix(matrix), indent=2) + "\n")
    folder = directory / COUNTEREXAMPLES
    clear_pages(folder, ".md")
    for cell, verdict in distinct_violations(matrix):
        text = counterexample_markdown(matrix, cell, verdict, (options or {}).get(cell.preset))
        text += f"\n## What prevents it\n\n{prevention(matrix, cell, verdict)}\n"
        path = folder / counterexample_name(cell, verdict)
        path.write_text(text)
        written.append(path)
    return written
