"""`noloss report --out DIR`: the matrix as a static site that works offline.

index.html is the grid (a row per preset or the user's configuration, a column per fault
scenario, each cell coloured by its worst verdict, with every property's verdict on hover
and on click); counterexamples/NAME.html is one page per distinct counterexample with its
sequence diagram as inline SVG, the state change at each step, what prevents it and the
command that replays it; configuration.html holds each row's settings and the user's
source files. One stylesheet, no script, nothing fetched from the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

from noloss.cli.report_svg import sequence_svg
from noloss.cli.rows import Row
from noloss.model_check.check import HOLDS, INCOMPLETE, VIOLATED, Verdict
from noloss.model_check.matrix import Cell, Matrix
from noloss.model_check.protocol import Protocol
from noloss.cli.user_paths import clear_pages
from noloss.model_check.matrix_names import counterexample_name, distinct_violations, links
from noloss.cli.matrix_render import LEGEND, prevention, replay_command, summary, verdicts
from noloss.model_check.render import diagram_events

PAGES = "counterexamples"
CONFIGURATION = "configuration.html"
STYLE = "style.css"

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:1.5em 2em;color:#222}body>*{max-width:80em}
body>table.grid{max-width:none}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}
code,pre{font:13px ui-monospace,monospace}pre{background:#f6f6f6;padding:.6em;overflow-x:auto}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0}
table.grid td{text-align:center;min-width:5em}
td.holds{background:#d8f0d8}td.loss{background:#f4b6b0}td.violated{background:#fde2b8}
td.incomplete{background:#e4e4e4}
td details summary{cursor:pointer;list-style:none;font-weight:600}
.marks{font-weight:400;font-size:12px;color:#444}
td details ul{text-align:left;margin:.3em 0 0;padding-left:1.1em;font-size:12px}
.legend span{display:inline-block;padding:.1em .6em;margin-right:.4em;border:1px solid #ccc}
.verdicts li{margin:.2em 0}.loses{color:#a02318;font-weight:600}.survives{color:#1f6d2a;font-weight:600}
.diagram{overflow-x:auto;border:1px solid #ddd;padding:.5em;background:#fff}
td.step{white-space:nowrap}td.fault{color:#a02318;font-weight:600}ul.changes{margin:0;padding-left:1.1em}
.lineno{color:#999;user-select:none}
"""

_CELL_CLASS = {"loss": "loss", VIOLATED: "violated", INCOMPLETE: "incomplete", HOLDS: "holds"}


def _page(title: str, body: Iterable[str], root: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        f'<link rel="stylesheet" href="{root}{STYLE}"></head>\n<body>\n' + "\n".join(body) + "\n</body></html>\n"
    )


def page_name(cell: Cell, verdict: Verdict) -> str:
    return counterexample_name(cell, verdict).removesuffix(".md") + ".html"


def _worst(matrix: Matrix, cell: Cell) -> str:
    """The colour of a cell: an acknowledged message lost, another violation, a bound, or all holds."""
    protocol = matrix.protocol
    statuses = {v.name: v.status for v in cell.result.verdicts if v.name in protocol.columns}
    if protocol.loss is not None and statuses.get(protocol.loss) == VIOLATED:
        return "loss"
    if VIOLATED in statuses.values():
        return VIOLATED
    return INCOMPLETE if INCOMPLETE in statuses.values() else HOLDS


def _cell_html(matrix: Matrix, cell: Cell, targets: dict[tuple[str, str, str], str]) -> str:
    worst = _worst(matrix, cell)
    columns, labels = matrix.protocol.columns, matrix.protocol.labels
    verdicts = {v.name: v for v in cell.result.verdicts}
    items = []
    hover = []
    for name in columns:
        verdict = verdicts.get(name)
        if verdict is None:
            continue
        text = verdict.status + (f" ({len(verdict.counterexample)} steps)" if verdict.counterexample else "")
        hover.append(f"{name}: {text}")
        target = targets.get((cell.preset, cell.scenario, name))
        shown = f'<a href="{PAGES}/{escape(target)}">{escape(text)}</a>' if target else escape(text)
        items.append(f"<li>{name}: {shown}</li>")
    label = {"loss": "LOSES", VIOLATED: "violated", INCOMPLETE: "incomplete", HOLDS: "holds"}[worst]
    failing = " ".join(labels[name] for name in columns if name in verdicts and verdicts[name].status != HOLDS)
    marks = f'<br><span class="marks">{failing}</span>' if failing else ""
    return (
        f'<td class="{_CELL_CLASS[worst]}" title="{escape(chr(10).join(hover))}">'
        f"<details><summary>{label}{marks}</summary><ul>{''.join(items)}</ul></details></td>"
    )


def _grid(matrix: Matrix, targets: dict[tuple[str, str, str], str]) -> list[str]:
    rows = list(dict.fromkeys(cell.preset for cell in matrix.cells))
    scenarios = list(dict.fromkeys(cell.scenario for cell in matrix.cells))
    by_place = {(cell.preset, cell.scenario): cell for cell in matrix.cells}
    lines = ['<table class="grid"><thead><tr><th>configuration</th>']
    lines += [f"<th>{escape(s)}</th>" for s in scenarios]
    lines.append("</tr></thead><tbody>")
    for row in rows:
        cells = "".join(_cell_html(matrix, by_place[(row, s)], targets) for s in scenarios if (row, s) in by_place)
        lines.append(f'<tr><th><a href="{CONFIGURATION}#{escape(row)}">{escape(row)}</a></th>{cells}</tr>')
    lines.append("</tbody></table>")
    return lines


def _index(matrix: Matrix, rows: Sequence[Row], targets: dict[tuple[str, str, str], str]) -> str:
    body = ["<h1>noloss guarantee matrix</h1>", "<h2>Verdicts</h2>", '<ul class="verdicts">']
    for line in verdicts(matrix):
        text = escape(line).replace("LOSES", '<span class="loses">LOSES</span>')
        text = text.replace("survives", '<span class="survives">survives</span>', 1)
        body.append(f"<li>{text}</li>")
    body.append("</ul>")
    body.append(
        '<p class="legend"><span style="background:#f4b6b0">LOSES</span>an acknowledged message is lost '
        '<span style="background:#fde2b8">violated</span>another property fails '
        '<span style="background:#d8f0d8">holds</span>every property holds '
        '<span style="background:#e4e4e4">incomplete</span>a bound stopped the run. '
        "Under each verdict, the properties that fail ("
        + ", ".join(f"{matrix.protocol.labels[name]} {name}" for name in matrix.protocol.columns)
        + "). Hover a cell for every property's verdict; click it for links to the counterexamples.</p>"
    )
    body += _grid(matrix, targets)
    body.append("<h2>Properties</h2><dl>")
    statements = {v.name: v.statement for cell in matrix.cells for v in cell.result.verdicts}
    body += [f"<dt><code>{name}</code></dt><dd>{escape(statements.get(name, ''))}</dd>" for name in matrix.protocol.columns]
    body.append("</dl>")
    body.append("<h2>Counterexamples</h2><ul>")
    for cell, verdict in distinct_violations(matrix):
        name = page_name(cell, verdict)
        body.append(
            f'<li><a href="{PAGES}/{escape(name)}">{verdict.name}: {escape(cell.preset)} under '
            f"{escape(cell.scenario)}</a> ({len(verdict.counterexample or ())} steps)</li>"
        )
    body.append("</ul>")
    body.append(f'<p>Settings of each row and your source files: <a href="{CONFIGURATION}">configuration</a>.</p>')
    body.append(f"<p><small>{escape(summary(matrix))}. {escape(LEGEND)}</small></p>")
    return _page("noloss guarantee matrix", body)


def _markdown_text(text: str) -> str:
    """The explainer's paragraphs (backticks, `- ` lists) as HTML."""
    html = []
    in_list = False
    for line in text.splitlines():
        inline = _inline_code(escape(line.removeprefix("- ")))
        if line.startswith("- "):
            html.append(("<ul>" if not in_list else "") + f"<li>{inline}</li>")
            in_list = True
            continue
        if in_list:
            html.append("</ul>")
            in_list = False
        if line.strip():
            html.append(f"<p>{inline}</p>")
    if in_list:
        html.append("</ul>")
    return "\n".join(html)


def _inline_code(text: str) -> str:
    parts = text.split("`")
    return "".join(f"<code>{part}</code>" if index % 2 else part for index, part in enumerate(parts))


def _counterexample(matrix: Matrix, cell: Cell, verdict: Verdict, row: Row | None) -> str:
    assert verdict.counterexample is not None
    result = cell.result
    protocol = matrix.protocol
    options = row.options if row is not None else None
    note = protocol.final_note(result, verdict)
    body = [
        '<p><a href="../index.html">matrix</a></p>',
        f"<h1>{verdict.name} violated: {escape(cell.preset)} under {escape(cell.scenario)}</h1>",
        f"<p>{escape(verdict.statement)}.</p>",
        f"<p><strong>{escape(note)}</strong></p>",
        "<h2>Replay</h2>",
        f"<pre>{escape(replay_command(matrix, cell, options))}</pre>",
        "<h2>Sequence</h2>",
        '<div class="diagram">',
        sequence_svg(
            protocol.participants,
            diagram_events(protocol, verdict.counterexample),
            verdict.prefix_length,
            f"{verdict.name} VIOLATED: {note}",
        ),
        "</div>",
        "<h2>Steps and what each changes</h2>",
        "<table><thead><tr><th>#</th><th>step</th><th>state change</th></tr></thead><tbody>",
    ]
    before = result.initial
    for number, step in enumerate(verdict.counterexample, 1):
        if verdict.prefix_length is not None and number == verdict.prefix_length + 1:
            body.append('<tr><td colspan="3"><em>from here the run loops forever (every action treated fairly)</em></td></tr>')
        fault = protocol.is_fault(step.action)
        items = "".join(f"<li>{escape(change)}</li>" for change in protocol.changes(before, step.state))
        body.append(
            f'<tr><td>{number}</td><td class="step{" fault" if fault else ""}">{escape(protocol.step_text(step.action))}'
            f'{" [fault]" if fault else ""}</td><td><ul class="changes">{items}</ul></td></tr>'
        )
        before = step.state
    body.append("</tbody></table>")
    body.append("<h2>What prevents it</h2>")
    body.append(_markdown_text(prevention(matrix, cell, verdict)))
    body.append(f'<h2>Configuration</h2><p><a href="../{CONFIGURATION}#{escape(cell.preset)}">{escape(cell.preset)}: settings and source files</a></p>')
    return _page(f"{verdict.name} violated: {cell.preset} under {cell.scenario}", body, "../")


def _configuration(protocol: Protocol, rows: Sequence[Row]) -> str:
    body = ['<p><a href="index.html">matrix</a></p>', "<h1>Configurations</h1>"]
    for row in rows:
        body.append(f'<h2 id="{escape(row.label)}">{escape(row.label)}</h2>')
        body.append(f"<p>Options: <code>{escape(' '.join(row.options))}</code></p>")
        if row.summary:
            body.append("<pre>" + escape("\n".join(row.summary)) + "</pre>")
        body.append("<table><thead><tr><th>knob</th><th>value</th></tr></thead><tbody>")
        body += [f"<tr><td><code>{k}</code></td><td>{escape(str(v))}</td></tr>" for k, v in protocol.settings(row.config).items()]
        body.append("</tbody></table>")
        for path, text in row.sources:
            body.append(f"<h3>{escape(path)}</h3>")
            numbered = "\n".join(
                f'<span class="lineno">{number:>3}</span>  {escape(line)}' for number, line in enumerate(text.splitlines(), 1)
            )
            body.append(f"<pre>{numbered}</pre>")
    return _page("noloss configurations", body)


def write_site(matrix: Matrix, rows: Sequence[Row], directory: Path) -> list[Path]:
    """Every page of the site under `directory` (made if missing; earlier pages in counterexamples/ replaced)."""
    directory.mkdir(parents=True, exist_ok=True)
    by_label = {row.label: row for row in rows}
    targets = {key: name.removesuffix(".md") + ".html" for key, name in links(matrix).items()}
    written = []

    def write(path: Path, text: str) -> None:
        path.write_text(text, encoding="utf-8")
        written.append(path)

    write(directory / STYLE, _CSS.lstrip())
    write(directory / "index.html", _index(matrix, rows, targets))
    write(directory / CONFIGURATION, _configuration(matrix.protocol, rows))
    folder = directory / PAGES
    clear_pages(folder, ".html")
    for cell, verdict in distinct_violations(matrix):
        write(folder / page_name(cell, verdict), _counterexample(matrix, cell, verdict, by_label.get(cell.preset)))
    return written
