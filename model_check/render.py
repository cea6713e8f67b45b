"""Reports of a check: text for a terminal, JSON for tools, Mermaid sequence diagrams for docs."""

from __future__ import annotations

from typing import Any, NamedTuple

from noloss.model_check.check import HOLDS, INCOMPLETE, CheckResult, Step, Verdict
from noloss.spec.rocketmq.describe import changes, fields
from noloss.spec.rocketmq.actions import Action, Reply, arg_of
from noloss.spec.rocketmq.faults import FAULT_KINDS
from noloss.spec.rocketmq.properties import acked_messages, lost_messages, unreached_messages
from noloss.spec.rocketmq.model import Model
from noloss.spec.rocketmq.state import STATUS_NAMES, State


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
        return "lost: " + ", ".join(f"m{m}" for m in lost) + " (acknowledged, never processed, no longer deliverable)"
    if verdict.name == "NoAckedStranded":
        # Unreached is lost or stranded; say which, so a stranded copy is never taken for safe.
        lost_ones = set(lost_messages(model, last))
        unreached = [
            f"m{m} " + ("lost" if m in lost_ones else "stranded: on disk, only an operator can reach it")
            for m in unreached_messages(model, last)
        ]
        return "unreached: " + ", ".join(unreached) + " (acknowledged, no consumer will read it)"
    if verdict.is_lasso:
        waiting = [f"m{m}" for m in acked_messages(model, last) if last.processed[m] == 0]
        return "never processed: " + ", ".join(waiting) + " (acknowledged)"
    if verdict.name in ("NoDuplicateProcessing", "ExactlyOnceEffect"):
        counts = last.processed if verdict.name == "NoDuplicateProcessing" else last.effects
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
        lines.extend(step_lines(result.initial, verdict.counterexample, verdict.prefix_length))
        lines.append(f"      {final_note(result, verdict)}")
    return "\n".join(lines)


def steps_json(steps: tuple[Step, ...]) -> list[dict[str, Any]]:
    return [
        {
            "actor": step.action.actor,
            "action": step.action.verb,
            "message": _message(step.action),
            "arg": None if step.action.arg is None else step.action.arg._asdict(),
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
            "omission_probability": stats.omission_probability,
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


PARTICIPANTS = ("Producer", "Master", "Slave", "Consumer")


class DiagramEvent(NamedTuple):
    """One step as a sequence diagram draws it: an arrow from `source` to `target` (style
    `call`, or `reply` dashed), or a note over `source`..`target` (style `note` or `fault`)."""

    style: str
    source: str
    target: str
    text: str


def diagram_event(step: Step) -> DiagramEvent:
    """An arrow where something crosses nodes, a note otherwise (every diagram format uses this)."""
    action = step.action
    m = _message(action) or ""
    actor = action.actor
    verb = action.verb
    if Model.is_fault(action):
        first, last = {"both": ("Master", "Slave"), "net": ("Producer", "Master")}.get(actor, (actor.capitalize(),) * 2)
        return DiagramEvent("fault", first, last, f"FAULT {verb} {m}".rstrip())
    if actor == "producer" and verb == "send":
        return DiagramEvent("call", "Producer", "Master", f"send {m}")
    if actor == "producer" and verb == "receive":
        reply = arg_of(action, Reply)
        return DiagramEvent("reply", "Master", "Producer", f"{STATUS_NAMES[reply.status]} {m} #{reply.attempt}")
    if actor == "slave" and verb == "replicate":
        return DiagramEvent("call", "Master", "Slave", "replicate")
    if actor == "consumer" and verb in ("commit", "send-back"):
        return DiagramEvent("call", "Consumer", "Master", f"{verb} {m}")
    return DiagramEvent("note", actor.capitalize(), actor.capitalize(), f"{verb} {m}".rstrip())


def diagram_events(steps: tuple[Step, ...]) -> list[DiagramEvent]:
    return [diagram_event(step) for step in steps]


def _mermaid_line(step: Step) -> str:
    event = diagram_event(step)
    if event.style in ("note", "fault"):
        where = event.source if event.source == event.target else f"{event.source},{event.target}"
        return f"    Note over {where}: {event.text}"
    arrow = "-->>" if event.style == "reply" else "->>"
    return f"    {event.source}{arrow}{event.target}: {event.text}"


def to_mermaid(result: CheckResult, verdict: Verdict) -> str:
    """A `sequenceDiagram` of one counterexample."""
    assert verdict.counterexample is not None
    lines = ["sequenceDiagram"]
    lines.extend(f"    participant {name}" for name in PARTICIPANTS)
    for number, step in enumerate(verdict.counterexample):
        if number == verdict.prefix_length:
            lines.append("    loop forever")
        lines.append(_mermaid_line(step))
    if verdict.prefix_length is not None and verdict.prefix_length < len(verdict.counterexample):
        lines.append("    end")
    lines.append(f"    Note over Producer,Consumer: {verdict.name} VIOLATED: {final_note(result, verdict)}")
    return "\n".join(lines)


def mermaid_diagrams(result: CheckResult) -> dict[str, str]:
    """Property name -> its counterexample's Mermaid diagram (one diagram each, for one file each)."""
    return {verdict.name: to_mermaid(result, verdict) for verdict in result.violated if verdict.counterexample}


def to_mermaid_all(result: CheckResult) -> str:
    """Every counterexample as a Mermaid diagram, each block opened by a `%% ----` line that names
    it (a renderer takes one diagram at a time: split on those lines, or use `check --out DIR`)."""
    diagrams = mermaid_diagrams(result)
    blocks = [
        f"%% ---- diagram {number} of {len(diagrams)}: {name} ----\n{diagram}"
        for number, (name, diagram) in enumerate(diagrams.items(), 1)
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
