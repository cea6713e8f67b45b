"""Named properties: invariants (`always`), reachability guards (`sometimes`), liveness (`eventually`).

NoAckedLoss, exactly: every acknowledged message m is
  (1) processed: the business logic ran successfully on m at least once, or
  (2) held where it will still be delivered, which is one of:
      (a) a request for m is in flight to the master and the master is up (it will store it);
      (b) m is the consumer's message in hand and the consumer is up;
      (c) a readable node has an entry of m in a consumed queue (topic or %RETRY%) at or after
          the position the consumer reads that node from. The master is readable unless it is
          gone; the slave only while the master is not up (no consumer reads the slave while
          the master serves). The read position is the consumer's in-memory offset, or, before
          it has one, the node's committed offset. An entry behind that position is never read
          again, though it is still on disk;
      (d) a %DLQ% copy of m is on a node that is not gone: parked, for an operator to resend.
A node's log is what a restart would recover (a crash keeps the page cache, a power loss only
the flushed prefix), so a message in a down node's log counts as held.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spec.actions import alive, up
from spec.consumer import queue_of, read_position
from spec.faults import FAULT_INDEX
from spec.state import ACKED_UNPROCESSED, CONSUMED_QUEUES, DLQ, REQUEST, State

if TYPE_CHECKING:
    from spec.model import Model

ALWAYS = "always"
SOMETIMES = "sometimes"
EVENTUALLY = "eventually"


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


def held(state: State, message: int) -> bool:
    """Clause (2) of NoAckedLoss: m is still somewhere it will be delivered from."""
    if up(state.master) and any(p.kind == REQUEST and p.msg == message for p in state.network):
        return True
    consumer = state.consumer
    if consumer.up and consumer.work is not None and consumer.work.entry.msg == message:
        return True
    readable = []
    if alive(state.master):
        readable.append(state.master)
    if alive(state.slave) and not up(state.master):
        readable.append(state.slave)
    for node in readable:
        position = read_position(consumer, node)
        for queue in CONSUMED_QUEUES:
            if message in (entry.msg for entry in queue_of(node, queue)[position[queue] :]):
                return True
    for node in (state.master, state.slave):
        if alive(node) and any(entry.topic == DLQ and entry.msg == message for entry in node.log):
            return True
    return False


def lost_messages(model: Model, state: State) -> tuple[int, ...]:
    """The acknowledged messages that are neither processed nor held: what NoAckedLoss forbids."""
    return tuple(m for m in acked_messages(model, state) if state.delivered[m] == 0 and not held(state, m))


def no_acked_loss(model: Model, state: State) -> bool:
    return not lost_messages(model, state)


def no_consume_before_process(model: Model, state: State) -> bool:
    work = state.consumer.work
    return work is None or work.stage != ACKED_UNPROCESSED


def sent(state: State, message: int) -> bool:
    """The producer has put m on the wire at least once."""
    producer = state.producer
    return message < producer.current or (message == producer.current and producer.attempt > 0)


def no_phantom(model: Model, state: State) -> bool:
    return all(sent(state, m) for m in range(model.config.messages) if state.delivered[m] > 0)


def all_acked_processed(model: Model, state: State) -> bool:
    """The goal of AckedEventuallyConsumed: every acknowledged message has been processed."""
    return all(state.delivered[m] > 0 for m in acked_messages(model, state))


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
        "every acknowledged message is processed, or still held where it will be delivered",
        no_acked_loss,
    ),
    Property(
        "NoConsumeBeforeProcess",
        ALWAYS,
        "a consume-ack is never recorded for a message whose processing has not finished",
        no_consume_before_process,
    ),
    Property("NoPhantom", ALWAYS, "nothing is processed that no producer sent", no_phantom),
)

DUPLICATES: tuple[Property, ...] = (
    Property(
        "NoDuplicateProcessing",
        ALWAYS,
        "no message's business logic runs successfully more than once",
        lambda model, state: max(state.delivered) <= 1,
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
        lambda model, state: any(state.delivered),
    ),
)


def properties(model: Model) -> tuple[Property, ...]:
    """Every property checked for this model: safety, duplicates, liveness, reachability guards."""
    faults = tuple(_fault_occurs(kind) for kind in model.faults.enabled_kinds())
    return SAFETY + DUPLICATES + LIVENESS + REACHABILITY + faults
