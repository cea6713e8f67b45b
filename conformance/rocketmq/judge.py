"""Judging a conformance history by RocketMQ's spec (the counts are conformance/counts.py's).

**Trace-check, one message at a time.** The spec's producer sends at most four messages,
one after another; a run sends thousands from concurrent producers. So the history is
projected onto each message m: m's own events (renumbered to message 0) and every fault
and restart, and that projection must be a behaviour of the claimed configuration with one
message (conformance/rocketmq/trace_check.py), and must *end* as one: after the final drain, some
state the spec can be in leaves m processed or not deliverable — a message the spec would
still deliver but the target never did is a violation (`_drained`).

Why one message at a time is sound (a projection the spec cannot explain is a real
deviation, not an artefact of projecting). In the spec, messages meet in four places:
1. The producer sends them one after another. The workload's producers are independent,
   so this order is the spec's bound, not a behaviour to check; each message's own
   attempts stay in order in its projection.
2. The consumer holds one message at a time and processes it before the next. A
   projection keeps m's deliver/consume pairs; another message in hand only delays m,
   which the one-message spec can do by silent steps (the consumer stays idle).
3. Faults and business failures are budgets over the whole run. Every projection gets
   every fault of the run, and its budget is the faults it shows (net faults, which the
   trace does not show, count in the budget of each projection they fall in).
4. Messages share queue positions and the consumer's offsets. Here projecting loses
   something: a deliver's position depends on what else is in the queue, so positions are
   wildcards in the projection (`deliver` matches any offset). Positions are also where one
   message's fate depends on another: a power loss that rewinds the queue can store m at a
   position the consumer already passed with another message (the loss RocketMQ <= 5.2
   allows). The one-message spec cannot explain that loss. The history carries each
   stored position (`offset` of `status`), so for a message the spec would still have
   delivered, every message delivered at the position it was stored at is a candidate
   partner, and the pair is checked with the two-message spec (`Judge.partner`); if the
   pair is a behaviour, so is the loss, and the judgement names the pair
   (`Judgement.shared`). The counts call the message lost either way.
So a message that fails is a deviation of its own events from the spec, not explained by
a shared position either; a history whose messages all pass is one whose every message
behaves as the spec allows, positions aside.

**Speed.** Projections are pruned before they are checked: faults before m's first event
that every node has recovered from (all restarted) change nothing the one-message spec can
see — nothing of m is stored yet and the consumer re-reads its offset on restart — so they
are dropped, but for the last fault of a broker node: the slave's HA link it broke may
still be down (`_recovered_points`). So are faults after m's last event once m is processed. Most messages then
project onto the same few event sequences, each checked once (a cache by sequence).
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from noloss.conformance.counts import count
from noloss.conformance.judgement import Judgement, MessageVerdict
from noloss.conformance.rocketmq.trace_check import Event, TraceError, event_of, explain, silent_closure, trace_models
from noloss.conformance.workload import Resend
from noloss.spec.rocketmq.config import PRESETS, Config
from noloss.spec.rocketmq.faults import FAULTS, FAULT_KINDS
from noloss.spec.rocketmq.model import Model
from noloss.spec.rocketmq.properties import reachable

WILDCARD = -1
"""The offset of a projected `deliver`: matches the spec's at any position."""
NET_KINDS = {"drop": "net-drop", "dup": "net-dup"}
UNMODELLED = {"failover": "the spec has no failover (a slave promoted to master)"}
"""Fault kinds a history may show that the spec has no transition for: such a history is
judged by its counts alone."""
MAX_STATES = 200_000


# -- projection --------------------------------------------------------------------------

Projection = tuple[tuple[Event, ...], int, frozenset[str], tuple[int, ...]]
"""(events, net faults in the window, net fault kinds, the projected messages (by their
new numbers) never processed): what is checked."""


def _is_fault(record: dict[str, Any]) -> bool:
    return record["event"] in ("fault", "restart")


class Index:
    """Where each message's events and the faults are in a history, found in one pass."""

    def __init__(self, records: Sequence[dict[str, Any]]) -> None:
        self.records = records
        self.faults: list[int] = []
        self.net: list[int] = []  # the network faults among them
        self.own: dict[int, list[int]] = {}
        for index, record in enumerate(records):
            if _is_fault(record):
                self.faults.append(index)
                if record.get("node") == "net":
                    self.net.append(index)
            elif "msg" in record:
                self.own.setdefault(record["msg"], []).append(index)
        self.recovered = _recovered_points(records, self.faults)
        self._events: dict[int, Event] = {}

    def event(self, position: int) -> Event:
        """The record at `position` as a checked event (TraceError names its line)."""
        event = self._events.get(position)
        if event is None:
            event = self._events[position] = event_of(self.records[position], position + 1, messages=None)
        return event


def project(index: Index, messages: tuple[int, ...]) -> tuple[Projection, tuple[int, ...]]:
    """The events of `messages` renumbered 0, 1, ... in the order they were first sent, with
    the faults and restarts that can matter to them; and the history line of each event."""
    records = index.records
    own = sorted(i for m in messages for i in index.own[m])
    order = sorted(messages, key=lambda m: index.own[m][0])
    number = {m: n for n, m in enumerate(order)}
    done = {records[i]["msg"] for i in own if records[i]["event"] == "consume" and records[i]["result"] == "CONSUME_SUCCESS"}
    unprocessed = tuple(number[m] for m in order if m not in done)
    start = index.recovered[bisect.bisect_left(index.faults, own[0])]
    end = len(records) if unprocessed else own[-1] + 1
    faults = index.faults[bisect.bisect_left(index.faults, start) : bisect.bisect_left(index.faults, end)]
    events: list[Event] = []
    lines: list[int] = []
    net: Counter[str] = Counter()
    # A network fault is armed when logged and hits the next chunk on the link: the last
    # one armed before the first event may still be waiting for this message's request.
    armed = bisect.bisect_left(index.net, own[0])
    if armed and index.net[armed - 1] < start:
        net[NET_KINDS[records[index.net[armed - 1]]["kind"]]] += 1
    for position in heapq.merge(faults, own):
        record = records[position]
        if record.get("node") == "net":
            net[NET_KINDS[record["kind"]]] += 1
        else:
            events.append(_renumbered(index.event(position), number))
            lines.append(position + 1)
    events, lines = _sends_before_the_fault(events, lines)
    return (tuple(events), sum(net.values()), frozenset(net), unprocessed), tuple(lines)


def _sends_before_the_fault(events: list[Event], lines: list[int]) -> tuple[list[Event], list[int]]:
    """Move each `send` logged while the history has the master down to just before the
    fault that took it down.

    A fault is logged in the same step as it is done (History.log_after), but a producer
    that had decided to write a request on a connection it opened earlier logs the send as
    soon as it may, which can be just after: the request went to a dead process. The spec
    has no such event (a send to a down master puts nothing on the wire); the nearest
    behaviour it has, and the one that loses nothing the history shows, is the request
    written just before the crash and lost with it.

    Deliveries need no such move: a consumer that pulled before the master died (a batch
    in hand, a reply already on the wire) and processes after it is the spec's own `pull`
    then `process` (trace_check.trace_models)."""
    out: list[tuple[Event, int]] = []
    down_at: int | None = None  # where in `out` the master's fault is, while it is down
    for event, line in zip(events, lines):
        if event[0] == "fault" and event[1] in ("master", "both"):
            down_at = len(out)
        elif event[0] == "restart" and event[1] == "master":
            down_at = None
        elif down_at is not None and event[0] == "send":
            out.insert(down_at, (event, line))
            down_at += 1
            continue
        out.append((event, line))
    return [event for event, _ in out], [line for _, line in out]


def _recovered_points(records: Sequence[dict[str, Any]], faults: Sequence[int]) -> list[int]:
    """For each k, where a projection whose first event comes after faults[:k] starts: just
    after the last of those at which every faulted node was back up (a disk-lost node
    never is), except that the last fault of a broker node stays in: the slave's HA link it
    broke comes back by a silent `slave reconnect`, so a send after both nodes are up may
    still find the slave uncounted (SLAVE_NOT_AVAILABLE). One pass over the faults."""
    down: set[str] = set()
    start = 0
    broke: int | None = None  # the last fault of the master, the slave or both
    points = [0]
    for index in faults:
        record = records[index]
        if record["event"] == "fault" and record["node"] != "net":
            down |= {"master", "slave"} if record["node"] == "both" else {record["node"]}
            if record["node"] != "consumer":
                broke = index
        elif record["event"] == "restart":
            down.discard(record["node"])
        if not down:
            start = index + 1 if broke is None else broke
        points.append(start)
    return points


def _renumbered(event: Event, number: dict[int, int]) -> Event:
    """An event of the history with its message renumbered and a deliver's position open."""
    if event[0] in ("fault", "restart"):
        return event
    if event[0] == "deliver":
        return (event[0], number[event[1]], event[2], WILDCARD)
    return (event[0], number[event[1]], *event[2:])


def _matches(shown: Event, event: Event) -> bool:
    if event[0] == "deliver" and event[3] == WILDCARD:
        return shown[:3] == event[:3]
    return shown == event


# -- checking ----------------------------------------------------------------------------


def _fault_kind(event: Event) -> str:
    """The spec's fault kind of a history's `fault` event: its node and kind are the spec's
    action (spec/rocketmq/faults.py)."""
    return FAULTS.by_action[(event[1], event[2])]


def _models(config: Config, projection: Projection) -> tuple[Model, Model]:
    """The one-message spec with the projection's faults as its budget.

    A broker node that dies resets its TCP connections, and what was in flight on them is
    gone; the spec keeps packets in the network across a crash and loses them only by a
    net drop. So each fault of the master (alone or with the slave) also allows one
    silent net drop: the request or reply its connection was carrying. Likewise a chunk the
    proxy duplicates may repeat part of a frame, and a broker that checks its frames
    (AMQP) closes the connection: the request or reply is then lost, not doubled, so a
    net-dup in the window also allows a net drop (within the same budget).

    Both of `trace_models`: the reduced spec first, the unreduced one deciding."""
    events, net, net_kinds, _ = projection
    node_faults = sum(e[0] == "fault" and e[1] in ("master", "both") for e in events)
    drops = bool(node_faults) or "net-dup" in net_kinds
    kinds = {_fault_kind(e) for e in events if e[0] == "fault"} | net_kinds | ({"net-drop"} if drops else set())
    faults = sum(e[0] == "fault" for e in events) + net + node_faults
    one = dataclasses.replace(config, messages=len({e[1] for e in events if e[0] == "send"}))
    if not faults:
        return trace_models(one, FAULTS.none())
    return trace_models(one, FAULTS.of(sorted(kinds, key=FAULT_KINDS.index), faults))


def check_projection(config: Config, projection: Projection) -> tuple[int | None, str] | None:
    """None when the projection is a behaviour of `config` that may end here; else the
    index of the first event it cannot explain (None: the end) and why."""
    outcome: tuple[int | None, str] | None = None
    for model in _models(config, projection):
        outcome = _check_with(model, projection)
        if outcome is None:
            return None
    return outcome


def _check_with(model: Model, projection: Projection) -> tuple[int | None, str] | None:
    events = list(projection[0])
    try:
        result, configs = explain(model, events, MAX_STATES, _matches)
    except TraceError as error:
        return None, f"undecided: {error}"
    if not result.ok:
        return result.explained, f"cannot explain {result.unexplained}"
    unprocessed = projection[3]
    if not unprocessed:
        return None
    ends = silent_closure(model, [state for state, queued in configs if not queued], MAX_STATES)
    if any(all(not reachable(model, state, m) for m in unprocessed) for state in ends):
        return None
    return None, "the spec would still deliver it, the target never did"


class Collisions:
    """Which messages were delivered at the position each message was stored at, indexed
    once per history."""

    def __init__(self, records: Sequence[dict[str, Any]]) -> None:
        self._stored: dict[int, set[int]] = {}
        self._delivered: dict[int, set[int]] = {}
        for r in records:
            if r["event"] == "status" and isinstance(r.get("offset"), int):
                self._stored.setdefault(r["msg"], set()).add(r["offset"])
            elif r["event"] == "deliver" and r["queue"] == "topic":
                self._delivered.setdefault(r["offset"], set()).add(r["msg"])

    def of(self, message: int) -> list[int]:
        """The other messages delivered where `message` was stored, in order."""
        return [other for offset in sorted(self._stored.get(message, ())) for other in sorted(self._delivered.get(offset, set()) - {message})]


class Judge:
    """Trace-check of a history's messages against configurations, each projection once."""

    def __init__(self, records: Sequence[dict[str, Any]]) -> None:
        self.records = records
        self.messages = sorted({r["msg"] for r in records if "msg" in r and not _is_fault(r)})
        index = Index(records)
        self._index = index
        projected = {m: project(index, (m,)) for m in self.messages if m >= 0}
        self._projections = {m: projection for m, (projection, _) in projected.items()}
        self._lines = {m: lines for m, (_, lines) in projected.items()}
        self._cache: dict[tuple[Config, Projection], tuple[int | None, str] | None] = {}
        self._collisions = Collisions(records)

    def distinct(self) -> int:
        return len(set(self._projections.values()))

    def _check(self, config: Config, messages: tuple[int, ...]) -> tuple[int | None, str] | None:
        projection = self._projections[messages[0]] if len(messages) == 1 else project(self._index, messages)[0]
        key = (config, projection)
        if key not in self._cache:
            self._cache[key] = check_projection(config, projection)
        return self._cache[key]

    def partner(self, config: Config, message: int) -> int | None:
        """The message that, checked together with `message`, explains why it was never
        delivered: one delivered at the position `message` was stored at (a rewound queue
        reused it), when the pair is a behaviour of `config`."""
        for other in self._collisions.of(message):
            if self._check(config, (message, other)) is None:
                return other
        return None

    def _last_line(self, message: int) -> int:
        return self._index.own[message][-1] + 1

    def failures(self, config: Config, messages: Iterable[int] | None = None, first_only: bool = False) -> list[MessageVerdict]:
        """The messages whose projection `config` cannot explain, alone or with a partner."""
        found = []
        if -1 in self.messages:
            found.append(MessageVerdict(-1, None, "a body no producer sent was delivered", self._last_line(-1)))
        for message in self.messages if messages is None else messages:
            if message < 0:
                continue
            outcome = self._check(config, (message,))
            if outcome is not None and outcome[0] is None and self.partner(config, message) is not None:
                outcome = None
            if outcome is not None:
                index, reason = outcome
                found.append(MessageVerdict(message, None if index is None else self._lines[message][index], reason, self._last_line(message)))
                if first_only:
                    break
        return found


def judge(records: Sequence[dict[str, Any]], claimed: str, config: Config) -> Judgement:
    """Check every message against `config`; when some fail, find the preset nearest to it
    (fewest knobs changed) that explains them all. A history with a fault the spec does not
    model is not checked (`Judgement.unchecked` says why)."""
    outside = next((UNMODELLED[r["kind"]] for r in records if r["event"] == "fault" and r.get("kind") in UNMODELLED), None)
    if outside is not None:
        return Judgement(claimed, (), None, (), 0, outside)
    judge_ = Judge(records)
    failures = judge_.failures(config)
    lost = count(records, resend_of(config)).lost_messages
    shared = tuple((m, p) for m in lost if (p := judge_.partner(config, m)) is not None)
    if not failures:
        return Judgement(claimed, (), None, shared, judge_.distinct())
    failing = [f.message for f in failures]
    explained_by = None
    for name, candidate in sorted(PRESETS.items(), key=lambda item: _distance(config, item[1])):
        candidate = dataclasses.replace(candidate, redeliveries=config.redeliveries, retryTimesWhenSendFailed=config.retryTimesWhenSendFailed)
        if candidate.model_key() == config.model_key():
            continue
        if not judge_.failures(candidate, failing, first_only=True) and not judge_.failures(candidate, first_only=True):
            explained_by = name
            break
    return Judgement(claimed, tuple(failures), explained_by, shared, judge_.distinct())


def resend_of(config: Config) -> Resend:
    """What the application does after a send (the workload's policy): only SEND_OK is
    success under checkStatus, and a message is resent `redeliveries` times at most."""
    return Resend(config.checkStatus, config.redeliveries)


def _distance(a: Config, b: Config) -> int:
    return sum(1 for key, value in a.settings().items() if b.settings()[key] != value)
