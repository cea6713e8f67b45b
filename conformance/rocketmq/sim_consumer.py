"""The consumer of the simulated world: pulls, the listener, commits and send-backs, one spec
action at a time, against the node it reads (the master, else the slave while the master
is down).

Who does what: `World` hands each consumer action to `SimConsumer.apply`; the consumer
talks to the cores with real requests (QueryOffset after a start, Pull one message,
CommitOffset, SendBack) and keeps what RocketMQ's push consumer keeps in memory: its
offsets and the message in hand. What the listener did is counted here (`processed`,
`effects`, `failures`), as the spec counts it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from noloss.reference import messages as m
from noloss.conformance.rocketmq.abstraction import GROUP, QUEUE_TOPICS, TOPIC, message_key, message_of, topic_code
from noloss.reference.core import Received
from noloss.reference.sim import SimNode
from noloss.spec.rocketmq.actions import Action, Queue, QueueOffset, arg_of
from noloss.spec.rocketmq.state import COMMITTED_UNPROCESSED, DLQ, FAILED, PULLED, RETRY, SUCCEEDED, Consumer, Entry, Work

if TYPE_CHECKING:
    from noloss.conformance.rocketmq.world import World

CONSUMER = 2
"""The consumer's connection to the node it reads."""
BODY = b"x"
QUEUE_NAMES = ("topic", "retry")
"""A spec queue as the trace names it."""


@dataclass(slots=True)
class Held:
    """The message in the consumer's hands."""

    queue: int
    offset: int
    entry: Entry
    stage: int


class SimConsumer:
    """A push consumer of the topic and the group's %RETRY% topic, one message at a time."""

    def __init__(self, world: World, messages: int) -> None:
        self.world = world
        self.model = world.model
        self.up = True
        self.next: list[int] | None = None
        self.work: Held | None = None
        self.processed = [0] * messages
        self.effects = [0] * messages
        self.failures = 0
        self._ids = itertools.count(1_000_000)

    def state(self) -> Consumer:
        """The consumer as the spec sees it."""
        work = None
        if self.work is not None:
            work = Work(self.work.queue, self.work.offset, self.work.entry, self.work.stage)
        return Consumer(self.up, None if self.next is None else tuple(self.next), work)

    def apply(self, action: Action) -> None:
        """Carry out one consumer action."""
        verb = action.verb
        if verb in ("pull", "consume", "consume-fail", "pull-and-commit"):
            self.pull(arg_of(action, QueueOffset).queue)
            if verb == "pull-and-commit":
                self._commit_early()
            elif verb == "consume":
                self._process()
            elif verb == "consume-fail":
                self._process_fail()
        elif verb == "process":
            self._process()
        elif verb == "process-fail":
            self._process_fail()
        elif verb == "commit":
            self._commit_done()
        elif verb == "send-back":
            self._send_back()
        elif verb == "consume-later":
            assert self.work is not None
            self.work.stage = PULLED
        elif verb == "correct-offset":
            self._correct(arg_of(action, Queue).queue)
        elif verb == "restart":
            self.up, self.next, self.work = True, None, None
            self.world.emit(event="restart", node="consumer")
        else:
            raise AssertionError(f"no consumer step for {action}")

    def crash(self) -> None:
        """The process dies: its offsets and the message in hand are gone."""
        self.up, self.next, self.work = False, None, None

    # -- talking to the node ---------------------------------------------------------

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

    def pull(self, queue: int) -> None:
        """Pull one message of `queue` from the consumer's offset; it is now in hand."""
        found = self.world.source()
        assert found is not None
        node = found[1]
        offset = self._positions(node)[queue]
        reply = self._call(node, m.PullRequest(next(self._ids), QUEUE_TOPICS[queue], offset, 1, 0))
        assert isinstance(reply, m.PullReply) and reply.status == m.PullStatus.FOUND, reply
        (message,) = reply.messages
        assert message.queue_offset == offset, (message, offset)
        entry = Entry(topic_code(message.topic), message_of(message.key), message.reconsume_times)
        self.work = Held(queue, offset, entry, PULLED)

    def _process(self) -> None:
        """The listener returns CONSUME_SUCCESS; the commit is a step of its own."""
        work = self.work
        assert work is not None
        if work.stage == PULLED:
            self._emit_deliver(work)
        msg = work.entry.msg
        self.world.emit(event="consume", msg=msg, result="CONSUME_SUCCESS")
        self.processed[msg] = min(self.processed[msg] + 1, 2)
        if not (self.model.config.idempotentConsumer and self.effects[msg] > 0):
            self.effects[msg] = min(self.effects[msg] + 1, 2)
        if work.stage == COMMITTED_UNPROCESSED:
            self.work = None
            return
        work.stage = SUCCEEDED

    def _process_fail(self) -> None:
        """The listener returns RECONSUME_LATER (or throws)."""
        work = self.work
        assert work is not None
        if work.stage == PULLED:
            self._emit_deliver(work)
        self.world.emit(event="consume", msg=work.entry.msg, result="RECONSUME_LATER")
        self.failures += 1
        if work.stage == COMMITTED_UNPROCESSED:
            self.work = None
        else:
            work.stage = FAILED

    def _commit_done(self) -> None:
        """The listener's result is recorded; commitBeforeProcess records it before the work runs."""
        work = self.work
        assert work is not None
        if work.stage == PULLED:
            self._commit_early()
            return
        self._commit(work.queue, work.offset)
        self.work = None

    def _commit_early(self) -> None:
        """commitBeforeProcess: the listener is handed the message and returns CONSUME_SUCCESS at once."""
        work = self.work
        assert work is not None
        self._emit_deliver(work)
        self._commit(work.queue, work.offset)
        work.stage = COMMITTED_UNPROCESSED

    def _commit(self, queue: int, offset: int) -> None:
        """Commit past `offset` in memory and at the node the consumer reads."""
        assert self.next is not None
        self.next[queue] = offset + 1
        found = self.world.source()
        if found is None:
            return
        self.commit_at(found[1], queue, offset + 1)

    def commit_at(self, node: SimNode, queue: int, offset: int) -> None:
        """CommitOffset of the group's `queue` at `node`."""
        reply = self._call(node, m.CommitOffsetRequest(next(self._ids), GROUP, QUEUE_TOPICS[queue], offset))
        assert isinstance(reply, m.OffsetReply) and reply.status == m.OK, reply

    def _send_back(self) -> None:
        """consumerSendMsgBack to the master: a %RETRY% (or %DLQ%) copy, then commit."""
        work = self.work
        assert work is not None
        entry = work.entry
        limit = self.model.config.maxReconsumeTimes
        request = m.SendBackRequest(next(self._ids), GROUP, TOPIC, message_key(entry.msg), BODY, entry.reconsume, limit)
        reply = self._call(self.world.cluster.master, request)
        assert isinstance(reply, m.SendReply) and reply.status == m.SendStatus.SEND_OK, reply
        assert topic_code(reply.detail) == (DLQ if entry.reconsume >= limit else RETRY), reply
        self._commit_done()

    def _correct(self, queue: int) -> None:
        """The master answers OFFSET_OVERFLOW past the queue's end: move to the end."""
        node = self.world.cluster.master
        positions = self._positions(node)
        reply = self._call(node, m.PullRequest(next(self._ids), QUEUE_TOPICS[queue], positions[queue], 1, 0))
        assert isinstance(reply, m.PullReply) and reply.status == m.PullStatus.OFFSET_OVERFLOW, reply
        positions[queue] = reply.next_offset

    def _emit_deliver(self, work: Held) -> None:
        self.world.emit(event="deliver", msg=work.entry.msg, queue=QUEUE_NAMES[work.queue], offset=work.offset)
