"""Trace checking: is an implementation's observable trace a behaviour of the spec?

A trace is what clients and operators can see (docs/trace.md): sends, statuses,
deliveries, consume results, faults (crash, power loss, disk loss) and restarts. Each spec transition emits the events
an implementation would log for it (`observe`); everything else it does is silent. The
checker keeps the set of spec states the trace so far can lead to and, for each event,
follows silent steps (any number) and then one transition whose first event is this one;
a transition that emits several events (a pull that is processed at once emits
`deliver` then `consume`) is carried as a queue of events the trace still has to show.
The first event no state can explain is reported with the states the spec was in.
"""

from __future__ import annotations

import json
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from noloss.spec.rocketmq.actions import Action, QueueOffset, Reply, arg_of
from noloss.spec.rocketmq.config import Config
from noloss.spec.rocketmq.faults import FAULTS, FaultModel
from noloss.spec.rocketmq.model import Model
from noloss.spec.rocketmq.state import COMMITTED_UNPROCESSED, PULLED, REQUEST, STATUS_NAMES, State

Event = tuple[Any, ...]
"""('send', msg, attempt) ('status', msg, attempt, STATUS) ('deliver', msg, queue, offset)
('consume', msg, RESULT) ('fault', node, kind) ('restart', node)."""
QUEUES = ("topic", "retry")
RESULTS = ("CONSUME_SUCCESS", "RECONSUME_LATER")
FAULTS_BY_NODE: dict[str, tuple[str, ...]] = {
    node: tuple(verb for actor, verb in FAULTS.by_action if actor == node)
    for node in dict.fromkeys(actor for actor, _ in FAULTS.by_action if actor != "net")
}
"""A trace's `fault` events: the spec's fault actions (spec/rocketmq/faults.py) but the
network's, which a trace does not show."""
RESTARTS = ("master", "slave", "consumer")
MAX_MESSAGES = 4


class TraceError(ValueError):
    """A trace line that is not a well-formed event; the message names the line and field."""


def trace_models(config: Config, faults: FaultModel) -> tuple[Model, Model]:
    """The spec a trace is checked against, as two models: the reduced one (spec/rocketmq/reductions.py,
    fast) and the unreduced one, tried only where the first explains nothing more.

    The unreduced spec decides. The reductions keep every property's verdict but not the
    order of what clients see: merged, a pull and the listener's run are one step, so its
    `deliver` would have to be shown while the node it was pulled from is up. A real
    consumer pulls a batch (or has a reply on the wire) and runs its listener on it
    afterwards, the master dead or not: the unreduced spec's silent `pull` before the
    fault and `process` after it. Likewise the slave's copy of the consumer offsets may lag
    at any moment, not only as the reduction orders it. Every reduced step is a sequence of
    unreduced ones showing the same events, so a trace the reduced spec explains (and a
    state it can end in) the unreduced one explains too: trying it first changes no
    verdict."""
    return Model(config, faults), Model(config, faults, reduce=False)


# -- what a spec transition shows --------------------------------------------------------


def observe(before: State, action: Action, after: State) -> tuple[Event, ...]:
    """The events an implementation logs for one spec transition; () when it is silent."""
    actor, verb = action.actor, action.verb
    if Model.is_fault(action):
        return () if actor == "net" else (("fault", actor, verb),)
    if actor == "producer":
        return _producer_events(before, action, after)
    if actor == "consumer":
        return _consumer_events(before, action)
    if verb == "restart":
        return (("restart", actor),)
    return ()


def _producer_events(before: State, action: Action, after: State) -> tuple[Event, ...]:
    events: list[Event] = []
    producer = before.producer
    if action.verb == "receive":
        reply = arg_of(action, Reply)
        if producer.waiting and (action.message, reply.attempt) == (producer.current, producer.attempt):
            events.append(("status", action.message, reply.attempt, STATUS_NAMES[reply.status]))
    sent = Counter(p for p in after.network if p.kind == REQUEST) - Counter(p for p in before.network if p.kind == REQUEST)
    events.extend(("send", packet.msg, packet.attempt) for packet in sorted(sent.elements()))
    return tuple(events)


def _consumer_events(before: State, action: Action) -> tuple[Event, ...]:
    verb = action.verb
    if verb == "restart":
        return (("restart", "consumer"),)
    if verb in ("consume", "consume-fail", "pull-and-commit"):
        at = arg_of(action, QueueOffset)
        deliver: Event = ("deliver", action.message, QUEUES[at.queue], at.offset)
        if verb == "pull-and-commit":
            return (deliver,)
        return (deliver, ("consume", action.message, RESULTS[verb == "consume-fail"]))
    work = before.consumer.work
    if verb == "commit" and work is not None and work.stage == PULLED:
        # commitBeforeProcess, unreduced: the listener is handed the message and returns at once.
        return (("deliver", work.entry.msg, QUEUES[work.queue], work.offset),)
    if verb in ("process", "process-fail") and work is not None:
        result: Event = ("consume", work.entry.msg, RESULTS[verb == "process-fail"])
        if work.stage == PULLED:  # consumed again after a failed send-back: delivered again
            return (("deliver", work.entry.msg, QUEUES[work.queue], work.offset), result)
        assert work.stage == COMMITTED_UNPROCESSED
        return (result,)
    return ()


# -- the search --------------------------------------------------------------------------

Candidate = tuple[State, tuple[Event, ...]]
"""A spec state and the events its last transition emitted that the trace has not shown yet."""


@dataclass(frozen=True, slots=True)
class TraceResult:
    explained: int  # events explained, from the first
    unexplained: Event | None  # the first event the spec cannot explain, if any
    states: tuple[State, ...]  # the spec states it was in just before that event
    expected: tuple[Event, ...]  # the events the spec could have shown there instead

    @property
    def ok(self) -> bool:
        return self.unexplained is None


def silent_closure(model: Model, states: Iterable[State], limit: int) -> set[State]:
    """Every state reachable from `states` by silent transitions only."""
    seen = set(states)
    frontier = list(seen)
    while frontier:
        state = frontier.pop()
        for action in model.actions(state):
            after = model.next_state(state, action)
            if after not in seen and not observe(state, action, after):
                if len(seen) >= limit:
                    raise TraceError(f"more than {limit:,} spec states between two events: raise --max-states")
                seen.add(after)
                frontier.append(after)
    return seen


def _steps(model: Model, configs: set[Candidate], limit: int) -> Iterator[tuple[Event, Candidate]]:
    """Each way the next event can be shown: from a queue, or by silent steps then a transition."""
    ready = []
    for state, queued in configs:
        if queued:
            yield queued[0], (state, queued[1:])
        else:
            ready.append(state)
    for state in silent_closure(model, ready, limit):
        for action in model.actions(state):
            after = model.next_state(state, action)
            events = observe(state, action, after)
            if events:
                yield events[0], (after, events[1:])


def check_trace(model: Model, events: list[Event], limit: int = 200_000) -> TraceResult:
    """Follow `events` through the spec; stop at the first one it cannot explain."""
    return explain(model, events, limit)[0]


def explain(model: Model, events: list[Event], limit: int = 200_000, matches: Callable[[Event, Event], bool] = operator.eq) -> tuple[TraceResult, set[Candidate]]:
    """`check_trace`, and the candidates the spec can be in after the last event explained.
    `matches(shown, event)` decides whether a transition's event is the trace's (a projected
    trace may leave a field open)."""
    configs: set[Candidate] = {(state, ()) for state in model.init_states()}
    for index, event in enumerate(events):
        following = set()
        possible = set()
        for shown, config in _steps(model, configs, limit):
            possible.add(shown)
            if matches(shown, event):
                following.add(config)
        if not following:
            states = tuple(sorted({state for state, _ in configs}, key=lambda state: (sum(state.faults), repr(state))))
            return TraceResult(index, event, states, tuple(sorted(possible, key=repr))), configs
        configs = following
    return TraceResult(len(events), None, (), ()), configs


# -- the NDJSON format -------------------------------------------------------------------


def _field(record: dict[str, Any], name: str, line: int, allowed: tuple[str, ...] | None = None, minimum: int = 0, messages: int | None = MAX_MESSAGES) -> Any:
    if name not in record:
        raise TraceError(f"line {line}: missing field {name!r}")
    value = record[name]
    if allowed is not None:
        if value not in allowed:
            raise TraceError(f"line {line}: field {name!r}: {value!r} is not one of {', '.join(allowed)}")
        return value
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise TraceError(f"line {line}: field {name!r}: {value!r} is not an integer >= {minimum}")
    if name == "msg" and messages is not None and value >= messages:
        raise TraceError(f"line {line}: field 'msg': {value} is beyond the {messages} messages the spec can check")
    return value


def parse_event(text: str, line: int) -> Event:
    """One NDJSON line as an event; TraceError naming the line and field otherwise."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise TraceError(f"line {line}: not JSON: {error.msg}") from None
    if not isinstance(record, dict):
        raise TraceError(f"line {line}: expected a JSON object")
    return event_of(record, line)


def event_of(record: dict[str, Any], line: int, messages: int | None = MAX_MESSAGES) -> Event:
    """A decoded line as an event; `messages` bounds the message numbers (None: any, for a
    history that is checked message by message)."""
    kind = _field(record, "event", line, ("send", "status", "deliver", "consume", "fault", "restart"))
    if kind == "send":
        return ("send", _field(record, "msg", line, messages=messages), _field(record, "attempt", line, minimum=1))
    if kind == "status":
        return ("status", _field(record, "msg", line, messages=messages), _field(record, "attempt", line, minimum=1), _field(record, "status", line, STATUS_NAMES))
    if kind == "deliver":
        return ("deliver", _field(record, "msg", line, messages=messages), _field(record, "queue", line, QUEUES), _field(record, "offset", line))
    if kind == "consume":
        return ("consume", _field(record, "msg", line, messages=messages), _field(record, "result", line, RESULTS))
    if kind == "restart":
        return ("restart", _field(record, "node", line, RESTARTS))
    node = _field(record, "node", line, tuple(FAULTS_BY_NODE))
    return ("fault", node, _field(record, "kind", line, FAULTS_BY_NODE[node]))


def parse_trace(lines: Iterable[str]) -> list[tuple[int, Event]]:
    """Every non-blank line of an NDJSON trace as (line number, event)."""
    return [(number, parse_event(text, number)) for number, text in enumerate(lines, 1) if text.strip()]


def event_json(event: Event) -> str:
    """An event as one NDJSON line (the inverse of `parse_event`)."""
    names = {
        "send": ("msg", "attempt"),
        "status": ("msg", "attempt", "status"),
        "deliver": ("msg", "queue", "offset"),
        "consume": ("msg", "result"),
        "fault": ("node", "kind"),
        "restart": ("node",),
    }[event[0]]
    return json.dumps({"event": event[0], **dict(zip(names, event[1:]))})
