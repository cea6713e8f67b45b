"""The broker shell's disk calls: `stop` closes the log only after the fsync thread has
finished the fsync it was running, and metadata is never written on the event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from noloss.reference.client import AsyncProducer
from noloss.reference.core import FlushType, NodeConfig, Role
from noloss.reference.server import BrokerServer
from noloss.reference.storage import FileLog, FileStorage


class _SlowLog(FileLog):
    """A log whose fsyncs take a while and which records what happens to it."""

    def __init__(self, path: str, events: list[str]) -> None:
        super().__init__(path)
        self.events = events

    def sync(self) -> None:
        self.events.append("sync-start")
        time.sleep(0.3)
        super().sync()
        self.events.append("sync-end")

    def close(self) -> None:
        self.events.append("close")
        super().close()


class _RecordingStorage(FileStorage):
    def __init__(self, directory: str) -> None:
        super().__init__(directory)
        self.events: list[str] = []
        self.meta_threads: list[str] = []

    def open_log(self, name: str) -> FileLog:
        return _SlowLog(self.path(name), self.events) if name == "commitlog" else super().open_log(name)

    def write_meta(self, name: str, data: bytes) -> None:
        self.meta_threads.append(threading.current_thread().name)
        super().write_meta(name, data)


def test_stop_waits_for_the_running_fsync_before_closing_and_writes_meta_off_the_loop(tmp_path: Path) -> None:
    storage = _RecordingStorage(str(tmp_path))

    async def scenario() -> None:
        server = BrokerServer(NodeConfig(Role.ASYNC_MASTER, FlushType.SYNC_FLUSH), str(tmp_path), "127.0.0.1", 0, storage=storage)
        port = await server.start()
        storage.events.clear()  # recovery's own fsync, before serving
        producer = AsyncProducer(f"127.0.0.1:{port}", send_timeout_ms=5000, retry_times_when_send_failed=0)
        send = asyncio.create_task(producer.send("TopicTest", b"x"))
        while "sync-start" not in storage.events:
            await asyncio.sleep(0.01)
        storage.events.append("stop")  # the flusher's fsync is running now
        await server.stop()
        send.cancel()
        await asyncio.gather(send, return_exceptions=True)
        await producer.close()

    asyncio.run(scenario())
    events = storage.events
    assert events.index("stop") < events.index("sync-end"), events  # stop began mid-fsync
    assert events[-1] == "close" and events.count("close") == 1, events
    assert events.count("sync-start") == events.count("sync-end"), events
    assert storage.meta_threads, "stop writes consumer offsets and a checkpoint"
    assert all(name.startswith("fsync") for name in storage.meta_threads), storage.meta_threads
