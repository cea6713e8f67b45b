"""Named properties: invariants (`always`), reachability guards (`sometimes`), liveness (`eventually`).

NoAckedLoss, exactly: every acknowledged message m is
  (1) processed: the business logic ran successfully on m at least once, or
  (2) reachable: held where it will still be delivered, which is one of:
      (a) a request for m is in flight to the master and the master is up (it will store it);
      (b) m is the consumer's message in hand and the consumer is up;
      (c) a readable node has an entry of m in a consumed queue (topic or %RETRY%) at or after
          the position the consumer reads that node from. The master is readable unless it is
          gone; the slave only while the master is not up, and only if it answers pulls (4.x;
          5.x with slaveReadEnable). The read position is the consumer's in-memory offset, or,
          before it has one, the node's committed offset. An entry behind that position is
          never read again, though it is still on disk. An entry not yet dispatched (5.3+
          under SYNC_FLUSH: not yet flushed) counts: it will be; or
  (3) stranded: a copy is on disk where only an operator can reach it, which is one of:
      (a) a %DLQ% copy of m on a node that is not gone: parked, for an operator to resend;
      (b) an entry of m on a slave that is not gone and that no consumer reads (a 5.x slave
          without slaveReadEnable), where (c) would count it if a consumer did (from the
          consumer's position, else the master's committed offsets, which SlaveSynchronize
          copies): an entry behind it is lost on the slave as it is on the master.
A message that is none of these is *lost*: no copy remains that anyone will reach. NoAckedLoss
forbids lost messages; NoAckedStranded forbids stranded ones too, so that the report tells a
message only an operator can bring back from one nobody can.
A node's log is what a restart would recover (a crash keeps the page cache, a power loss only
the flushed prefix), so a message in a down node's log counts as held.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from noloss.model_check.kinds import ALWAYS, EVENTUALLY, SOMETIMES
from noloss.spec.rocketmq.actions import alive, up
from noloss.spec.rocketmq.consumer import queue_of, read_position
from noloss.spec.rocketmq.faults import FAULT_INDEX
from noloss.spec.rocketmq.state import COMMITTED_UNPROCESSED, CONSUMED_QUEUES, DLQ, REQUEST, Node, State

if TYPE_CHECKING:
    from noloss.spec.rocketmq.model import Model



@dataclass(frozen=True, slots=True)
class Property:
    """A named predicate over State and what it means in one line."""

    name: str
    kind: str  # ALWAYS, SOMETIMES or EVENTUALLY
    statement: str
    predicate: Callable[[Model, State], bool]


def acked_messages(model: Model, state: State) -> tuple[int, ...]:
    acked = state.producer.acked
    return tuple(m for m in range(model.config.messages) if acked >> m & 1)


def reachable(model: Model, state: State, message: int) -> bool:
    """Clause (2) of NoAckedLoss: m is still somewhere a consumer will be given it from."""
    if up(state.master) and any(p.kind == REQUEST and p.msg == message for p in state.network):
        return True
    consumer = state.consumer
    if consumer.up and consumer.work is not None and consumer.work.entry.msg == message:
        return True
    readable = []
    if alive(state.master):
        readable.append(state.master)
    if alive(state.slave) and not up(state.master) and model.config.consumer_reads_slave:
        readable.append(state.slave)
    return any(_ahead_of_consumer(state, node, message) for node in readable)


def _ahead_of_consumer(state: State, node: Node, message: int) -> bool:
    """`node` has an entry of m in a consumed queue at or after where the consumer reads it from."""
    return _at_or_after(node, read_position(state.consumer, node), message)


def _at_or_after(node: Node, position: tuple[int, ...], message: int) -> bool:
    return any(message in (entry.msg for entry in queue_of(node, queue)[position[queue] :]) for queue in CONSUMED_QUEUES)


def stranded(model: Model, state: State, message: int) -> bool:
    """Clause (3): a copy of m is on disk where only an operator reaches it (%DLQ%, a slave no
    consumer reads now)."""
    for node in (state.master, state.slave):
        if alive(node) and any(entry.topic == DLQ and entry.msg == message for entry in node.log):
            return True
    slave = state.slave
    if not alive(slave):
        return False
    # m is not reachable (clause 2), so no consumer reads this slave's copy now: a 5.x slave
    # without slaveReadEnable never, a 4.x one only while the master is down. Either way the
    # copy is on the slave's disk, for a failover or an operator: stranded, not lost, whichever
    # the release. Judge it against the consumer's position, or the master's committed
    # offsets that SlaveSynchronize copies: an entry behind them is lost there as on the master.
    position = state.consumer.next if state.consumer.next is not None else state.master.offsets
    return _at_or_after(slave, position, message)


def unreached_messages(model: Model, state: State) -> tuple[int, ...]:
    """The acknowledged messages neither processed nor reachable: each is lost or stranded."""
    acked = acked_messages(model, state)
    return tuple(m for m in acked if state.processed[m] == 0 and not reachable(model, state, m))


def lost_messages(model: Model, state: State) -> tuple[int, ...]:
    """The acknowledged messages neither processed nor held anywhere: what NoAckedLoss forbids."""
    return tuple(m for m in unreached_messages(model, state) if not stranded(model, state, m))


def stranded_messages(model: Model, state: State) -> tuple[int, ...]:
    """The acknowledged messages that only an operator can bring back."""
    return tuple(m for m in unreached_messages(model, state) if stranded(model, state, m))


def no_acked_loss(model: Model, state: State) -> bool:
    return not lost_messages(model, state)


def no_acked_stranded(model: Model, state: State) -> bool:
    return not unreached_messages(model, state)


def no_consume_before_process(model: Model, state: State) -> bool:
    work = state.consumer.work
    return work is None or work.stage != COMMITTED_UNPROCESSED


def sent(state: State, message: int) -> bool:
    """The producer has put m on the wire at least once."""
    producer = state.producer
    return message < producer.current or (message == producer.current and producer.attempt > 0)


def no_phantom(model: Model, state: State) -> bool:
    return all(sent(state, m) for m in range(model.config.messages) if state.processed[m] > 0)


def all_acked_processed(model: Model, state: State) -> bool:
    """The goal of AckedEventuallyConsumed: every acknowledged message has been processed."""
    return all(state.processed[m] > 0 for m in acked_messages(model, state))


def _fault_occurs(kind: str) -> Property:
    index = FAULT_INDEX[kind]
    return Property(
        f"FaultOccurs({kind})",
        SOMETIMES,
        f"some run has a {kind} (the fault model is not vacuous)",
        lambda model, state: state.faults[index] > 0,
    )


SAFETY: tuple[Property, ...] = (
    Property(
        "NoAckedLoss",
        ALWAYS,
        "every acknowledged message is processed, or still held where it will be delivered or an operator can recover it",
        no_acked_loss,
    ),
    Property(
        "NoAckedStranded",
        ALWAYS,
        "every acknowledged message is processed, or held where a consumer will read it (not only in %DLQ% or on an unread slave)",
        no_acked_stranded,
    ),
    Property(
        "NoConsumeBeforeProcess",
        ALWAYS,
        "a commit is never recorded for a message whose processing has not finished",
        no_consume_before_process,
    ),
    Property("NoPhantom", ALWAYS, "nothing is processed that no producer sent", no_phantom),
)

DUPLICATES: tuple[Property, ...] = (
    Property(
        "NoDuplicateProcessing",
        ALWAYS,
        "no message's business logic runs successfully more than once",
        lambda model, state: max(state.processed) <= 1,
    ),
    Property(
        "ExactlyOnceEffect",
        ALWAYS,
        "no message's effect is applied more than once (an idempotent consumer dedups by key)",
        lambda model, state: max(state.effects) <= 1,
    ),
)

LIVENESS: tuple[Property, ...] = (
    Property(
        "AckedEventuallyConsumed",
        EVENTUALLY,
        "once faults stop, every acknowledged message is eventually processed (weak fairness)",
        all_acked_processed,
    ),
)

REACHABILITY: tuple[Property, ...] = (
    Property(
        "SomeMessageAcked",
        SOMETIMES,
        "some run acknowledges a message",
        lambda model, state: state.producer.acked != 0,
    ),
    Property(
        "SomeMessageProcessed",
        SOMETIMES,
        "some run processes a message",
        lambda model, state: any(state.processed),
    ),
)


def properties(model: Model) -> tuple[Property, ...]:
    """Every property checked for this model: safety, duplicates, liveness, reachability guards."""
    faults = tuple(_fault_occurs(kind) for kind in model.faults.enabled_kinds())
    return SAFETY + DUPLICATES + LIVENESS + REACHABILITY + faults
