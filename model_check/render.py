"""Reports of a check: text for a terminal, JSON for tools, Mermaid sequence diagrams for docs."""

from __future__ import annotations

from typing import Any

from model_check.check import HOLDS, INCOMPLETE, CheckResult, Step, Verdict
from model_check.describe import changes, fields
from spec.actions import Action
from spec.faults import FAULT_KINDS
from spec.properties import acked_messages, lost_messages
from spec.model import Model
from spec.state import STATUS_NAMES, State


def _message(action: Action) -> str | None:
    return None if action.message is None else f"m{action.message}"


def step_lines(initial: State, steps: tuple[Step, ...], cycle_from: int | None = None) -> list[str]:
    """Numbered steps: `3. master power-loss  [fault]` then indented `what: old -> new`.

    For a lasso, `cycle_from` is where its cycle starts: marked, and after the last step the
    run goes round it forever (or, for an empty cycle, stops: only faults could move it).
    """
    lines = []
    before = initial
    for number, step in enumerate(steps, 1):
        if cycle_from is not None and number == cycle_from + 1:
            lines.append("      -- from here the run loops forever (every action treated fairly):")
        fault = "  [fault]" if Model.is_fault(step.action) else ""
        lines.append(f"  {number:>2}. {step.action}{fault}")
        lines.extend(f"        {change}" for change in changes(before, step.state))
        before = step.state
    if cycle_from is not None and cycle_from == len(steps):
        lines.append("      -- then nothing but a fault can happen: the run stops here")
    return lines


def final_note(result: CheckResult, verdict: Verdict) -> str:
    model = Model(result.config, result.faults)
    last = verdict.counterexample[-1].state if verdict.counterexample else result.initial
    if verdict.name == "NoAckedLoss":
        lost = lost_messages(model, last)
        return "lost: " + ", ".join(f"m{m}" for m in lost) + " (acknowledged, never processed, no longer held)"
    if verdict.is_lasso:
        waiting = [f"m{m}" for m in acked_messages(model, last) if last.delivered[m] == 0]
        return "never processed: " + ", ".join(waiting) + " (acknowledged)"
    if verdict.name in ("NoDuplicateProcessing", "ExactlyOnceEffect"):
        counts = last.delivered if verdict.name == "NoDuplicateProcessing" else last.effects
        return "twice: " + ", ".join(f"m{m}" for m, n in enumerate(counts) if n > 1)
    return f"{verdict.name} is false in the last state"


def to_text(result: CheckResult) -> str:
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
    for verdict in result.violated:
        if not verdict.counterexample:
            lines.append(f"\n{verdict.name}: never reached in the explored graph (the model is vacuous here)")
            continue
        lines.append(f"\n{verdict.name} violated — {verdict.statement}:")
        lines.extend(step_lines(result.initial, verdict.counterexample, verdict.prefix_length))
        lines.append(f"      {final_note(result, verdict)}")
    return "\n".join(lines)


def steps_json(steps: tuple[Step, ...]) -> list[dict[str, Any]]:
    return [
        {
            "actor": step.action.actor,
            "action": step.action.verb,
            "message": _message(step.action),
            "arg": list(step.action.arg),
            "fault": Model.is_fault(step.action),
            "state": fields(step.state),
        }
        for step in steps
    ]


def to_json_data(result: CheckResult) -> dict[str, Any]:
    stats = result.stats
    return {
        "config": result.config.settings(),
        "faults": {
            "kinds": {kind: bound for kind, bound in zip(FAULT_KINDS, result.faults.bounds) if bound},
            "max_faults": result.faults.max_faults,
            "max_permanent": result.faults.max_permanent,
        },
        "stats": {
            "states": stats.states,
            "transitions": stats.transitions,
            "depth": stats.depth,
            "seconds": round(stats.seconds, 3),
            "complete": stats.complete,
        },
        "properties": [
            {
                "name": v.name,
                "kind": v.kind,
                "statement": v.statement,
                "holds": None if v.status == INCOMPLETE else v.status == HOLDS,
                "status": v.status,
                "counterexample": steps_json(v.counterexample) if v.counterexample else None,
                "cycle_starts_at": v.prefix_length,
            }
            for v in result.verdicts
        ],
    }


_PARTICIPANTS = ("Producer", "Master", "Slave", "Consumer")


def _mermaid_line(step: Step) -> str:
    """One diagram line per step: an arrow where something crosses nodes, a note otherwise."""
    action = step.action
    m = _message(action) or ""
    actor = action.actor
    verb = action.verb
    if Model.is_fault(action):
        where = {"both": "Master,Slave", "net": "Producer,Master"}.get(actor, actor.capitalize())
        return f"    Note over {where}: FAULT {verb} {m}".rstrip()
    if actor == "producer" and verb == "send":
        return f"    Producer->>Master: send {m}"
    if actor == "producer" and verb == "receive":
        attempt, status = action.arg
        return f"    Master-->>Producer: {STATUS_NAMES[status]} {m} #{attempt}"
    if actor == "slave" and verb == "replicate":
        return "    Master->>Slave: replicate"
    if actor == "consumer" and verb in ("consume", "consume-fail", "pull-and-ack"):
        return f"    Note over Consumer: {verb} {m}"
    if actor == "consumer" and verb in ("ack", "send-back"):
        return f"    Consumer->>Master: {verb} {m}"
    return f"    Note over {actor.capitalize()}: {verb} {m}".rstrip()


def to_mermaid(result: CheckResult, verdict: Verdict) -> str:
    """A `sequenceDiagram` of one counterexample."""
    assert verdict.counterexample is not None
    lines = ["sequenceDiagram"]
    lines.extend(f"    participant {name}" for name in _PARTICIPANTS)
    for number, step in enumerate(verdict.counterexample):
        if number == verdict.prefix_length:
            lines.append("    loop forever")
        lines.append(_mermaid_line(step))
    if verdict.prefix_length is not None and verdict.prefix_length < len(verdict.counterexample):
        lines.append("    end")
    lines.append(f"    Note over Producer,Consumer: {verdict.name} VIOLATED: {final_note(result, verdict)}")
    return "\n".join(lines)


def to_mermaid_all(result: CheckResult) -> str:
    """Every counterexample of the result as a Mermaid diagram, or a note that there is none."""
    blocks = [
        f"%% {verdict.name}\n{to_mermaid(result, verdict)}" for verdict in result.violated if verdict.counterexample
    ]
    return "\n\n".join(blocks) if blocks else "%% no property is violated: no counterexample to draw"


def to_markdown(result: CheckResult, preset_name: str) -> str:
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
            steps = "\n".join(step_lines(result.initial, verdict.counterexample, verdict.prefix_length))
            lines += ["", f"## {verdict.name}", "", "```", steps, f"      {final_note(result, verdict)}", "```"]
            lines += ["", "```mermaid", to_mermaid(result, verdict), "```"]
    return "\n".join(lines)
