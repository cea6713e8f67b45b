"""`noloss trace-check`: is an NDJSON trace a behaviour of the spec? And `noloss sim-trace`:
a trace of the reference broker in deterministic simulation.

Exit status: 0 the spec explains every event, 1 it cannot explain one (printed with the
spec states it was in), 2 bad input (one line naming the bad line and field).
"""

from __future__ import annotations

import argparse
import random
import sys
from typing import Any

from noloss.cli.check import add_model_arguments, config_from
from noloss.spec.rocketmq.describe import fields
from noloss.conformance.rocketmq.trace_check import TraceError, check_trace, event_json, parse_trace, trace_models
from noloss.spec.rocketmq.faults import FaultModel, FaultSpecError, parse_faults
from noloss.spec.rocketmq.model import Model
from noloss.cli.errors import UsageError, non_negative, positive
from noloss.cli.user_paths import read_text

SHOWN_STATES = 3


def _faults(args: argparse.Namespace, faults: int) -> FaultModel:

    bound = faults + 1 if args.max_faults is None else args.max_faults
    try:
        return parse_faults(args.faults, bound)
    except FaultSpecError as error:
        raise UsageError(str(error)) from None


def run_check(args: argparse.Namespace) -> int:

    text = read_text(args.trace)
    try:
        lines = parse_trace(text.splitlines())
    except TraceError as error:
        raise UsageError(f"{args.trace}: {error}") from None
    events = [event for _, event in lines]
    if args.messages is None:
        args.messages = max((e[1] for e in events if e[0] != "fault" and e[0] != "restart"), default=0) + 1
    for model in trace_models(config_from(args), _faults(args, sum(e[0] == "fault" for e in events))):
        try:
            result = check_trace(model, events, args.max_states)
        except TraceError as error:
            raise UsageError(str(error)) from None
        if result.ok:
            break
    if result.ok:
        print(f"{args.trace}: {len(events)} events, a behaviour of the spec ({args.preset}, faults {model.faults.describe()})")
        return 0
    assert result.unexplained is not None
    line = lines[result.explained][0]
    print(f"{args.trace}:{line}: the spec ({args.preset}) cannot explain {event_json(result.unexplained)}")
    print(f"after {result.explained} explained events the spec was in {len(result.states)} state(s):")
    for number, state in enumerate(result.states[:SHOWN_STATES], 1):
        print(f"  state {number}:")
        print("\n".join(f"    {path}: {text}" for path, text in fields(state).items()))
    if len(result.states) > SHOWN_STATES:
        print(f"  ... and {len(result.states) - SHOWN_STATES} more")
    print("events the spec allows next (after silent steps):")
    print("\n".join(f"  {event_json(event)}" for event in result.expected) or "  none")
    return 1


def run_sim(args: argparse.Namespace) -> int:
    """A random run of the reference broker in simulation, its observable trace on stdout."""
    from noloss.conformance.rocketmq.world import Lockstep, TraceEvent

    try:
        faults = parse_faults(args.faults, args.max_faults if args.max_faults is not None else 1)
    except FaultSpecError as error:

        raise UsageError(str(error)) from None
    model = Model(config_from(args), faults)
    trace: list[TraceEvent] = []
    lockstep = Lockstep(model, trace=trace)
    rng = random.Random(args.seed)
    for _ in range(args.steps):
        actions = lockstep.actions()
        if not actions:
            break
        lockstep.step(rng.choice(actions))
    for event in trace:
        sys.stdout.write(event_json(tuple(event.values())) + "\n")
    return 0


def register(subparsers: "argparse._SubParsersAction[Any]") -> None:
    check = subparsers.add_parser("trace-check", help="check that an NDJSON trace is a behaviour of the spec")
    add_model_arguments(check)
    check.add_argument("trace", metavar="TRACE.ndjson", help="the trace file, or - for stdin")
    check.add_argument("--faults", default="all", help="fault kinds the run may have had (default all)")
    check.add_argument("--max-faults", type=non_negative, default=None, help="faults in all (default: the trace's faults + 1)")
    check.add_argument("--max-states", type=positive, default=200_000, help="bound on spec states between two events")
    check.set_defaults(run=run_check)
    sim = subparsers.add_parser("sim-trace", help="run the reference broker in simulation and print its NDJSON trace")
    add_model_arguments(sim)
    sim.add_argument("--faults", default="all", help="fault kinds the run may inject (default all)")
    sim.add_argument("--max-faults", type=non_negative, default=None, help="faults in all (default 1)")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--steps", type=non_negative, default=40, help="spec actions to take")
    sim.set_defaults(run=run_sim)
