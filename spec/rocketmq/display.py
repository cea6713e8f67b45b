"""How RocketMQ's counterexamples read: the display hooks of its `Protocol`.

A counterexample's last words (which messages are lost, stranded, never processed or
processed twice), an action as JSON, and a step as a sequence-diagram event over the four
lifelines (producer, master, slave, consumer). The generic reports (model_check/render.py)
call these through the protocol; states are described in spec/rocketmq/describe.py.
"""

from __future__ import annotations

from noloss.model_check.check import CheckResult, Verdict
from noloss.model_check.protocol import DiagramEvent
from noloss.spec.rocketmq.actions import Action, Reply, arg_of
from noloss.spec.rocketmq.model import Model
from noloss.spec.rocketmq.properties import acked_messages, lost_messages, unreached_messages
from noloss.spec.rocketmq.state import STATUS_NAMES

PARTICIPANTS = ("Producer", "Master", "Slave", "Consumer")


def _message(action: Action) -> str | None:
    return None if action.message is None else f"m{action.message}"


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


def action_data(action: Action) -> dict[str, object]:
    return {
        "actor": action.actor,
        "action": action.verb,
        "message": _message(action),
        "arg": None if action.arg is None else action.arg._asdict(),
    }


def diagram_event(action: Action, fault: bool) -> DiagramEvent:
    """An arrow where something crosses nodes, a note otherwise (every diagram format uses this)."""
    m = _message(action) or ""
    actor = action.actor
    verb = action.verb
    if fault:
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
