"""One broker or client behaviour flipped at a time, for the mutation tests: each is a monkeypatch."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from noloss.reference import messages as m
from noloss.reference.client import AsyncConsumer, Message
from noloss.reference.core_master import MasterCore
from noloss.conformance.rocketmq.sim_consumer import SimConsumer


def _settle_early(monkeypatch: pytest.MonkeyPatch, flush: bool) -> None:
    original = MasterCore._on_send

    def on_send(self: MasterCore, conn: int, request: m.SendRequest) -> None:
        original(self, conn, request)
        for waiter in self._waiters:
            if flush and waiter.flush_status is None:
                waiter.flush_status = m.SendStatus.SEND_OK
            if not flush and waiter.replica_status is None:
                waiter.replica_status = m.SendStatus.SEND_OK
        self._settle()

    monkeypatch.setattr(MasterCore, "_on_send", on_send)


def reply_before_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    """SYNC_FLUSH: the master counts the flush as done as soon as the send is stored."""
    _settle_early(monkeypatch, flush=True)


def reply_before_slave_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """SYNC_MASTER: the master counts the replication as done before the slave reports it."""
    _settle_early(monkeypatch, flush=False)


def commit_before_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The consumer commits the offset of a message as it pulls it, before the listener runs."""
    original = SimConsumer.pull

    def pull(self: SimConsumer, queue: int) -> None:
        original(self, queue)
        assert self.work is not None
        self._commit(self.work.queue, self.work.offset)

    monkeypatch.setattr(SimConsumer, "pull", pull)


def client_commit_before_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference client's consumer commits each message's offset to the broker before its
    listener runs (commitBeforeProcess): a consumer that dies in between has committed a
    message it never processed. For real-process runs (the simulation's consumer is
    `commit_before_process`)."""

    async def process(self: AsyncConsumer, topic: str, batch: Sequence[Message], next_offset: int) -> None:
        for message in batch:
            if self._stopping.is_set():
                return
            self.committed[topic] = message.queue_offset + 1
            await self.persist_offsets()
            async with self._lock:
                await self._handle(message)
                self.processed += 1
        self.committed[topic] = next_offset

    monkeypatch.setattr(AsyncConsumer, "_process", process)


MUTATIONS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "reply before fsync (SYNC_FLUSH)": reply_before_fsync,
    "reply before the slave's report (SYNC_MASTER)": reply_before_slave_report,
    "commit the offset before processing": commit_before_process,
}
