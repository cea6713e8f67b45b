"""A consumer refused by a broker (a 5.x slave serving no pulls while the master is down)
says so once per topic, not at every retry."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from noloss.conformance.inject.ports import free_port
from noloss.reference.client import AsyncConsumer, ConsumeStatus, Message
from noloss.reference.core import FlushType, NodeConfig, Role
from tests.reference.test_client_connections import _ServerThread


def test_a_slave_that_serves_no_pulls_is_reported_once_per_topic(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    down_master = ("127.0.0.1", free_port())  # nobody listens there: the master is down
    slave = _ServerThread(tmp_path, config=NodeConfig(Role.SLAVE, FlushType.ASYNC_FLUSH, rocketmq_version="5.3", slave_read_enable=False), master=down_master)
    try:

        def handle(message: Message) -> ConsumeStatus:
            return ConsumeStatus.CONSUME_SUCCESS

        async def consume() -> None:
            consumer = AsyncConsumer("g", "TopicTest", handle, [slave.address], suspend_ms=50)
            task = asyncio.create_task(consumer.run())
            await asyncio.sleep(0.8)  # several refused pulls per topic, 0.2 s apart
            consumer.stop()
            await task

        with caplog.at_level(logging.WARNING, logger="noloss.client"):
            asyncio.run(consume())
        refusals = [record.getMessage() for record in caplog.records if "slaveReadEnable" in record.getMessage()]
        assert len(refusals) == 2, refusals  # TopicTest and the group's retry topic
        assert {refusal.split()[2] for refusal in refusals} == {"TopicTest", "%RETRY%g"}
    finally:
        slave.stop()
