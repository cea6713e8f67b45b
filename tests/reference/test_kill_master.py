"""Acceptance test of the reference broker: strict settings, 10,000 messages, the master killed
with SIGKILL mid-stream and restarted; every acknowledged message is consumed."""

from __future__ import annotations

import asyncio
import time

import pytest

from conftest import Brokers

from noloss.reference.client import AsyncProducer, ConsumeStatus, Consumer, Message, SendFailed, SendStatus

TOTAL = 10_000
KILL_AFTER = 3_000
PRODUCERS = 64


@pytest.mark.slow
def test_sigkill_master_mid_stream_loses_no_acknowledged_message(brokers: Brokers) -> None:
    master, _slave = brokers.cluster("strict")
    acked: set[int] = set()
    attempts_after_restart = 0
    restarted = False

    async def produce() -> None:
        nonlocal attempts_after_restart, restarted, master
        producer = AsyncProducer(master.address)
        todo = list(range(TOTAL - 1, -1, -1))

        async def worker() -> None:
            # A careful producer: resend until the broker answers SEND_OK.
            nonlocal attempts_after_restart
            while todo:
                number = todo.pop()
                while True:
                    attempts_after_restart += restarted
                    try:
                        result = await producer.send("TopicTest", b"message %05d" % number, key=str(number))
                    except SendFailed:
                        result = None
                    if result is not None and result.status == SendStatus.SEND_OK:
                        acked.add(number)
                        break
                    await asyncio.sleep(0.05)

        async def killer() -> None:
            nonlocal master, restarted
            while len(acked) < KILL_AFTER:
                await asyncio.sleep(0.002)
            master.kill()
            assert len(acked) < TOTAL, "the kill must land mid-stream"
            await asyncio.sleep(0.3)
            master = await asyncio.to_thread(brokers.restart, master)
            restarted = True

        await asyncio.gather(killer(), *(worker() for _ in range(PRODUCERS)))
        await producer.close()

    asyncio.run(produce())
    assert acked == set(range(TOTAL))
    assert restarted and attempts_after_restart > 0

    seen: set[int] = set()

    def handler(message: Message) -> ConsumeStatus:
        seen.add(int(message.key))
        return ConsumeStatus.CONSUME_SUCCESS

    consumer = Consumer("checker", "TopicTest", handler, master.address, pull_batch_size=512)
    consumer.start()
    deadline = time.monotonic() + 60
    while not acked <= seen and time.monotonic() < deadline:
        time.sleep(0.05)
    consumer.shutdown()
    missing = sorted(acked - seen)
    assert not missing, f"{len(missing)} acknowledged messages lost, first {missing[:10]}"
