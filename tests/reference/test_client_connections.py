"""The clients' connections: one per broker however many sends start at once, again after
the broker restarts, all closed by shutdown; and a consume loop that meets a bad reply
says so, counts it and carries on."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from noloss.reference import client
from noloss.reference import messages as m
from noloss.reference.client import AsyncConsumer, AsyncProducer, ConsumeStatus, Message, Producer, SendResult
from noloss.reference.core import FlushType, NodeConfig, Role
from noloss.reference.server import BrokerServer

CONFIG = NodeConfig(Role.ASYNC_MASTER, FlushType.ASYNC_FLUSH)


class _ServerThread:
    """A broker node on its own event loop thread, as a separate process would be."""

    def __init__(self, data_dir: Path, port: int = 0, config: NodeConfig = CONFIG, master: tuple[str, int] | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = BrokerServer(config, str(data_dir), "127.0.0.1", port, master)
        self.port = self.call(self.server.start())
        self.address = f"127.0.0.1:{self.port}"

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def stop(self) -> None:
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def _send_burst(producer: Producer, count: int) -> list[SendResult | Exception]:
    """`count` send_async calls that all start before any of them runs: the producer's
    loop is held until every one is queued."""
    results: list[SendResult | Exception] = []
    done = threading.Event()
    gate = threading.Event()
    producer._thread.loop.call_soon_threadsafe(gate.wait)

    def callback(result: SendResult | Exception) -> None:
        results.append(result)
        if len(results) == count:
            done.set()

    for i in range(count):
        producer.send_async("TopicTest", b"m%d" % i, callback)
    gate.set()
    assert done.wait(30), f"{len(results)} of {count} callbacks"
    return results


def _wait_for(condition: Any, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_burst_of_sends_opens_one_connection_again_after_a_restart_and_shutdown_closes_it(tmp_path: Path) -> None:
    node = _ServerThread(tmp_path)
    producer = Producer(node.address)
    try:
        results = _send_burst(producer, 200)
        assert all(isinstance(r, SendResult) for r in results), [r for r in results if isinstance(r, Exception)][:3]
        assert node.server.accepted == 1
        node.stop()
        node = _ServerThread(tmp_path, node.port)  # the master restarts on its port
        results = _send_burst(producer, 200)
        assert all(isinstance(r, SendResult) for r in results), [r for r in results if isinstance(r, Exception)][:3]
        assert node.server.accepted == 1
        assert node.server.open_connections() == 1
    finally:
        producer.shutdown()
    assert _wait_for(lambda: node.server.open_connections() == 0), node.server.open_connections()
    node.stop()


def test_a_bad_reply_in_the_consume_loop_is_logged_counted_and_the_loop_reconnects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    real_call = client._Link.call
    injected: list[str] = []

    async def call_with_one_bad_reply(self: client._Link, message: m.Request, timeout_s: float) -> m.Reply:
        if isinstance(message, m.QueryOffsetRequest) and message.topic == "TopicTest" and not injected:
            injected.append(self.address)
            return m.SendReply(message.request_id, "SEND_OK", "0", 0, "")
        return await real_call(self, message, timeout_s)

    monkeypatch.setattr(client._Link, "call", call_with_one_bad_reply)

    async def scenario() -> tuple[list[bytes], AsyncConsumer]:
        server = BrokerServer(CONFIG, str(tmp_path), "127.0.0.1", 0)
        address = f"127.0.0.1:{await server.start()}"
        producer = AsyncProducer(address)
        for i in range(5):
            await producer.send("TopicTest", b"m%d" % i)
        await producer.close()
        bodies: list[bytes] = []

        def handler(message: Message) -> ConsumeStatus:
            bodies.append(message.body)
            return ConsumeStatus.CONSUME_SUCCESS

        consumer = AsyncConsumer("g", "TopicTest", handler, [address], suspend_ms=100)
        running = asyncio.create_task(consumer.run())
        for _ in range(500):
            if len(bodies) == 5:
                break
            await asyncio.sleep(0.01)
        consumer.stop()
        await running
        await server.stop()
        return bodies, consumer

    with caplog.at_level(logging.ERROR, logger="noloss.client"):
        bodies, consumer = asyncio.run(scenario())
    assert injected, "the bad reply was injected"
    assert bodies == [b"m%d" % i for i in range(5)]
    assert consumer.errors == 1
    failures = [r for r in caplog.records if "consume loop of TopicTest" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None
    assert "answered a QueryOffsetRequest with a SendReply" in str(failures[0].exc_info[1])
