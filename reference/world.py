"""A deterministic world for model-based testing: the real master and slave cores over
simulated storage and network, driven one spec action at a time.

Who does what: `World.apply(action, before, after)` carries out one spec action on the
reference cluster as a fixed sequence of broker steps and returns the spec actions the
broker took along with it (a restart's recovery fsyncs the log: `flush`). The table:

    producer send/timeout/receive  put the spec's new requests on the wire; take a reply
                                   the master actually sent off it
    master receive m #k            SendRequest to the master core
    master flush / slave flush     the node's fsync of everything appended (group commit)
    master flush-/slave-timeout    the clock of that one waiter runs out, then a tick
    slave replicate                deliver replication frames both ways until quiet
    persist-offsets, restart       the core writes consumerOffset.json / the node restarts
    consumer consume, …            pulls, offset queries and commits, send-backs to the
                                   node the consumer reads (the master, else the slave)
    faults                         crash (memory lost), power loss (page cache lost), disk
                                   loss; consumer crash; drop or duplicate a packet

The application around the clients (what to do with a status, when to resend) is the
spec's: the world takes the spec's producer after each producer action and realises its
requests. Everything the broker decides — what is stored, flushed, replicated, which
status a send gets, what a pull returns, which offsets are committed — comes from the
cores, and `abstraction.abstract` turns it back into a spec state for comparison.

Timeouts are set beyond reach so that time never passes by itself; the driver expires
one waiter at a time, as the spec's timeouts are per held send. The reference broker has
no SlaveSynchronize; `sync_slave_offsets` plays it (copy the master's committed offsets
to the slave and persist them, as the spec's `_commit` does) so that runs where the
consumer reads the slave can be compared at all.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass

from reference import messages as m
from reference.abstraction import (
    GROUP,
    QUEUE_TOPICS,
    STATUS_CODES,
    TOPIC,
    guarantee,
    message_key,
    message_of,
    node_state,
    read_records,
    topic_code,
)
from reference.core import OFFSETS_FILE, Connected, FlushType, NodeConfig, Received, Role, parse_offsets
from reference.core_master import MasterCore
from reference.sim import SimCluster, SimNode
from spec.actions import Action
from spec.config import SYNC_FLUSH, SYNC_MASTER, ONEWAY_SEND, Config
from spec.faults import FAULT_INDEX
from spec.model import Model
from spec.state import (
    ACKED_UNPROCESSED,
    DLQ,
    DOWN,
    FAILED,
    GONE,
    PULLED,
    RETRY,
    REPLY,
    REQUEST,
    STATUS_NAMES,
    SUCCEEDED,
    UP,
    Consumer,
    Entry,
    Node,
    Packet,
    Pending,
    State,
    Work,
)

PRODUCER = 1
"""The producer's connection to the master."""
CONSUMER = 2
"""The consumer's connection to the node it reads."""
NEVER_MS = 10**12
BODY = b"x"
QUEUE_NAMES = ("topic", "retry")
"""A spec queue as the trace names it."""
TraceEvent = dict[str, str | int]


def node_configs(config: Config) -> tuple[NodeConfig, NodeConfig]:
    """broker.conf of master and slave for a spec configuration; no timer fires by itself."""
    role = Role.SYNC_MASTER if config.brokerRole == SYNC_MASTER else Role.ASYNC_MASTER
    quiet = {
        "sync_flush_timeout_ms": NEVER_MS,
        "slave_timeout_ms": NEVER_MS,
        "flush_interval_ms": NEVER_MS,
        "flush_consumer_offset_interval_ms": NEVER_MS,
        "ha_heartbeat_ms": NEVER_MS,
    }
    master = NodeConfig(role, _flush(config.flushDiskType), frozenset({TOPIC}), **quiet)
    slave = NodeConfig(Role.SLAVE, _flush(config.slaveFlushDiskType), frozenset({TOPIC}), **quiet)
    return master, slave


def _flush(value: str) -> FlushType:
    return FlushType.SYNC_FLUSH if value == SYNC_FLUSH else FlushType.ASYNC_FLUSH


def request_id(msg: int, attempt: int) -> int:
    """Send requests carry (message, attempt) in their id, so replies map back to both."""
    return msg * 1000 + attempt


@dataclass(slots=True)
class Held:
    """The message in the consumer's hands."""

    queue: int
    offset: int
    entry: Entry
    stage: int


class World:
    """A simulated master/slave pair with a producer, a consumer and the wire between."""

    def __init__(self, model: Model, sync_slave_offsets: bool = False, trace: list[TraceEvent] | None = None) -> None:
        self.model = model
        self.cluster = SimCluster(*node_configs(model.config))
        self.sync_slave_offsets = sync_slave_offsets
        self.trace = trace
        initial = model.init_states()[0]
        self.producer = initial.producer
        self.status = {"master": UP, "slave": UP}
        self.network: list[Packet] = []
        self.consumer_up = True
        self.next: list[int] | None = None
        self.work: Held | None = None
        self.delivered = list(initial.delivered)
        self.effects = list(initial.effects)
        self.faults = list(initial.faults)
        self.failures = 0
        self._ids = itertools.count(1_000_000)
        self.connect()

    # -- reading the world (for the abstraction) ----------------------------------------

    def node(self, name: str) -> SimNode:
        return self.cluster.master if name == "master" else self.cluster.slave

    def node_state(self, name: str) -> Node:
        status = self.status[name]
        if status == GONE:
            return node_state(GONE, (), 0, {}, {})
        node = self.node(name)
        disk = parse_offsets(node.storage.read_meta(OFFSETS_FILE))
        memory = node.core.offsets if status == UP else disk
        return node_state(status, read_records(node.file), len(node.file.durable), memory, disk)

    def pending(self) -> tuple[Pending, ...]:
        """The master's waiters as the spec's held replies (none while it is down)."""
        if self.status["master"] != UP:
            return ()
        core = self.cluster.master.core
        assert isinstance(core, MasterCore)
        starts = [0] + [record.end for record in read_records(self.cluster.master.file)]
        held = []
        for waiter in core._waiters:
            msg, attempt = divmod(waiter.request_id, 1000)
            position = starts.index(int(waiter.msg_id, 16))
            held.append(Pending(msg, attempt, position, guarantee(waiter.flush_status), guarantee(waiter.replica_status)))
        return tuple(held)

    def consumer_state(self) -> Consumer:
        work = None
        if self.work is not None:
            work = Work(self.work.queue, self.work.offset, self.work.entry, self.work.stage)
        return Consumer(self.consumer_up, None if self.next is None else tuple(self.next), work)

    # -- one spec action -------------------------------------------------------------

    def apply(self, action: Action, before: State, after: State) -> list[Action]:
        """Carry out `action` (which took the spec from `before` to `after`) on the cluster;
        return the spec actions the broker also took."""
        extra: list[Action] = []
        key = f"{action.actor}-{action.verb}"
        if key in FAULT_INDEX:
            self._fault(action)
            self._close_commit_gap(after)
        elif action.actor == "producer":
            self._producer(action, before, after)
        elif action.actor == "consumer":
            self._consumer(action, after)
        else:
            extra = self._broker(action, after)
        self._collect()
        self.connect()
        return extra

    # -- producer --------------------------------------------------------------------

    def _producer(self, action: Action, before: State, after: State) -> None:
        if action.verb == "receive":
            attempt, status = action.arg
            assert action.message is not None
            packet = Packet(REPLY, action.message, attempt, status)
            assert packet in self.network, f"the master sent no {STATUS_NAMES[status]} for m{action.message} #{attempt}"
            self.network.remove(packet)
            producer = before.producer
            if producer.waiting and (action.message, attempt) == (producer.current, producer.attempt):
                self._emit(event="status", msg=action.message, attempt=attempt, status=STATUS_NAMES[status])
        new = Counter(p for p in after.network if p.kind == REQUEST) - Counter(p for p in before.network if p.kind == REQUEST)
        for packet in sorted(new.elements()):
            self.network.append(packet)
            self._emit(event="send", msg=packet.msg, attempt=packet.attempt)
        self.producer = after.producer

    def _collect(self) -> None:
        """Replies the master sent to the producer go on the wire."""
        for reply in self.cluster.master.take(PRODUCER):
            assert isinstance(reply, m.SendReply), reply
            assert reply.status in STATUS_CODES, f"the producer got {reply.status}: not a SendStatus"
            msg, attempt = divmod(reply.request_id, 1000)
            self.network.append(Packet(REPLY, msg, attempt, STATUS_CODES[reply.status]))

    # -- master and slave ------------------------------------------------------------

    def _broker(self, action: Action, after: State) -> list[Action]:
        node = self.node(action.actor)
        verb = action.verb
        if verb == "receive":
            assert action.message is not None
            (attempt,) = action.arg
            self.network.remove(Packet(REQUEST, action.message, attempt, 0))
            oneway = self.model.config.sendMode == ONEWAY_SEND
            request = m.SendRequest(request_id(action.message, attempt), TOPIC, message_key(action.message), BODY, oneway)
            node.step(Received(PRODUCER, request))
        elif verb == "flush":
            node.flush_pending = True
            node.finish_flush()
        elif verb in ("flush-timeout", "slave-timeout"):
            self._expire(action.arg[0], verb == "flush-timeout")
        elif verb == "replicate":
            self.cluster.pump()
        elif verb == "persist-offsets":
            node.core.persist_offsets()
            node.drain()
        elif verb == "restart":
            node.start()
            self.status[action.actor] = UP
            self._emit(event="restart", node=action.actor)
            spec_node = after.master if action.actor == "master" else after.slave
            if spec_node.flushed < len(spec_node.log):
                # Recovery fsyncs what it kept (log.recover): the spec's flush, taken at once.
                return [Action(action.actor, "flush", None)]
        else:
            raise AssertionError(f"no broker step for {action}")
        return []

    def _expire(self, position: int, flush: bool) -> None:
        """The clock of the held send at log `position` runs out (one tick past its deadline)."""
        master = self.cluster.master
        core = master.core
        assert isinstance(core, MasterCore)
        starts = [0] + [record.end for record in read_records(master.file)]
        for waiter in core._waiters:
            if int(waiter.msg_id, 16) == starts[position]:
                if flush:
                    waiter.flush_deadline_ms = core.now_ms
                else:
                    waiter.replica_deadline_ms = core.now_ms
        master.tick()

    def connect(self) -> None:
        """The slave (re)connects whenever both nodes are up: it reports where its log ends,
        the master accepts or closes the link; the log data waits for `replicate`."""
        cluster = self.cluster
        if cluster.linked or self.status["master"] != UP or self.status["slave"] != UP:
            return
        cluster.master.closed.pop(cluster.MASTER_SIDE, None)
        cluster.slave.closed.pop(cluster.SLAVE_SIDE, None)
        cluster.master.step(Connected(cluster.MASTER_SIDE))
        cluster.slave.step(Connected(cluster.SLAVE_SIDE, to_master=True))
        cluster.linked = True
        for report in cluster.slave.take(cluster.SLAVE_SIDE):
            cluster.master.step(Received(cluster.MASTER_SIDE, report))
        if cluster.MASTER_SIDE in cluster.master.closed:
            cluster.close_reason = cluster.master.closed.pop(cluster.MASTER_SIDE)
            cluster.unlink()

    # -- consumer --------------------------------------------------------------------

    def _consumer(self, action: Action, after: State) -> None:
        verb = action.verb
        if verb == "restart":
            self.consumer_up, self.next, self.work = True, None, None
            self._emit(event="restart", node="consumer")
        elif verb in ("consume", "consume-fail", "pull-and-ack"):
            self._pull(action.arg[0])
            if verb == "pull-and-ack":
                assert self.work is not None
                self._emit_deliver(self.work)
                self._commit(self.work.queue, self.work.offset)
                self.work.stage = ACKED_UNPROCESSED
            elif verb == "consume":
                self._process(after)
            else:
                self._process_fail()
        elif verb == "process":
            self._process(after)
        elif verb == "process-fail":
            self._process_fail()
        elif verb == "ack":
            self._commit_done()
        elif verb == "send-back":
            self._send_back()
        elif verb == "consume-later":
            assert self.work is not None
            self.work.stage = PULLED
        elif verb == "correct-offset":
            self._correct(action.arg[0])
        else:
            raise AssertionError(f"no consumer step for {action}")

    def source(self) -> tuple[str, SimNode] | None:
        """The node the consumer reads: the master, else the slave while the master is down."""
        for name in ("master", "slave"):
            if self.status[name] == UP:
                return name, self.node(name)
        return None

    def _call(self, node: SimNode, request: m.Request) -> m.Wire:
        node.step(Received(CONSUMER, request))
        (reply,) = node.take(CONSUMER)
        return reply

    def _positions(self, node: SimNode) -> list[int]:
        """The consumer's offsets, fetched from `node` after a start."""
        if self.next is None:
            self.next = []
            for topic in QUEUE_TOPICS:
                reply = self._call(node, m.QueryOffsetRequest(next(self._ids), GROUP, topic))
                assert isinstance(reply, m.OffsetReply)
                self.next.append(max(reply.offset, 0))
        return self.next

    def _pull(self, queue: int) -> None:
        """Pull one message of `queue` from the consumer's offset; it is now in hand."""
        found = self.source()
        assert found is not None
        node = found[1]
        offset = self._positions(node)[queue]
        reply = self._call(node, m.PullRequest(next(self._ids), QUEUE_TOPICS[queue], offset, 1, 0))
        assert isinstance(reply, m.PullReply) and reply.status == m.PullStatus.FOUND, reply
        (message,) = reply.messages
        assert message.queue_offset == offset, (message, offset)
        entry = Entry(topic_code(message.topic), message_of(message.key), message.reconsume_times)
        self.work = Held(queue, offset, entry, PULLED)

    def _process(self, after: State) -> None:
        """The listener returns CONSUME_SUCCESS; commit at once unless a crash could fall between."""
        work = self.work
        assert work is not None
        if work.stage == PULLED:
            self._emit_deliver(work)
        self._emit(event="consume", msg=work.entry.msg, result="CONSUME_SUCCESS")
        msg = work.entry.msg
        self.delivered[msg] = min(self.delivered[msg] + 1, 2)
        if not (self.model.config.idempotentConsumer and self.effects[msg] > 0):
            self.effects[msg] = min(self.effects[msg] + 1, 2)
        if work.stage == ACKED_UNPROCESSED:
            self.work = None
            return
        work.stage = SUCCEEDED
        if not self.model.observed_in(after).commit_gap:
            self._commit_done()

    def _process_fail(self) -> None:
        work = self.work
        assert work is not None
        if work.stage == PULLED:
            self._emit_deliver(work)
        self._emit(event="consume", msg=work.entry.msg, result="RECONSUME_LATER")
        self.failures += 1
        if work.stage == ACKED_UNPROCESSED:
            self.work = None
        else:
            work.stage = FAILED

    def _commit_done(self) -> None:
        assert self.work is not None
        self._commit(self.work.queue, self.work.offset)
        self.work = None

    def _close_commit_gap(self, after: State) -> None:
        """After the last fault that could observe it, a finished message is committed (spec `canonical`)."""
        if self.work is not None and self.work.stage == SUCCEEDED and not self.model.observed_in(after).commit_gap:
            self._commit_done()

    def _commit(self, queue: int, offset: int) -> None:
        """Commit past `offset` in memory and at the node the consumer reads."""
        assert self.next is not None
        self.next[queue] = offset + 1
        found = self.source()
        if found is None:
            return
        name, node = found
        reply = self._call(node, m.CommitOffsetRequest(next(self._ids), GROUP, QUEUE_TOPICS[queue], offset + 1))
        assert isinstance(reply, m.OffsetReply) and reply.status == m.OK, reply
        if name == "master" and self.sync_slave_offsets and self.status["slave"] == UP:
            slave = self.cluster.slave
            for topic in QUEUE_TOPICS:
                value = node.core.offsets.get((GROUP, topic), 0)
                self._call(slave, m.CommitOffsetRequest(next(self._ids), GROUP, topic, value))
            slave.core.persist_offsets()
            slave.drain()

    def _send_back(self) -> None:
        work = self.work
        assert work is not None
        entry = work.entry
        request = m.SendBackRequest(
            next(self._ids), GROUP, TOPIC, message_key(entry.msg), BODY, entry.reconsume, self.model.config.maxReconsumeTimes
        )
        reply = self._call(self.cluster.master, request)
        assert isinstance(reply, m.SendReply) and reply.status == m.SendStatus.SEND_OK, reply
        assert topic_code(reply.detail) == (DLQ if entry.reconsume >= self.model.config.maxReconsumeTimes else RETRY)
        self._commit_done()

    def _correct(self, queue: int) -> None:
        """The master answers OFFSET_OVERFLOW past the queue's end: move to the end."""
        node = self.cluster.master
        positions = self._positions(node)
        reply = self._call(node, m.PullRequest(next(self._ids), QUEUE_TOPICS[queue], positions[queue], 1, 0))
        assert isinstance(reply, m.PullReply) and reply.status == m.PullStatus.OFFSET_OVERFLOW, reply
        positions[queue] = reply.next_offset

    # -- faults ----------------------------------------------------------------------

    def _fault(self, action: Action) -> None:
        self.faults[FAULT_INDEX[f"{action.actor}-{action.verb}"]] += 1
        actor, verb = action.actor, action.verb
        if actor == "net":
            kind, attempt, status = action.arg
            assert action.message is not None
            packet = Packet(kind, action.message, attempt, status)
            if verb == "drop":
                self.network.remove(packet)
            else:
                self.network.append(packet)
            return
        self._emit(event="crash", node=actor, kind=verb)
        if actor == "consumer":
            self.consumer_up, self.next, self.work = False, None, None
            return
        for name in ("master", "slave") if actor == "both" else (actor,):
            self._down(name, verb)

    def _down(self, name: str, verb: str) -> None:
        """A node stops: its memory and connections are gone, and with power its page cache."""
        if self.cluster.linked:
            self.cluster.unlink()
        node = self.node(name)
        if verb == "power-loss":
            node.storage.power_loss()
        node.inbox.clear()
        self.status[name] = GONE if verb == "disk-loss" else DOWN
        if name == "master":
            self.network = [packet for packet in self.network if packet.kind != REQUEST]

    # -- trace -----------------------------------------------------------------------

    def _emit_deliver(self, work: Held) -> None:
        self._emit(event="deliver", msg=work.entry.msg, queue=QUEUE_NAMES[work.queue], offset=work.offset)

    def _emit(self, **event: str | int) -> None:
        if self.trace is not None:
            self.trace.append(event)


class Lockstep:
    """The spec and the world side by side: one spec action at a time, on both."""

    def __init__(self, model: Model, sync_slave_offsets: bool = False, trace: list[TraceEvent] | None = None) -> None:
        self.model = model
        self.state = model.init_states()[0]
        self.world = World(model, sync_slave_offsets, trace)

    def step(self, action: Action) -> list[Action]:
        """Take `action` (enabled in the spec) on both; return every spec action taken."""
        before = self.state
        after = self.model.next_state(before, action)
        taken = [action]
        for extra in self.world.apply(action, before, after):
            assert extra in self.model.actions(after), f"the broker did {extra}, which the spec does not allow here"
            after = self.model.next_state(after, extra)
            taken.append(extra)
        self.state = after
        return taken
