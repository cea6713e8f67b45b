"""Verdicts: from an explored graph to one named result per property, with counterexamples.

An `always` property is VIOLATED when some reachable state breaks it (the counterexample is
the BFS path to the first such state: a shortest one), holds when the graph was closed
without finding one, and is incomplete when a bound stopped the run first. A `sometimes`
property holds when some reachable state has it and is VIOLATED (vacuous model) when the
closed graph has none. Every counterexample replays through the spec (`replay`).

The checker knows no protocol: `check` takes a `Protocol` (model_check/protocol.py), a
configuration of it and a fault model, and asks the protocol for the model to explore.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from noloss.model_check.explore import CheckableModel, Exploration, Stats, explore
from noloss.model_check.faults import FaultModel
from noloss.model_check.kinds import ALWAYS, EVENTUALLY, SOMETIMES
from noloss.model_check.liveness import find_lasso
from noloss.model_check.partition import PartitionedExploration, explore_partitioned

if TYPE_CHECKING:
    from noloss.model_check.protocol import Protocol

# The checker carries a protocol's states, actions and configurations without looking inside
# them: only the protocol's own hooks (model_check/protocol.py) read them.
State = Any
Action = Any

HOLDS = "holds"
VIOLATED = "VIOLATED"
INCOMPLETE = "incomplete"


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a counterexample: the action taken and the state it leads to."""

    action: Action
    state: State


@dataclass(frozen=True, slots=True)
class Verdict:
    name: str
    kind: str
    statement: str
    status: str  # HOLDS, VIOLATED or INCOMPLETE
    counterexample: tuple[Step, ...] | None  # always: a shortest path; eventually: a lasso
    prefix_length: int | None = None  # a lasso's steps before its cycle (the rest loops forever)

    @property
    def is_lasso(self) -> bool:
        return self.prefix_length is not None


@dataclass(frozen=True, slots=True)
class CheckResult:
    config: Any  # the protocol's configuration
    faults: FaultModel
    initial: State
    stats: Stats
    verdicts: tuple[Verdict, ...]

    @property
    def violated(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.status == VIOLATED)

    @property
    def exit_code(self) -> int:
        """0 every property holds, 1 one is violated, 3 a bound stopped the run (see noloss.cli.errors)."""
        if self.violated:
            return 1
        if any(v.status == INCOMPLETE for v in self.verdicts):
            return 3
        return 0


class ReplayError(AssertionError):
    """A counterexample step the spec does not allow: the checker and the spec disagree."""


def replay(model: CheckableModel[Any, Any], initial: State, steps: tuple[Step, ...]) -> State:
    """Run `steps` through the spec from `initial`; raise ReplayError at the first bad step."""
    if initial not in model.init_states():
        raise ReplayError("the counterexample does not start in an initial state")
    state = initial
    for number, step in enumerate(steps, 1):
        if step.action not in model.actions(state):
            raise ReplayError(f"step {number}: {step.action} is not enabled")
        state = model.next_state(state, step.action)
        if state != step.state:
            raise ReplayError(f"step {number}: {step.action} leads elsewhere than recorded")
    return state


def _steps(exploration: Findings, node: int) -> tuple[Step, ...]:
    return tuple(Step(action, state) for action, state in exploration.path_to(node))


Findings = Exploration[State, Action] | PartitionedExploration[State, Action]


def verdicts_of(
    model: CheckableModel[Any, Any],
    exploration: Findings,
    is_fault: Callable[[Any], bool],
    only: frozenset[str] | None = None,
) -> tuple[Verdict, ...]:
    """One verdict per property of the model (or per property named in `only`)."""
    complete = exploration.stats.complete
    verdicts = []
    for prop in model.properties():
        if only is not None and prop.name not in only:
            continue
        if prop.kind == ALWAYS:
            node = exploration.first_violation.get(prop.name)
            if node is not None:
                verdict = Verdict(prop.name, prop.kind, prop.statement, VIOLATED, _steps(exploration, node))
            else:
                verdict = Verdict(prop.name, prop.kind, prop.statement, HOLDS if complete else INCOMPLETE, None)
        elif prop.kind == EVENTUALLY:
            if not isinstance(exploration, Exploration):
                raise ValueError("liveness needs the whole graph in one process: check it with one worker")
            verdict = _liveness_verdict(model, exploration, is_fault, prop.name, prop.kind, prop.statement)
        elif prop.kind == SOMETIMES:
            if prop.name in exploration.first_witness:
                status = HOLDS
            else:
                status = VIOLATED if complete else INCOMPLETE
            verdict = Verdict(prop.name, prop.kind, prop.statement, status, None)
        else:
            continue
        verdicts.append(verdict)
    return tuple(verdicts)


def _liveness_verdict(
    model: CheckableModel[Any, Any],
    exploration: Exploration[State, Action],
    is_fault: Callable[[Any], bool],
    name: str,
    kind: str,
    statement: str,
) -> Verdict:
    if not exploration.stats.complete:
        # A bound cut the graph: its frontier looks like deadlocks, so nothing can be concluded.
        return Verdict(name, kind, statement, INCOMPLETE, None)
    lasso = find_lasso(model, exploration, name, is_fault)
    if lasso is None:
        return Verdict(name, kind, statement, HOLDS, None)
    steps = tuple(Step(action, state) for action, state in lasso.prefix + lasso.cycle)
    return Verdict(name, kind, statement, VIOLATED, steps, prefix_length=len(lasso.prefix))


def check(
    protocol: Protocol,
    config: Any,
    faults: FaultModel,
    max_states: int | None = None,
    max_depth: int | None = None,
    progress: bool = False,
    only: frozenset[str] | None = None,
    fingerprint: bool = False,
    workers: int = 1,
    reduce: bool = True,
) -> CheckResult:
    """Explore the protocol's model of `config` under `faults` and judge every property (or those in `only`).

    With `fingerprint`, states are kept as 64-bit hashes (Stats.omission_probability says how
    likely a collision hid one); counterexamples are replayed through the spec all the same.
    With `workers` > 1 the states are shared among that many processes (model_check.partition):
    no bounds, no fingerprints, and no liveness property may be selected (ValueError).
    `reduce=False` explores the model without its reductions (if the protocol has any).
    """
    model = protocol.model(config, faults, reduce)
    liveness = any(p.kind == EVENTUALLY and (only is None or p.name in only) for p in model.properties())
    exploration: Findings
    if workers > 1:
        if liveness or fingerprint or max_states is not None or max_depth is not None:
            raise ValueError(
                "several workers check always- and sometimes-properties only, without bounds or fingerprints: "
                "select them with --properties"
            )
        exploration = explore_partitioned(partial(protocol.model, config, faults, reduce), workers, progress)
        initial = model.init_states()[0]
    else:
        exploration = explore(
            model, max_states=max_states, max_depth=max_depth, progress=progress, fingerprint=fingerprint, keep_edges=liveness
        )
        initial = exploration.state(exploration.initial[0])
    verdicts = verdicts_of(model, exploration, protocol.is_fault, only)
    for verdict in verdicts:
        if verdict.counterexample is not None:
            # Nothing is reported that the spec cannot replay step by step.
            end = replay(model, initial, verdict.counterexample)
            if verdict.is_lasso and verdict.prefix_length != len(verdict.counterexample):
                entry = verdict.counterexample[verdict.prefix_length - 1].state if verdict.prefix_length else initial
                if end != entry:
                    raise ReplayError(f"{verdict.name}: the lasso's cycle does not return to its entry")
    return CheckResult(config, faults, initial, exploration.stats, verdicts)


def property_names(protocol: Protocol, config: Any, faults: FaultModel) -> tuple[str, ...]:
    """Every property name a check of this model reports, in report order."""
    return tuple(prop.name for prop in protocol.model(config, faults, True).properties())
