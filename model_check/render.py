"""Reports of a check: text for a terminal, JSON for tools, Mermaid sequence diagrams for docs."""

from __future__ import annotations

from typing import Any

from noloss.model_check.check import HOLDS, INCOMPLETE, CheckResult, Step, Verdict
from noloss.model_check.protocol import DiagramEvent, Protocol


def step_lines(protocol: Protocol, initial: Any, steps: tuple[Step, ...], cycle_from: int | None = None) -> list[str]:
    """Numbered steps: `3. master power-loss  [fault]` then indented `what: old -> new`.

    For a lasso, `cycle_from` is where its cycle starts: marked, and after the last step the
    run goes round it forever (or, for an empty cycle, stops: only faults could move it).
    """
    lines = []
    before = initial
    for number, step in enumerate(steps, 1):
        if cycle_from is not None and number == cycle_from + 1:
            lines.append("      -- from here the run loops forever (every action treated fairly):")
        fault = "  [fault]" if protocol.is_fault(step.action) else ""
        lines.append(f"  {number:>2}. {protocol.step_text(step.action)}{fault}")
        lines.extend(f"        {change}" for change in protocol.changes(before, step.state))
        before = step.state
    if cycle_from is not None and cycle_from == len(steps):
        lines.append("      -- then nothing but a fault can happen: the run stops here")
    return lines


def to_text(protocol: Protocol, result: CheckResult) -> str:
    stats = result.stats
    lines = [f"faults: {result.faults.describe()}"]
    width = max(len(v.name) for v in result.verdicts)
    for verdict in result.verdicts:
        suffix = f"  (counterexample: {len(verdict.counterexample)} steps)" if verdict.counterexample else ""
        lines.append(f"{verdict.name:<{width}}  {verdict.status}{suffix}")
    complete = "" if stats.complete else "  INCOMPLETE: a bound stopped the run"
    lines.append(
        f"states {stats.states:,}  transitions {stats.transitions:,}  depth {stats.depth}  "
        f"{stats.seconds:.2f} s  {stats.states_per_second:,.0f} states/s{complete}"
    )
    if stats.omission_probability is not None:
        lines.append(
            f"fingerprints: 64-bit hashes of states, not states; chance that a hash collision "
            f"hid a state <= {stats.omission_probability:.1e}"
        )
    for verdict in result.violated:
        if not verdict.counterexample:
            lines.append(f"\n{verdict.name}: never reached in the explored graph (the model is vacuous here)")
            continue
        lines.append(f"\n{verdict.name} violated — {verdict.statement}:")
        lines.extend(step_lines(protocol, result.initial, verdict.counterexample, verdict.prefix_length))
        lines.append(f"      {protocol.final_note(result, verdict)}")
    return "\n".join(lines)


def steps_json(protocol: Protocol, steps: tuple[Step, ...]) -> list[dict[str, Any]]:
    return [
        {
            **protocol.action_data(step.action),
            "fault": protocol.is_fault(step.action),
            "state": protocol.state_fields(step.state),
        }
        for step in steps
    ]


def to_json_data(protocol: Protocol, result: CheckResult) -> dict[str, Any]:
    stats = result.stats
    return {
        "config": dict(protocol.settings(result.config)),
        "faults": {
            "kinds": result.faults.bounded(),
            "max_faults": result.faults.max_faults,
            "max_permanent": result.faults.max_permanent,
        },
        "stats": {
            "states": stats.states,
            "transitions": stats.transitions,
            "depth": stats.depth,
            "seconds": round(stats.seconds, 3),
            "complete": stats.complete,
            "omission_probability": stats.omission_probability,
        },
        "properties": [
            {
                "name": v.name,
                "kind": v.kind,
                "statement": v.statement,
                "holds": None if v.status == INCOMPLETE else v.status == HOLDS,
                "status": v.status,
                "counterexample": steps_json(protocol, v.counterexample) if v.counterexample else None,
                "cycle_starts_at": v.prefix_length,
            }
            for v in result.verdicts
        ],
    }


def diagram_event(protocol: Protocol, step: Step) -> DiagramEvent:
    return protocol.diagram_event(step.action, protocol.is_fault(step.action))


def diagram_events(protocol: Protocol, steps: tuple[Step, ...]) -> list[DiagramEvent]:
    return [diagram_event(protocol, step) for step in steps]


def _mermaid_line(protocol: Protocol, step: Step) -> str:
    event = diagram_event(protocol, step)
    if event.style in ("note", "fault"):
        where = event.source if event.source == event.target else f"{event.source},{event.target}"
        return f"    Note over {where}: {event.text}"
    arrow = "-->>" if event.style == "reply" else "->>"
    return f"    {event.source}{arrow}{event.target}: {event.text}"


def to_mermaid(protocol: Protocol, result: CheckResult, verdict: Verdict) -> str:
    """A `sequenceDiagram` of one counterexample."""
    assert verdict.counterexample is not None
    lines = ["sequenceDiagram"]
    lines.extend(f"    participant {name}" for name in protocol.participants)
    for number, step in enumerate(verdict.counterexample):
        if number == verdict.prefix_length:
            lines.append("    loop forever")
        lines.append(_mermaid_line(protocol, step))
    if verdict.prefix_length is not None and verdict.prefix_length < len(verdict.counterexample):
        lines.append("    end")
    first, last = protocol.participants[0], protocol.participants[-1]
    over = first if first == last else f"{first},{last}"
    lines.append(f"    Note over {over}: {verdict.name} VIOLATED: {protocol.final_note(result, verdict)}")
    return "\n".join(lines)


def mermaid_diagrams(protocol: Protocol, result: CheckResult) -> dict[str, str]:
    """Property name -> its counterexample's Mermaid diagram (one diagram each, for one file each)."""
    return {verdict.name: to_mermaid(protocol, result, verdict) for verdict in result.violated if verdict.counterexample}


def to_mermaid_all(protocol: Protocol, result: CheckResult) -> str:
    """Every counterexample as a Mermaid diagram, each block opened by a `%% ----` line that names
    it (a renderer takes one diagram at a time: split on those lines, or use `check --out DIR`)."""
    diagrams = mermaid_diagrams(protocol, result)
    blocks = [
        f"%% ---- diagram {number} of {len(diagrams)}: {name} ----\n{diagram}"
        for number, (name, diagram) in enumerate(diagrams.items(), 1)
    ]
    return "\n\n".join(blocks) if blocks else "%% no property is violated: no counterexample to draw"


def to_markdown(protocol: Protocol, result: CheckResult, preset_name: str) -> str:
    """A Markdown report: a verdict table, then each counterexample as steps and a diagram."""
    lines = [
        f"# noloss check: {preset_name} under {result.faults.describe()}",
        "",
        "| property | kind | verdict | counterexample |",
        "|---|---|---|---:|",
    ]
    for verdict in result.verdicts:
        length = len(verdict.counterexample) if verdict.counterexample else ""
        lines.append(f"| {verdict.name} | {verdict.kind} | {verdict.status} | {length} |")
    stats = result.stats
    lines += ["", f"{stats.states:,} states, {stats.transitions:,} transitions, depth {stats.depth}."]
    for verdict in result.violated:
        if verdict.counterexample:
            steps = "\n".join(step_lines(protocol, result.initial, verdict.counterexample, verdict.prefix_length))
            lines += ["", f"## {verdict.name}", "", "```", steps, f"      {protocol.final_note(result, verdict)}", "```"]
            lines += ["", "```mermaid", to_mermaid(protocol, result, verdict), "```"]
    return "\n".join(lines)
