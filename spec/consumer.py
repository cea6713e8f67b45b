"""The push consumer and its listener: pull, process, commit; send back on failure.

The consumer reads from the master, or from the slave while the master is down (classic
master/slave has no failover). It subscribes to the topic and to %RETRY%group and works on
one message at a time, so its committed offset is always 'the smallest offset in flight'.
After a start it fetches its offsets from the node it reads. A failed message is sent back
to the master as a %RETRY% copy (or a %DLQ% copy after maxReconsumeTimes), stored with
WAIT=false: no sync flush, no replication wait. Offsets past the end of the master's queue
are corrected to the end, as the broker answers OFFSET_OVERFLOW_BADLY (not on the slave:
offsetCheckInSlave is false by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from spec.actions import Action, Effect, bump, committed_past, up
from spec.broker import append_to_master
from spec.state import (
    ACKED_UNPROCESSED,
    CONSUMED_QUEUES,
    DLQ,
    FAILED,
    PULLED,
    RETRY,
    SUCCEEDED,
    Consumer,
    Entry,
    Node,
    State,
    Work,
)

if TYPE_CHECKING:
    from spec.model import Model

ACTOR = "consumer"


def source(state: State) -> tuple[str, Node] | None:
    """The node the consumer reads from now: the master, else the slave while the master is down."""
    if up(state.master):
        return "master", state.master
    if up(state.slave):
        return "slave", state.slave
    return None


def queue_of(node: Node, queue: int) -> tuple[Entry, ...]:
    """The consume queue of one topic: its entries in commit-log order."""
    return tuple(entry for entry in node.log if entry.topic == queue)


def read_position(consumer: Consumer, node: Node) -> tuple[int, ...]:
    """Where the consumer reads `node` from: its in-memory offsets, else the node's committed ones."""
    return consumer.next if consumer.next is not None else node.offsets


def enabled(model: Model, state: State) -> Iterator[Action]:
    consumer = state.consumer
    if not consumer.up:
        yield Action(ACTOR, "restart", None)
        return
    config = model.config
    work = consumer.work
    if work is None:
        found = source(state)
        if found is None:
            return
        name, node = found
        position = read_position(consumer, node)
        for queue in CONSUMED_QUEUES:
            entries = queue_of(node, queue)
            offset = position[queue]
            if offset < len(entries):
                message = entries[offset].msg
                if config.ackBeforeProcess:
                    yield Action(ACTOR, "pull-and-ack", message, (queue, offset))
                else:
                    yield Action(ACTOR, "consume", message, (queue, offset))
                    if config.consumerMayFail and state.failures < config.redeliveries:
                        yield Action(ACTOR, "consume-fail", message, (queue, offset))
            elif offset > len(entries) and name == "master":
                yield Action(ACTOR, "correct-offset", None, (queue,))
        return
    message = work.entry.msg
    if work.stage in (PULLED, ACKED_UNPROCESSED):
        yield Action(ACTOR, "process", message)
        if config.consumerMayFail and state.failures < config.redeliveries:
            yield Action(ACTOR, "process-fail", message)
    elif work.stage == SUCCEEDED:
        yield Action(ACTOR, "ack", message, (work.queue, work.offset))
    elif work.stage == FAILED:
        if up(state.master):
            yield Action(ACTOR, "send-back", message)
        else:
            yield Action(ACTOR, "consume-later", message)


def _pull(state: State, action: Action) -> State:
    """The consumer takes the next entry of a queue from the node it reads."""
    queue, offset = action.arg
    found = source(state)
    assert found is not None
    node = found[1]
    consumer = state.consumer
    entry = queue_of(node, queue)[offset]
    work = Work(queue, offset, entry, PULLED)
    return state._replace(consumer=consumer._replace(next=read_position(consumer, node), work=work))


def consume(model: Model, state: State, action: Action) -> State:
    """The consumer pulls the next entry and its listener returns CONSUME_SUCCESS.

    Pulling and processing are one step: a pull changes nothing durable, so a crash between
    the two is the same as a crash before the pull.
    """
    return process(model, _pull(state, action), action)


def consume_fail(model: Model, state: State, action: Action) -> State:
    """The consumer pulls the next entry and its listener returns RECONSUME_LATER (or throws)."""
    return process_fail(model, _pull(state, action), action)


def pull_and_ack(model: Model, state: State, action: Action) -> State:
    """ackBeforeProcess: the listener returns CONSUME_SUCCESS at once and the work runs afterwards."""
    queue, offset = action.arg
    state = _commit(model, _pull(state, action), queue, offset)
    work = state.consumer.work
    assert work is not None
    return state._replace(consumer=state.consumer._replace(work=work._replace(stage=ACKED_UNPROCESSED)))


def correct_offset(model: Model, state: State, action: Action) -> State:
    """OFFSET_OVERFLOW_BADLY: the master moves the consumer's offset back to the queue's end."""
    (queue,) = action.arg
    consumer = state.consumer
    position = list(read_position(consumer, state.master))
    position[queue] = len(queue_of(state.master, queue))
    return state._replace(consumer=consumer._replace(next=tuple(position)))


def process(model: Model, state: State, action: Action) -> State:
    """The listener's business logic runs and returns CONSUME_SUCCESS."""
    consumer = state.consumer
    assert consumer.work is not None
    message = consumer.work.entry.msg
    delivered = bump(state.delivered, message)
    effects = state.effects
    if not (model.config.idempotentConsumer and effects[message] > 0):
        effects = bump(effects, message)
    work = consumer.work
    state = state._replace(delivered=delivered, effects=effects)
    if work.stage == ACKED_UNPROCESSED:
        return state._replace(consumer=consumer._replace(work=None))
    state = state._replace(consumer=consumer._replace(work=work._replace(stage=SUCCEEDED)))
    if not model.observed_in(state).commit_gap:
        # Nothing can fall between CONSUME_SUCCESS and the commit: do both in one step.
        state = commit_if_done(model, state)
    return state


def commit_if_done(model: Model, state: State) -> State:
    """Commit the message in hand if its processing succeeded (the `ack` step, taken at once)."""
    work = state.consumer.work
    if work is None or work.stage != SUCCEEDED:
        return state
    state = _commit(model, state, work.queue, work.offset)
    return state._replace(consumer=state.consumer._replace(work=None))


def process_fail(model: Model, state: State, action: Action) -> State:
    """The business logic fails (RECONSUME_LATER, or an exception): nothing is applied."""
    consumer = state.consumer
    assert consumer.work is not None
    # After an early ack nothing will ever retry the work: it is simply dropped.
    finished = consumer.work.stage == ACKED_UNPROCESSED
    work = None if finished else consumer.work._replace(stage=FAILED)
    return state._replace(consumer=consumer._replace(work=work), failures=state.failures + 1)


def _commit(model: Model, state: State, queue: int, offset: int) -> State:
    """Commit past `offset`: in the consumer's memory and at the node it reads (if any is up).

    A commit at the master reaches the slave at once (SlaveSynchronize, which persists it).
    The real copy lags by up to 10 s; a lagging copy is always behind this one, and a read
    position further back only holds more messages, so syncing at once can hide no loss.
    """
    consumer = state.consumer
    assert consumer.next is not None
    position = committed_past(consumer.next, queue, offset)
    state = state._replace(consumer=consumer._replace(next=position))
    found = source(state)
    if found is None:
        return state
    name, node = found
    offsets = committed_past(node.offsets, queue, offset)
    if name == "slave":
        # Taken by the slave while the master is down: in its memory until persisted.
        lags = model.observed_in(state).slave_offsets_disk
        return state._replace(slave=node._replace(offsets=offsets, offsets_disk=node.offsets_disk if lags else offsets))
    lags = model.observed_in(state).master_offsets_disk
    state = state._replace(master=node._replace(offsets=offsets, offsets_disk=node.offsets_disk if lags else offsets))
    if model.observed.slave_offsets and up(state.slave):
        state = state._replace(slave=state.slave._replace(offsets=offsets, offsets_disk=offsets))
    return state


def ack(model: Model, state: State, action: Action) -> State:
    """The listener's CONSUME_SUCCESS is recorded: the offset is committed past the message."""
    queue, offset = action.arg
    state = _commit(model, state, queue, offset)
    return state._replace(consumer=state.consumer._replace(work=None))


def send_back(model: Model, state: State, action: Action) -> State:
    """consumerSendMsgBack: a %RETRY% (or, past maxReconsumeTimes, %DLQ%) copy is stored, WAIT=false."""
    work = state.consumer.work
    assert work is not None
    times = work.entry.reconsume
    topic = DLQ if times >= model.config.maxReconsumeTimes else RETRY
    master = append_to_master(model, state, Entry(topic, work.entry.msg, times + 1))
    state = _commit(model, state._replace(master=master), work.queue, work.offset)
    return state._replace(consumer=state.consumer._replace(work=None))


def consume_later(model: Model, state: State, action: Action) -> State:
    """Send-back failed (master down): the client keeps the message and consumes it again later."""
    work = state.consumer.work
    assert work is not None
    return state._replace(consumer=state.consumer._replace(work=work._replace(stage=PULLED)))


def restart(model: Model, state: State, action: Action) -> State:
    """The consumer process starts again with nothing in memory."""
    return state._replace(consumer=Consumer(True, None, None))


EFFECTS: dict[str, Effect] = {
    "consume": consume,
    "consume-fail": consume_fail,
    "pull-and-ack": pull_and_ack,
    "correct-offset": correct_offset,
    "process": process,
    "process-fail": process_fail,
    "ack": ack,
    "send-back": send_back,
    "consume-later": consume_later,
    "restart": restart,
}
