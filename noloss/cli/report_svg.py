"""A counterexample as an inline SVG sequence diagram, drawn from its steps (no script, no CDN).

The same events as the Mermaid diagram (`render.diagram_events`): a lifeline per
participant, an arrow where something crosses nodes (a dashed one for a reply), a note box
over the participants a step concerns, red for a fault. Coordinates are computed here, so
the picture needs nothing but a browser.
"""

from __future__ import annotations

from html import escape

from noloss.model_check.protocol import DiagramEvent

_LEFT = 90  # x of the first lifeline
_GAP = 190  # between lifelines
_TOP = 50  # y of the first step
_ROW = 34  # height of one step
_NOTE_HALF = 80  # half the width of a note over one participant
_CHAR = 6.6  # average width of one character at the diagram's font size

_STYLE = (
    "text{font:12px sans-serif}"
    ".head{font-weight:bold}"
    ".life{stroke:#999;stroke-dasharray:4 4}"
    ".call{stroke:#333;fill:none}"
    ".reply{stroke:#333;fill:none;stroke-dasharray:6 3}"
    ".note{fill:#fff8d6;stroke:#c9b458}"
    ".fault{fill:#fde2e1;stroke:#c0392b}"
    ".cycle{fill:none;stroke:#2c6fbb;stroke-dasharray:2 3}"
    ".verdict{fill:#fde2e1;stroke:#c0392b}"
)


Lifelines = tuple[str, ...]  # the protocol's participants, left to right


def _x(lifelines: Lifelines, participant: str) -> int:
    return _LEFT + _GAP * lifelines.index(participant)


def _note(lifelines: Lifelines, y: float, first: str, last: str, text: str, css: str, number: str) -> list[str]:
    left: float = min(_x(lifelines, first), _x(lifelines, last)) - _NOTE_HALF
    right = max(_x(lifelines, first), _x(lifelines, last)) + _NOTE_HALF
    width = max(right - left, len(text) * _CHAR + 16)
    centre = (left + right) / 2
    left = centre - width / 2
    return [
        f'<rect class="{css}" x="{left:.0f}" y="{y - 12:.0f}" width="{width:.0f}" height="22" rx="3"/>',
        f'<text x="{centre:.0f}" y="{y + 3:.0f}" text-anchor="middle">{number}{escape(text)}</text>',
    ]


def _arrow(lifelines: Lifelines, y: float, event: DiagramEvent, number: str) -> list[str]:
    start, end = _x(lifelines, event.source), _x(lifelines, event.target)
    direction = 1 if end > start else -1
    tip = end - 2 * direction
    head = f"{tip},{y} {tip - 8 * direction},{y - 4} {tip - 8 * direction},{y + 4}"
    return [
        f'<line class="{event.style}" x1="{start:.0f}" y1="{y:.0f}" x2="{tip:.0f}" y2="{y:.0f}"/>',
        f'<polygon points="{head}" fill="#333"/>',
        f'<text x="{(start + end) / 2:.0f}" y="{y - 5:.0f}" text-anchor="middle">{number}{escape(event.text)}</text>',
    ]


def sequence_svg(lifelines: Lifelines, events: list[DiagramEvent], cycle_from: int | None, verdict: str) -> str:
    """The whole diagram as one `<svg>` element; `cycle_from` marks a lasso's loop."""
    rows = len(events) + 1
    height = _TOP + _ROW * rows + 20
    width = _LEFT * 2 + _GAP * (len(lifelines) - 1)
    body: list[str] = []
    for name in lifelines:
        x = _x(lifelines, name)
        body.append(f'<line class="life" x1="{x}" y1="30" x2="{x}" y2="{height - 10}"/>')
        body.append(f'<text class="head" x="{x}" y="20" text-anchor="middle">{name}</text>')
    for index, event in enumerate(events):
        y = _TOP + _ROW * index
        number = f"{index + 1}. "
        if event.style in ("call", "reply"):
            body.extend(_arrow(lifelines, y, event, number))
        else:
            body.extend(_note(lifelines, y, event.source, event.target, event.text, event.style, number))
    if cycle_from is not None and cycle_from < len(events):
        top = _TOP + _ROW * cycle_from - _ROW / 2
        bottom = _TOP + _ROW * (len(events) - 1) + _ROW / 2
        body.append(f'<rect class="cycle" x="8" y="{top:.0f}" width="{width - 16}" height="{bottom - top:.0f}"/>')
        body.append(f'<text x="14" y="{top + 12:.0f}">loop forever</text>')
    y = _TOP + _ROW * len(events)
    body.extend(_note(lifelines, y, lifelines[0], lifelines[-1], verdict, "verdict", ""))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sequence" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><style>{_STYLE}</style>' + "".join(body) + "</svg>"
    )
