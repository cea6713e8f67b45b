"""The seam between the checker and a protocol: what the engine, the reports and the command
line need of one, and nothing else.

A `Protocol` value is to the checker what a Stateright model is to its library: the checker
(model_check/), the matrix, the reports and `noloss check --protocol NAME` accept any value
of this shape, and know no protocol by name. A protocol (spec/<name>/) supplies:

- its configurations: named presets, the `--set KEY=VALUE` parser, the knobs a report
  shows, the key under which two configurations are the same model;
- its fault table (model_check/faults.py), whose names every fault option takes;
- `model(config, faults, reduce)`: the state machine the explorer runs, with its properties;
- the matrix's property columns, their short labels, and which property means "an
  acknowledged message is lost" (and "only an operator can reach it") for the verdict lines;
- display hooks: a step as text, what a step changed, a state's fields, a counterexample's
  last words, a step as a sequence-diagram event, what prevents a violation.

Every hook is a module-level function, so that a `Protocol` pickles by reference into the
matrix's worker processes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from noloss.model_check.explore import CheckableModel
from noloss.model_check.faults import FaultModel, FaultTable

if TYPE_CHECKING:
    from noloss.model_check.check import CheckResult, Verdict
    from noloss.model_check.matrix import Cell, Matrix


class DiagramEvent(NamedTuple):
    """One step as a sequence diagram draws it: an arrow from `source` to `target` (style
    `call`, or `reply` dashed), or a note over `source`..`target` (style `note` or `fault`)."""

    style: str
    source: str
    target: str
    text: str


def _no_changes(before: Any, after: Any) -> list[str]:
    return [] if before == after else [f"state: {after!r}"]


def _whole_state(state: Any) -> dict[str, str]:
    return {"state": repr(state)}


def _action_as_text(action: Any) -> dict[str, object]:
    return {"action": str(action)}


def _no_note(result: CheckResult, verdict: Verdict) -> str:
    return f"{verdict.name} is false in the last state"


def _a_note(action: Any, fault: bool) -> DiagramEvent:
    return DiagramEvent("fault" if fault else "note", "System", "System", str(action))


def _no_prevention(matrix: Matrix, cell: Cell, verdict: Verdict) -> str | None:
    return None


def _unit_cost(config: Any) -> int:
    return 1


@dataclass(frozen=True, kw_only=True)
class Protocol:
    """One protocol as the checker, the matrix and the command line see it."""

    name: str  # `noloss check --protocol NAME`
    title: str  # what it is, in a few words ("Apache RocketMQ, master/slave")
    faults: FaultTable
    presets: Mapping[str, Any]  # name -> configuration, in the order `noloss presets` lists them
    default_preset: str
    configure: Callable[[Any, Mapping[str, str]], Any]  # `--set` on top of a configuration; ValueError, one line
    settings: Callable[[Any], Mapping[str, object]]  # every knob and its value, for reports
    model_key: Callable[[Any], Hashable]  # equal keys: the same model, explored once
    model: Callable[[Any, FaultModel, bool], CheckableModel[Any, Any]]  # (config, faults, reduce)
    is_fault: Callable[[Any], bool]  # an action of the fault model (liveness ignores their cycles)
    columns: tuple[str, ...]  # the matrix's property columns, in order
    labels: Mapping[str, str]  # column -> its short label in the text table
    loss: str | None = None  # the property whose violation loses an acknowledged message
    stranded: str | None = None  # the one whose violation leaves it only where an operator reaches it
    size_knob: str | None = None  # the knob `--messages N` sets, if the protocol has one
    step_text: Callable[[Any], str] = str  # an action as one line
    changes: Callable[[Any, Any], list[str]] = _no_changes  # `what: old -> new` lines of a step
    state_fields: Callable[[Any], dict[str, str]] = _whole_state  # a state as `path -> text`
    action_data: Callable[[Any], dict[str, object]] = _action_as_text  # an action for JSON
    final_note: Callable[[CheckResult, Verdict], str] = _no_note  # a counterexample's last words
    diagram_event: Callable[[Any, bool], DiagramEvent] = _a_note  # (action, is a fault)
    participants: tuple[str, ...] = ("System",)  # the sequence diagram's lifelines
    prevention: Callable[[Matrix, Cell, Verdict], str | None] = _no_prevention  # words of the protocol's own
    cost: Callable[[Any], int] = _unit_cost  # relative cost of a configuration's cells (the matrix starts costly ones first)
    scenario_states: Mapping[str, int] = field(default_factory=dict)  # states of each scenario's cell, measured

    def preset(self, name: str) -> Any:
        """The configuration a preset names; ValueError (one line) lists the names otherwise."""
        try:
            return self.presets[name]
        except KeyError:
            raise ValueError(f"unknown preset {name!r}: allowed {', '.join(self.presets)}") from None
