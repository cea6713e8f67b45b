"""A deterministic world for model-based testing: the real master and slave cores over
simulated storage and network, driven one spec action at a time.

Who does what: `World.apply(action, before, after)` carries out one spec action on the
reference cluster as a fixed sequence of broker steps and returns the spec actions the
broker took along with it (a restart's recovery fsyncs the log: `flush`). The table:

    producer send/timeout/receive  put the spec's new requests on the wire; take a reply
                                   the master actually sent off it
    master receive m #k            SendRequest to the master core
    master flush / slave flush     the node's fsync of everything appended (group commit);
                                   of a crashed node: the kernel writes its page cache back
    master flush-/slave-timeout    the clock of that one waiter runs out, then a tick
    slave replicate                deliver replication frames both ways until quiet
    slave reconnect                the slave's hello over its link to the master (made when
                                   both are up): the master counts it, checking its log or not
    slave sync-offsets             the slave's SlaveSynchronize: it asks the master for its
                                   consumer offsets, copies them (putAll) and persists them
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
one waiter at a time, as the spec's timeouts are per held send; the slave's
SlaveSynchronize runs when the spec takes `slave sync-offsets`.

The spec's reductions (spec/rocketmq/reductions.py) are silent steps it takes at once: `Lockstep`
takes each of them on the broker too, as the ordinary action it is, so nothing here knows
about them.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

from noloss.reference import messages as m
from noloss.conformance.rocketmq.abstraction import (
    GROUP,
    QUEUE_TOPICS,
    STATUS_CODES,
    TOPIC,
    guarantee,
    message_key,
    node_state,
    read_records,
)
from noloss.reference.core import OFFSETS_FILE, Connected, NodeConfig, Received, Role, parse_offsets
from noloss.reference.presets import ClusterSettings
from noloss.reference.core_master import MasterCore
from noloss.reference.core_slave import SlaveCore
from noloss.reference.sim import SimCluster, SimNode
from noloss.conformance.rocketmq.sim_consumer import BODY, SimConsumer
from noloss.spec.rocketmq.actions import Action, Attempt, PacketRef, Position, Reply, arg_of, up
from noloss.spec.rocketmq.config import ONEWAY_SEND, Config
from noloss.spec.rocketmq.faults import FAULT_INDEX, FAULTS
from noloss.spec.rocketmq.model import Model
from noloss.spec.rocketmq.state import (
    DOWN,
    GONE,
    REPLY,
    REQUEST,
    STATUS_NAMES,
    UP,
    Node,
    Packet,
    Pending,
    State,
)

PRODUCER = 1
"""The producer's connection to the master."""
NEVER_MS = 10**12
TraceEvent = dict[str, str | int]


def node_configs(config: Config) -> tuple[NodeConfig, NodeConfig]:
    """broker.conf of master and slave for a spec configuration; no timer fires by itself."""
    settings = ClusterSettings.of(config)
    master = settings.node_config(settings.master_role, settings.master_flush, frozenset({TOPIC}))
    slave = settings.node_config(Role.SLAVE, settings.slave_flush, frozenset({TOPIC}))
    return _quiet(master), _quiet(slave)


def _quiet(config: NodeConfig) -> NodeConfig:
    """`config` with every timer beyond reach: the driver decides when each one fires."""
    return dataclasses.replace(
        config,
        sync_flush_timeout_ms=NEVER_MS,
        slave_timeout_ms=NEVER_MS,
        flush_interval_ms=NEVER_MS,
        flush_consumer_offset_interval_ms=NEVER_MS,
        ha_heartbeat_ms=NEVER_MS,
        slave_synchronize_interval_ms=NEVER_MS,
    )


def request_id(msg: int, attempt: int) -> int:
    """Send requests carry (message, attempt) in their id, so replies map back to both."""
    return msg * 1000 + attempt


class World:
    """A simulated master/slave pair with a producer, a consumer and the wire between."""

    def __init__(self, model: Model, trace: list[TraceEvent] | None = None) -> None:
        self.model = model
        self.cluster = SimCluster(*node_configs(model.config))
        self.trace = trace
        initial = model.init_states()[0]
        self.producer = initial.producer
        self.status = {"master": UP, "slave": UP}
        self.network: list[Packet] = []
        self.consumer = SimConsumer(self, model.config.messages)
        self.faults = list(initial.faults)
        self.connect()
        self.count_slave()

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
        core, starts = self._master_core()
        held = []
        for waiter in core._waiters:
            msg, attempt = divmod(waiter.request_id, 1000)
            position = starts.index(int(waiter.msg_id, 16))
            held.append(Pending(msg, attempt, position, guarantee(waiter.flush_status), guarantee(waiter.replica_status)))
        return tuple(held)

    def slave_unread(self) -> int:
        """How many of the master's records end by the offset of a slave that holds bytes it
        cannot read (the spec's `slave_unread`); 0 if it holds none."""
        core = self.cluster.slave.core
        assert isinstance(core, SlaveCore)
        if self.status["slave"] != UP or not core.unread:
            return 0
        offset = core.log_end + core.unread
        return sum(1 for record in read_records(self.cluster.master.file) if record.end <= offset)

    # -- one spec action -------------------------------------------------------------

    def apply(self, action: Action, before: State, after: State) -> list[Action]:
        """Carry out `action` (which took the spec from `before` to `after`) on the cluster;
        return the spec actions the broker also took."""
        extra: list[Action] = []
        if Model.is_fault(action):
            self._fault(action)
        elif action.actor == "producer":
            self._producer(action, before, after)
        elif action.actor == "consumer":
            self.consumer.apply(action)
        else:
            extra = self._broker(action, after)
        self._collect()
        self.connect()
        return extra

    # -- producer --------------------------------------------------------------------

    def _producer(self, action: Action, before: State, after: State) -> None:
        if action.verb == "receive":
            reply = arg_of(action, Reply)
            assert action.message is not None
            packet = Packet(REPLY, action.message, reply.attempt, reply.status)
            assert packet in self.network, f"the master sent no {STATUS_NAMES[reply.status]} for m{action.message} #{reply.attempt}"
            self.network.remove(packet)
            producer = before.producer
            if producer.waiting and (action.message, reply.attempt) == (producer.current, producer.attempt):
                self.emit(event="status", msg=action.message, attempt=reply.attempt, status=STATUS_NAMES[reply.status])
        new = Counter(p for p in after.network if p.kind == REQUEST) - Counter(p for p in before.network if p.kind == REQUEST)
        for packet in sorted(new.elements()):
            self.network.append(packet)
            self.emit(event="send", msg=packet.msg, attempt=packet.attempt)
        self.producer = after.producer

    def _collect(self) -> None:
        """Replies the master sent to the producer go on the wire."""
        for reply in self.cluster.master.take(PRODUCER):
            assert isinstance(reply, m.SendReply), reply
            assert reply.status in STATUS_CODES, f"the producer got {reply.status}: not a SendStatus"
            msg, attempt = divmod(reply.request_id, 1000)
            self.network.append(Packet(REPLY, msg, attempt, STATUS_CODES[reply.status]))

    def source(self) -> tuple[str, SimNode] | None:
        """The node the consumer reads: the master, else the slave while the master is down
        (if the slave answers pulls: 4.x, or 5.x with slaveReadEnable)."""
        for name in ("master", "slave"):
            if self.status[name] == UP and self.node(name).config.serves_pulls:
                return name, self.node(name)
        return None

    # -- master and slave ------------------------------------------------------------

    def _broker(self, action: Action, after: State) -> list[Action]:
        node = self.node(action.actor)
        verb = action.verb
        if verb == "receive":
            assert action.message is not None
            attempt = arg_of(action, Attempt).attempt
            self.network.remove(Packet(REQUEST, action.message, attempt, 0))
            oneway = self.model.config.sendMode == ONEWAY_SEND
            request = m.SendRequest(request_id(action.message, attempt), TOPIC, message_key(action.message), BODY, oneway)
            node.step(Received(PRODUCER, request))
        elif verb == "flush" and self.status[action.actor] != UP:
            node.file.sync()
        elif verb == "flush":
            node.flush_pending = True
            node.finish_flush()
        elif verb in ("flush-timeout", "slave-timeout"):
            self._expire(arg_of(action, Position).position, verb == "flush-timeout")
        elif verb == "replicate":
            self.cluster.pump()
        elif verb == "reconnect":
            self.count_slave()
        elif verb == "sync-offsets":
            core = self.cluster.slave.core
            assert isinstance(core, SlaveCore)
            core.synchronize()
            self.cluster.slave.drain()
            self.cluster.pump(only=(m.ConsumerOffsetsRequest, m.ConsumerOffsetsReply))
        elif verb == "persist-offsets":
            node.core.persist_offsets()
            node.drain()
        elif verb == "restart":
            node.start()
            self.status[action.actor] = UP
            self.emit(event="restart", node=action.actor)
            spec_node = after.master if action.actor == "master" else after.slave
            if spec_node.flushed < len(spec_node.log):
                # Recovery fsyncs what it kept (log.recover): the spec's flush, taken at once.
                return [Action(action.actor, "flush", None)]
        else:
            raise AssertionError(f"no broker step for {action}")
        return []

    def _expire(self, position: int, flush: bool) -> None:
        """The clock of the held send at log `position` runs out (one tick past its deadline)."""
        core, starts = self._master_core()
        for waiter in core._waiters:
            if int(waiter.msg_id, 16) == starts[position]:
                if flush:
                    waiter.flush_deadline_ms = core.now_ms
                else:
                    waiter.replica_deadline_ms = core.now_ms
        self.cluster.master.tick()

    def _master_core(self) -> tuple[MasterCore, list[int]]:
        """The master's core and where each record of its log starts (a waiter's msg_id)."""
        core = self.cluster.master.core
        assert isinstance(core, MasterCore)
        return core, [0] + [record.end for record in read_records(self.cluster.master.file)]

    def connect(self) -> None:
        """The slave's connection to the master is made whenever both nodes are up (the
        reference slave redials within 0.2 s); SlaveSynchronize's offset requests may use it
        at once. Its hello, which has the master count the slave, waits for the spec's
        `slave reconnect` (`count_slave`): the window in which 4.x answers
        SLAVE_NOT_AVAILABLE."""
        cluster = self.cluster
        if cluster.linked or self.status["master"] != UP or self.status["slave"] != UP:
            return
        cluster.master.closed.pop(cluster.MASTER_SIDE, None)
        cluster.slave.closed.pop(cluster.SLAVE_SIDE, None)
        cluster.master.step(Connected(cluster.MASTER_SIDE))
        cluster.slave.step(Connected(cluster.SLAVE_SIDE, to_master=True))
        cluster.linked = True

    def count_slave(self) -> None:
        """The slave's hello reaches the master: it reports where its log ends, the master
        counts it or has it truncate; the log data waits for `replicate`."""
        self.cluster.pump(only=(m.HaHello, m.HaTruncate))

    def slave_counted(self) -> bool:
        """The master counts the slave over a live link (the spec's `slave_linked`)."""
        if self.status["master"] != UP or self.status["slave"] != UP:
            return False
        core, _ = self._master_core()
        return bool(core.slaves)

    # -- faults ----------------------------------------------------------------------

    def _fault(self, action: Action) -> None:
        self.faults[FAULT_INDEX[FAULTS.by_action[(action.actor, action.verb)]]] += 1
        actor, verb = action.actor, action.verb
        if actor == "net":
            ref = arg_of(action, PacketRef)
            assert action.message is not None
            packet = Packet(ref.kind, action.message, ref.attempt, ref.status)
            if verb == "drop":
                self.network.remove(packet)
            else:
                self.network.append(packet)
            return
        self.emit(event="fault", node=actor, kind=verb)
        if actor == "consumer":
            self.consumer.crash()
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

    def emit(self, **event: str | int) -> None:
        """Log one observable event (docs/trace.md), if the world keeps a trace."""
        if self.trace is not None:
            self.trace.append(event)


class Lockstep:
    """The spec and the world side by side: one spec action at a time, on both."""

    def __init__(self, model: Model, trace: list[TraceEvent] | None = None) -> None:
        self.model = model
        self.state = model.init_states()[0]
        self.world = World(model, trace)

    def actions(self) -> list[Action]:
        """The spec's enabled actions: the broker follows every one."""
        return self.model.actions(self.state)

    def step(self, action: Action) -> list[Action]:
        """Take `action` (enabled in the spec) on both, and every silent step the spec takes
        after it; return every spec action taken."""
        taken: list[Action] = []
        self._take(action, taken, done_by_broker=False)
        return taken

    def _take(self, action: Action, taken: list[Action], done_by_broker: bool) -> None:
        before = self.state
        extras: list[Action] = []
        for step, after in self.model.steps(before, action):
            if not (done_by_broker and step is action):
                extras.extend(self.world.apply(step, before, after))
            taken.append(step)
            before = after
        self.state = before
        for extra in extras:
            # The broker did this along with the step (a restart's recovery fsync): the spec follows.
            assert extra in self.model.actions(self.state), f"the broker did {extra}, which the spec does not allow here"
            self._take(extra, taken, done_by_broker=True)
