"""The consumer client past the queue's end (OFFSET_OVERFLOW) goes on from where the master
says, as RocketMQ's client does on OFFSET_ILLEGAL: the end, or up to 4.9.3 the start."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from noloss.reference.client import AsyncConsumer, ConsumeStatus, Message, Producer
from noloss.reference.core import FlushType, NodeConfig, Role
from tests.reference.test_client_connections import _ServerThread


@pytest.mark.parametrize(("version", "moved_to", "delivered"), [("4.9.3", 1, [b"m0"]), ("4.9.7", 1, [])])
def test_a_consumer_past_the_end_moves_where_the_master_says(tmp_path: Path, version: str, moved_to: int, delivered: list[bytes]) -> None:
    node = _ServerThread(tmp_path, config=NodeConfig(Role.ASYNC_MASTER, FlushType.ASYNC_FLUSH, rocketmq_version=version))
    try:
        producer = Producer(node.address)
        producer.send("TopicTest", b"m0")
        producer.shutdown()
        received: list[bytes] = []

        def handle(message: Message) -> ConsumeStatus:
            received.append(message.body)
            return ConsumeStatus.CONSUME_SUCCESS

        async def consume() -> int:
            consumer = AsyncConsumer("g", "TopicTest", handle, [node.address], suspend_ms=50)
            consumer.committed["TopicTest"] = 5  # in memory, past the queue's one message
            task = asyncio.create_task(consumer.run())
            for _ in range(250):  # until it has moved (and read what it moved back to)
                if consumer.committed["TopicTest"] == moved_to and len(received) == len(delivered):
                    break
                await asyncio.sleep(0.02)
            consumer.stop()
            await task
            return consumer.committed["TopicTest"]

        # 4.9.3 sends it back to 0: it reads m0 again and ends past it; 4.9.7 to the end, 1.
        assert asyncio.run(consume()) == moved_to
        assert received == delivered
    finally:
        node.stop()
