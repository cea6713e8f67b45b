"""The abstraction function: what a simulated reference cluster is, as a spec `State`.

Who does what: `World` (world.py) runs the real master and slave cores over simulated
storage and network; `abstract(model, world)` reads their logs, flush points, consumer
offsets and held sends and builds the spec state they stand for. The model-based tests
assert that it equals the spec's state after every step.

Mapping, field by field:

* a node's `log` is what a restart would recover: the records of its page cache (a
  crash keeps it; a power loss has already cut it to the disk); `flushed` counts the
  whole records on disk; `offsets` are the core's in memory (the persisted ones while
  the node is down: its memory is gone), `offsets_disk` those in consumerOffset.json;
* `pending` is the master's list of waiters, each one's flush and replication status as
  WAITING / MET / TIMED_OUT / NOT_AVAILABLE, its position the record's index in the log;
* `network` holds the requests the driver put on the wire and the replies the master
  actually sent, with the master's status;
* the consumer's offsets and message in hand come from the broker's answers to it.

The spec's reductions are steps it takes at once (spec/rocketmq/reductions.py), and the lockstep
takes them on the broker too: the abstraction maps what is there, nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from noloss.reference import log
from noloss.reference import messages as m
from noloss.reference.storage import SimLog
from noloss.spec.rocketmq.state import (
    CONSUMED_QUEUES,
    DLQ,
    GONE,
    MAIN,
    MET,
    NOT_AVAILABLE,
    RETRY,
    TIMED_OUT,
    UP,
    WAITING,
    Entry,
    Node,
    State,
)

if TYPE_CHECKING:
    from noloss.conformance.rocketmq.world import World
    from noloss.spec.rocketmq.model import Model

TOPIC = "TopicTest"
GROUP = "noloss"
QUEUE_TOPICS = (TOPIC, m.retry_topic(GROUP))
"""The broker topic of each spec queue, in CONSUMED_QUEUES order."""
STATUS_CODES = {status.value: code for code, status in enumerate(m.SendStatus)}
"""A SendStatus name -> the spec's code (both list the statuses in the same order)."""


@dataclass(frozen=True, slots=True)
class Record:
    """One commit-log record, as far as the spec cares."""

    topic: str
    key: str
    reconsume: int
    end: int  # log offset just past the record


def topic_code(topic: str) -> int:
    """The spec's topic of a broker topic: the application's, %RETRY%… or %DLQ%….

    post: __return__ in (0, 1, 2)
    post: (__return__ == 2) == topic.startswith("%DLQ%")
    """
    if topic.startswith(m.DLQ_PREFIX):
        return DLQ
    if topic.startswith(m.RETRY_PREFIX):
        return RETRY
    return MAIN


def message_key(msg: int) -> str:
    """The key the driver gives message `msg` (an idempotent consumer dedups by it).

    pre: msg >= 0
    post: message_of(__return__) == msg
    """
    return f"m{msg}"


def message_of(key: str) -> int:
    """The spec's message number of a record's key (the inverse of `message_key`).

    pre: key[:1] == "m" and key[1:].isascii() and key[1:].isdigit()
    post: __return__ >= 0
    """
    return int(key[1:])


def records_on_disk(ends: Sequence[int], durable: int) -> int:
    """How many records a power loss keeps: the whole ones ending by `durable` (recovery
    drops a torn tail).

    pre: all(0 < a < b for a, b in zip(ends, ends[1:]))
    pre: durable >= 0
    post: 0 <= __return__ <= len(ends)
    post: all(end <= durable for end in ends[:__return__])
    post: __return__ == len(ends) or ends[__return__] > durable
    """
    count = 0
    for end in ends:
        if end > durable:
            break
        count += 1
    return count


def guarantee(status: str | None) -> int:
    """One wait of a held send as the spec's progress code.

    post: __return__ in (0, 1, 2, 3)
    post: (__return__ == 0) == (status is None)
    """
    if status is None:
        return WAITING
    if status == m.SendStatus.SEND_OK:
        return MET
    if status == m.SendStatus.SLAVE_NOT_AVAILABLE:
        return NOT_AVAILABLE
    return TIMED_OUT


def read_records(file: SimLog) -> list[Record]:
    """The records a restart would recover from `file` (its page cache), in log order."""
    end = log.scan(file, file.size()).end
    records = []
    pos = 0
    while pos < end:
        length = log.record_length(file.read(pos, 4), 0)
        message = log.decode_record(file.read(pos, length))
        pos += length
        records.append(Record(message.topic, message.key, message.reconsume_times, pos))
    return records


def queue_offsets(offsets: Mapping[tuple[str, str], int]) -> tuple[int, ...]:
    """The group's committed offset per spec queue; a queue never committed reads from 0."""
    return tuple(max(offsets.get((GROUP, topic), 0), 0) for topic in QUEUE_TOPICS)


def node_state(
    status: int,
    records: Sequence[Record],
    durable: int,
    offsets: Mapping[tuple[str, str], int],
    offsets_disk: Mapping[tuple[str, str], int],
) -> Node:
    """A node as the spec sees it (GONE: nothing left).

    pre: status in (0, 1, 2)
    pre: durable >= 0
    pre: all(0 < a.end < b.end for a, b in zip(records, records[1:]))
    pre: all(r.key[:1] == "m" and r.key[1:].isascii() and r.key[1:].isdigit() for r in records)
    post: 0 <= __return__.flushed <= len(__return__.log)
    post: len(__return__.offsets) == len(__return__.offsets_disk) == len(CONSUMED_QUEUES)
    post: min(__return__.offsets + __return__.offsets_disk) >= 0
    post: status != GONE or __return__.log == ()
    """
    if status == GONE:
        empty = (0,) * len(CONSUMED_QUEUES)
        return Node(GONE, (), 0, empty, empty)
    entries = tuple(Entry(topic_code(r.topic), message_of(r.key), r.reconsume) for r in records)
    flushed = records_on_disk([r.end for r in records], durable)
    memory = offsets if status == UP else offsets_disk
    return Node(status, entries, flushed, queue_offsets(memory), queue_offsets(offsets_disk))


def abstract(model: Model, world: World) -> State:
    """The spec state the simulated cluster and its clients stand for."""
    return State(
        producer=world.producer,
        master=world.node_state("master"),
        slave=world.node_state("slave"),
        consumer=world.consumer.state(),
        network=tuple(sorted(world.network)),
        pending=world.pending(),
        processed=tuple(world.consumer.processed),
        effects=tuple(world.consumer.effects),
        faults=tuple(world.faults),
        failures=world.consumer.failures,
        slave_linked=world.slave_counted(),
        slave_unread=world.slave_unread(),
    )
