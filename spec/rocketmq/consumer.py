"""The push consumer and its listener: pull, process, commit; send back on failure.

The consumer reads from the master, or from the slave while the master is down (classic
master/slave has no failover) if the slave answers pulls: 4.x slaves do, 5.x slaves only with
slaveReadEnable (PullMessageProcessor.rejectRequest). It sees the entries the broker has
dispatched to its consume queues: the whole commit log, or in 5.3+ under SYNC_FLUSH only the
flushed part (unless readUnCommitted). It subscribes to the topic and to %RETRY%group and works on
one message at a time, so its committed offset is always 'the smallest offset in flight'.
After a start it fetches its offsets from the node it reads. A failed message is sent back
to the master as a %RETRY% copy (or a %DLQ% copy after maxReconsumeTimes), stored with
WAIT=false: no sync flush, no replication wait. Offsets past the end of the master's queue
are corrected, as the broker answers OFFSET_OVERFLOW_BADLY: to the end, or up to 4.9.3 to the
start (not on the slave: offsetCheckInSlave is false by default).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import TYPE_CHECKING

from noloss.spec.rocketmq.actions import Action, Effect, Queue, QueueOffset, arg_of, bump, committed_past, up
from noloss.spec.rocketmq.broker import MASTER, SLAVE, append_to_master
from noloss.spec.rocketmq.reductions import merges_pull
from noloss.spec.rocketmq.state import (
    COMMITTED_UNPROCESSED,
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
    from noloss.spec.rocketmq.model import Model

ACTOR = "consumer"


def source(model: Model, state: State) -> tuple[str, Node] | None:
    """The node the consumer reads from now: the master, else the slave while the master is down."""
    if up(state.master):
        return MASTER, state.master
    if up(state.slave) and model.config.consumer_reads_slave:
        return SLAVE, state.slave
    return None


def queue_of(node: Node, queue: int) -> tuple[Entry, ...]:
    """The consume queue of one topic once everything is dispatched: its entries in commit-log order."""
    return tuple(entry for entry in node.log if entry.topic == queue)


def dispatched_queue(model: Model, name: str, node: Node, queue: int) -> tuple[Entry, ...]:
    """The consume queue as consumers see it now: what ReputMessageService has dispatched.

    4.x and 5.0-5.2 dispatch up to the commit log's write position, unflushed entries too;
    5.3+ stops at the confirm offset, which under SYNC_FLUSH is the flushed position
    (ReputMessageService.getReputEndOffset), unless readUnCommitted.
    """
    config = model.config
    bounded = config.dispatch_bounded_on_master if name == MASTER else config.dispatch_bounded_on_slave
    log = node.log[: node.flushed] if bounded else node.log
    return tuple(entry for entry in log if entry.topic == queue)


def read_position(consumer: Consumer, node: Node) -> tuple[int, ...]:
    """Where the consumer reads `node` from: its in-memory offsets, else the node's committed ones."""
    return consumer.next if consumer.next is not None else node.offsets


def enabled_reads(state: State) -> Hashable:
    """All that `enabled` reads of the state (Model.actions keeps its actions per value of it)."""
    return (state.consumer, state.master, state.slave, state.failures)


def enabled(model: Model, state: State) -> Iterator[Action]:
    consumer = state.consumer
    if not consumer.up:
        yield Action(ACTOR, "restart", None)
        return
    config = model.config
    work = consumer.work
    if work is None:
        found = source(model, state)
        if found is None:
            return
        name, node = found
        position = read_position(consumer, node)
        for queue in CONSUMED_QUEUES:
            entries = dispatched_queue(model, name, node, queue)
            offset = position[queue]
            if offset < len(entries):
                message = entries[offset].msg
                if not merges_pull(model):
                    yield Action(ACTOR, "pull", message, QueueOffset(queue, offset))
                elif config.commitBeforeProcess:
                    yield Action(ACTOR, "pull-and-commit", message, QueueOffset(queue, offset))
                else:
                    yield Action(ACTOR, "consume", message, QueueOffset(queue, offset))
                    if config.consumerMayFail and state.failures < config.redeliveries:
                        yield Action(ACTOR, "consume-fail", message, QueueOffset(queue, offset))
            elif offset > len(entries) and name == MASTER:
                yield Action(ACTOR, "correct-offset", None, Queue(queue))
        return
    message = work.entry.msg
    if work.stage == PULLED and config.commitBeforeProcess:
        # The listener hands the work off and returns CONSUME_SUCCESS before it runs.
        yield Action(ACTOR, "commit", message, QueueOffset(work.queue, work.offset))
    elif work.stage in (PULLED, COMMITTED_UNPROCESSED):
        yield Action(ACTOR, "process", message)
        if config.consumerMayFail and state.failures < config.redeliveries:
            yield Action(ACTOR, "process-fail", message)
    elif work.stage == SUCCEEDED:
        yield Action(ACTOR, "commit", message, QueueOffset(work.queue, work.offset))
    elif work.stage == FAILED:
        if up(state.master):
            yield Action(ACTOR, "send-back", message)
        else:
            yield Action(ACTOR, "consume-later", message)


def pull(model: Model, state: State, action: Action) -> State:
    """The consumer takes the next entry of a queue from the node it reads."""
    at = arg_of(action, QueueOffset)
    found = source(model, state)
    assert found is not None
    node = found[1]
    consumer = state.consumer
    entry = queue_of(node, at.queue)[at.offset]
    work = Work(at.queue, at.offset, entry, PULLED)
    return state._replace(consumer=consumer._replace(next=read_position(consumer, node), work=work))


def consume(model: Model, state: State, action: Action) -> State:
    """`pull` and `process` as one step (reductions.merges_pull): CONSUME_SUCCESS."""
    return process(model, pull(model, state, action), action)


def consume_fail(model: Model, state: State, action: Action) -> State:
    """`pull` and `process-fail` as one step: the listener returns RECONSUME_LATER (or throws)."""
    return process_fail(model, pull(model, state, action), action)


def pull_and_commit(model: Model, state: State, action: Action) -> State:
    """`pull` and the early `commit` as one step: commitBeforeProcess, the work runs afterwards."""
    return commit(model, pull(model, state, action), action)


def correct_offset(model: Model, state: State, action: Action) -> State:
    """OFFSET_OVERFLOW_BADLY: the master moves the consumer's offset back to the queue's end (to 0 up to 4.9.3)."""
    queue = arg_of(action, Queue).queue
    consumer = state.consumer
    position = list(read_position(consumer, state.master))
    position[queue] = 0 if model.config.overflow_to_min else len(dispatched_queue(model, MASTER, state.master, queue))
    return state._replace(consumer=consumer._replace(next=tuple(position)))


def process(model: Model, state: State, action: Action) -> State:
    """The listener's business logic runs and returns CONSUME_SUCCESS."""
    consumer = state.consumer
    assert consumer.work is not None
    message = consumer.work.entry.msg
    processed = bump(state.processed, message)
    effects = state.effects
    if not (model.config.idempotentConsumer and effects[message] > 0):
        effects = bump(effects, message)
    work = consumer.work
    state = state._replace(processed=processed, effects=effects)
    if work.stage == COMMITTED_UNPROCESSED:
        return state._replace(consumer=consumer._replace(work=None))
    return state._replace(consumer=consumer._replace(work=work._replace(stage=SUCCEEDED)))


def process_fail(model: Model, state: State, action: Action) -> State:
    """The business logic fails (RECONSUME_LATER, or an exception): nothing is applied."""
    consumer = state.consumer
    assert consumer.work is not None
    # After an early ack nothing will ever retry the work: it is simply dropped.
    finished = consumer.work.stage == COMMITTED_UNPROCESSED
    work = None if finished else consumer.work._replace(stage=FAILED)
    return state._replace(consumer=consumer._replace(work=work), failures=state.failures + 1)


def _commit(model: Model, state: State, queue: int, offset: int) -> State:
    """Commit past `offset`: in the consumer's memory and, in memory until persisted, at the
    node it reads (if any is up). The slave copies a commit at the master by `sync-offsets`."""
    consumer = state.consumer
    assert consumer.next is not None
    position = committed_past(consumer.next, queue, offset)
    state = state._replace(consumer=consumer._replace(next=position))
    found = source(model, state)
    if found is None:
        return state
    name, node = found
    node = node._replace(offsets=committed_past(node.offsets, queue, offset))
    return state._replace(master=node) if name == MASTER else state._replace(slave=node)


def commit(model: Model, state: State, action: Action) -> State:
    """The listener's CONSUME_SUCCESS is recorded: the offset is committed past the message.

    Under commitBeforeProcess it is recorded before the work runs (`committed-unprocessed`).
    """
    at = arg_of(action, QueueOffset)
    state = _commit(model, state, at.queue, at.offset)
    work = state.consumer.work
    assert work is not None
    done = None if work.stage == SUCCEEDED else work._replace(stage=COMMITTED_UNPROCESSED)
    return state._replace(consumer=state.consumer._replace(work=done))


def send_back(model: Model, state: State, action: Action) -> State:
    """consumerSendMsgBack: a %RETRY% (or, past maxReconsumeTimes, %DLQ%) copy is stored, WAIT=false."""
    work = state.consumer.work
    assert work is not None
    times = work.entry.reconsume
    topic = DLQ if times >= model.config.maxReconsumeTimes else RETRY
    master = append_to_master(state, Entry(topic, work.entry.msg, times + 1))
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
    "pull": pull,
    "consume": consume,
    "consume-fail": consume_fail,
    "pull-and-commit": pull_and_commit,
    "correct-offset": correct_offset,
    "process": process,
    "process-fail": process_fail,
    "commit": commit,
    "send-back": send_back,
    "consume-later": consume_later,
    "restart": restart,
}
