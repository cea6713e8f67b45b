"""The state of the whole system: producer, master, slave, consumer, network.

Every value is an immutable, hashable tuple (NamedTuple) so that the checker can keep
millions in a set; each field has a comment saying what it models. Codes are small ints
rather than enums because states are built and hashed in the checker's inner loop; the
names below are what reports print.
"""

from __future__ import annotations

from typing import NamedTuple

# Topics a commit-log entry can belong to.
MAIN = 0  # the application's topic
RETRY = 1  # %RETRY%group: failed deliveries sent back by the consumer
DLQ = 2  # %DLQ%group: parked after maxReconsumeTimes failures; read by no consumer
TOPIC_NAMES = ("topic", "%RETRY%", "%DLQ%")
CONSUMED_QUEUES = (MAIN, RETRY)  # the queues the consumer subscribes to, in pull order

# Node status.
UP = 0  # process running
DOWN = 1  # crashed or powered off; comes back with what it has on disk (and page cache, after a crash)
GONE = 2  # permanently lost with its disk; never comes back

# Send statuses (SendStatus), and the producer-side failures that are not statuses.
SEND_OK = 0
FLUSH_DISK_TIMEOUT = 1
FLUSH_SLAVE_TIMEOUT = 2
SLAVE_NOT_AVAILABLE = 3
STATUS_NAMES = ("SEND_OK", "FLUSH_DISK_TIMEOUT", "FLUSH_SLAVE_TIMEOUT", "SLAVE_NOT_AVAILABLE")

# Progress of one guarantee (flush or replication) of a request the master holds.
WAITING = 0  # not met yet
MET = 1  # met, or not asked for
TIMED_OUT = 2  # syncFlushTimeout / slaveTimeout expired first
NOT_AVAILABLE = 3  # replication only: no slave in sync when the message was stored

# Packets between producer and master.
REQUEST = 0  # producer -> master: store message `msg` (attempt `attempt`)
REPLY = 1  # master -> producer: status of attempt `attempt`

# Stages of the message the consumer is working on.
PULLED = 0  # pulled, business logic not run yet
COMMITTED_UNPROCESSED = 1  # commitBeforeProcess: offset committed, business logic not run yet
SUCCEEDED = 2  # business logic returned CONSUME_SUCCESS; offset not committed yet
FAILED = 3  # business logic returned RECONSUME_LATER; not sent back yet
STAGE_NAMES = ("pulled", "committed-unprocessed", "succeeded", "failed")


class Entry(NamedTuple):
    """One commit-log record."""

    topic: int  # MAIN, RETRY or DLQ
    msg: int  # message id (the key an idempotent consumer deduplicates by)
    reconsume: int  # reconsumeTimes carried by a retry/DLQ copy; 0 for the original


class Node(NamedTuple):
    """A broker node (master or slave): its commit log, flush point and consumer offsets."""

    status: int  # UP, DOWN or GONE
    log: tuple[Entry, ...]  # the commit log a restart would recover: disk prefix + page-cache tail
    flushed: int  # how many entries of `log` are on disk (a power loss keeps exactly these)
    offsets: tuple[int, ...]  # committed consume offsets of the group, per CONSUMED_QUEUES, in memory
    offsets_disk: tuple[int, ...]  # the same as last persisted (flushConsumerOffsetInterval)


class Packet(NamedTuple):
    """A request or reply in flight between producer and master."""

    kind: int  # REQUEST or REPLY
    msg: int  # message id
    attempt: int  # which send of `msg` this belongs to (replies to older ones are stale)
    status: int  # REPLY: the SendStatus; REQUEST: 0


class Pending(NamedTuple):
    """A stored message whose reply the master holds until flush and replication are settled."""

    msg: int  # message id
    attempt: int  # the request's attempt, echoed in the reply
    position: int  # where the entry stands in the master's log
    flush: int  # WAITING, MET or TIMED_OUT
    replication: int  # WAITING, MET, TIMED_OUT or NOT_AVAILABLE


class Producer(NamedTuple):
    """The producer client and the application that calls send(), one message at a time."""

    current: int  # the message being sent; == messages once the application is done
    waiting: bool  # a request for `current` is outstanding and its reply not yet handled
    attempt: int  # requests sent for `current` so far; the latest one's id
    retries_left: int  # client-internal retries left in the running send() call
    resends: int  # application-level resends of `current` so far (checkStatus)
    acked: int  # bit m set: the application believes message m is stored (acknowledged)


class Work(NamedTuple):
    """The message the consumer is working on."""

    queue: int  # MAIN or RETRY: which consume queue it came from
    offset: int  # its position in that queue on the node it was pulled from
    entry: Entry  # the record itself
    stage: int  # PULLED, COMMITTED_UNPROCESSED, SUCCEEDED or FAILED


class Consumer(NamedTuple):
    """The push consumer client and its message listener."""

    up: bool  # process running
    next: tuple[int, ...] | None  # in-memory consume offsets per queue; None until fetched after a start
    work: Work | None  # the message in hand, if any (one at a time)


class State(NamedTuple):
    """Everything: the checker's unit of exploration."""

    producer: Producer
    master: Node
    slave: Node
    consumer: Consumer
    network: tuple[Packet, ...]  # packets in flight, sorted (a multiset: duplicates allowed)
    pending: tuple[Pending, ...]  # the master's held replies (its memory: lost when it goes down)
    processed: tuple[int, ...]  # per message: successful runs of the business logic, capped at 2
    effects: tuple[int, ...]  # per message: business effects applied (dedup-aware), capped at 2
    faults: tuple[int, ...]  # per fault kind (FAULT_KINDS order): how many happened so far
    failures: int  # business-logic failures (RECONSUME_LATER) so far, bounded by `redeliveries`
    # The slave's HA connection to the master has been made again since it last broke (either
    # node going down breaks it), and with haTrustSlaveOffset=false the master has checked its log.
    slave_linked: bool = True
    # haTrustSlaveOffset=true only: the master streamed from inside one of its records (the
    # slave's offset was no record boundary of its log, spec/rocketmq/sizes.py), so the slave holds
    # bytes it cannot read; its offset is the end of the master's first `slave_unread`
    # entries. 0: its offset is the end of its own log. Gone when their link breaks.
    slave_unread: int = 0


_UNCHANGED = object()


def _install_fast_replace(cls: type) -> None:
    """Give a NamedTuple a `_replace` that only picks, field by field, the new or the old value.

    The stdlib version rebuilds every field through a dict; states are copied with one or two
    fields changed several times per transition in the checker's inner loop. The function is
    generated with one keyword-only parameter per field, so a call passes no dict around.
    """
    fields = cls._fields  # type: ignore[attr-defined]
    source = "\n".join(
        [
            f"def _replace(self, *, {', '.join(f'{name}=unchanged' for name in fields)}):",
            f"    {', '.join(f'old_{name}' for name in fields)}, = self",
            f"    return make(cls, ({', '.join(f'old_{name} if {name} is unchanged else {name}' for name in fields)},))",
        ]
    )
    namespace: dict[str, object] = {"unchanged": _UNCHANGED, "make": tuple.__new__, "cls": cls}
    exec(compile(source, f"<_replace of {cls.__qualname__}>", "exec"), namespace)
    setattr(cls, "_replace", namespace["_replace"])


for _cls in (Entry, Node, Packet, Pending, Producer, Work, Consumer, State):
    _install_fast_replace(_cls)
