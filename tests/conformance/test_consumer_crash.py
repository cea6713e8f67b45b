"""A consumer crash takes effect where the history shows it: a business step that runs after
the crash is logged (the consumer's thread has not stopped yet) must not let its message be
committed, or the restarted consumer skips a message the history says was never processed.

A CI run counted one acknowledged message lost that way under `consumer-crash`; with the
harness's window between logging the crash and stopping the consumer widened to 1.2 s, the
old business step lost 3,558-4,229 of about 10,000 acknowledged messages a run."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any, cast

import pytest

from noloss.conformance.history import History, read_history
from noloss.conformance.run import RunSpec, run
from noloss.conformance.targets import reference
from noloss.conformance.targets.base import ConsumerKilled, Delivery, Handler, Target, TargetConsumer
from noloss.conformance.targets.nodes import ThreadedConsumer
from noloss.conformance.workload import GROUP, Resend, Workload, WorkloadSpec, body_of
from noloss.reference.client import AsyncConsumer, ConsumeStatus, Message, Producer
from noloss.reference.core import FlushType, NodeConfig, Role
from noloss.spec.rocketmq.config import preset
from noloss.conformance.rocketmq.rules import ROCKETMQ_RULES
from tests.reference.test_client_connections import _ServerThread


class _Consumer(TargetConsumer):
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.crashed = False

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def crash(self) -> None:
        self.crashed = True


class _Target:
    """Only what the consumer side of a workload asks of a target."""

    def __init__(self) -> None:
        self.consumers: list[_Consumer] = []

    def consumer(self, group: str, handler: Handler) -> TargetConsumer:
        self.consumers.append(_Consumer(handler))
        return self.consumers[-1]


def _delivery(message: int) -> Delivery:
    return Delivery(body_of(message), "topic", message)


def test_a_business_step_after_the_logged_crash_raises_and_logs_nothing(tmp_path: Path) -> None:
    target = _Target()
    history = History(tmp_path / "history.ndjson")
    workload = Workload(cast(Target, target), WorkloadSpec(1, 10, 10.0, Resend(True, 2)), history)
    workload.start_consumer()
    first = target.consumers[0]
    assert first.handler(_delivery(0)) is True
    workload.crash_consumer()
    assert first.crashed
    with pytest.raises(ConsumerKilled):
        first.handler(_delivery(1))  # the dead consumer's thread, still running
    workload.restart_consumer()
    assert target.consumers[1].handler(_delivery(1)) is True
    history.close()

    assert workload.processed == {0, 1}
    events = [(r["event"], r.get("msg")) for r in read_history(tmp_path / "history.ndjson")]
    assert events == [("deliver", 0), ("consume", 0), ("fault", None), ("restart", None), ("deliver", 1), ("consume", 1)]


def test_the_reference_client_commits_nothing_from_a_killed_step_on(tmp_path: Path) -> None:
    """m2's step raises ConsumerKilled: periodic commits go on while the consumer waits for
    its crash, yet the next consumer of the group starts at m2, and m2 was not sent back."""
    node = _ServerThread(tmp_path, config=NodeConfig(Role.ASYNC_MASTER, FlushType.ASYNC_FLUSH))
    try:
        producer = Producer(node.address)
        for i in range(5):
            producer.send("TopicTest", b"m%d" % i)
        producer.shutdown()
        killed = threading.Event()
        received: list[bytes] = []

        def dying(message: Message) -> ConsumeStatus:
            if message.body == b"m2":
                killed.set()
                raise ConsumerKilled
            return ConsumeStatus.CONSUME_SUCCESS

        def living(message: Message) -> ConsumeStatus:
            received.append(message.body)
            return ConsumeStatus.CONSUME_SUCCESS

        async def consume() -> None:
            first = AsyncConsumer(GROUP, "TopicTest", dying, [node.address], persist_offset_interval_ms=20, suspend_ms=50)
            task = asyncio.create_task(first.run())
            for _ in range(250):
                if killed.is_set():
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)  # ten periodic commits
            first.crash()
            await task
            assert first.committed["TopicTest"] == 2

            second = AsyncConsumer(GROUP, "TopicTest", living, [node.address], suspend_ms=50)
            task = asyncio.create_task(second.run())
            for _ in range(250):
                if len(received) >= 3:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)  # a send-back of m2 would arrive in this time
            second.stop()
            await task

        asyncio.run(consume())
        assert killed.is_set()
        assert received == [b"m2", b"m3", b"m4"]
    finally:
        node.stop()


class _OneStep(ThreadedConsumer):
    def __init__(self, handler: Handler) -> None:
        super().__init__("one-step")
        self.handler = handler
        self.acked = False

    def _run(self) -> None:
        self.handler(_delivery(0))
        self.acked = True


def test_a_threaded_consumer_ends_quietly_on_a_killed_step(monkeypatch: pytest.MonkeyPatch) -> None:
    uncaught: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", uncaught.append)

    def killed(delivery: Delivery) -> bool:
        raise ConsumerKilled

    consumer = _OneStep(killed)
    consumer.start()
    consumer.crash()
    assert not consumer.acked
    assert uncaught == []


@pytest.mark.slow
def test_no_loss_when_the_crashed_consumer_takes_long_to_stop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference consumer's thread goes on for 1.2 s after each logged crash (more than
    its 1 s offset commits): nothing it does then may show. Before `ConsumerKilled` this run
    lost thousands of acknowledged messages: the dead consumer committed what the history
    says it never processed."""
    crash = reference.ReferenceConsumer.crash

    def slow_crash(self: reference.ReferenceConsumer) -> None:
        time.sleep(1.2)
        crash(self)

    monkeypatch.setattr(reference.ReferenceConsumer, "crash", slow_crash)
    name = "sync-flush-async-master"
    config = preset(name)
    spec = RunSpec(name, config, ("consumer-crash",), producers=4, messages=10**9, duration_s=10**6, interval_s=2.0, down_s=0.3, cycles=3, rules=ROCKETMQ_RULES)
    result = run(spec, "consumer-crash", reference.factory(config), tmp_path / "run", progress=False)
    assert result.counts is not None and result.judgement is not None
    assert result.faults_injected == 3
    assert result.counts.acknowledged > 100
    assert result.counts.lost == 0, result.counts.lost_messages[:10]
    assert result.judgement.ok, (result.history, result.judgement.failures[:3])
