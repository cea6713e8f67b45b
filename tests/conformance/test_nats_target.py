"""NATS JetStream under `noloss conform`: one nats-server node with a file-storage stream,
and three clustered ones with an R3 stream, started by the test on free loopback ports
(docs/brokers.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from noloss.conformance.targets import nats_cluster, nats_jetstream
from noloss.spec.rocketmq.config import ConfigError, preset
from tests.conformance.real_broker_runs import CAP_S, assert_nothing_lost, require, small_run


def test_nats_2_9_cannot_claim_a_sync_flush() -> None:
    with pytest.raises(ConfigError, match="sync_interval"):
        nats_jetstream.settings_of(preset("sync-flush-async-master"))
    with pytest.raises(ConfigError, match="SYNC_MASTER"):
        nats_jetstream.settings_of(preset("async-flush-sync-master"))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["master-crash", "consumer-crash"])
def test_jetstream_keeps_every_acknowledged_message_through_kills(tmp_path: Path, kind: str) -> None:
    require("nats-server")
    assert_nothing_lost(small_run("rocketmq-default", kind, nats_jetstream.factory, tmp_path, cycles=3, duration_s=CAP_S), faults=3)


def test_an_r3_stream_claims_a_sync_master_with_an_async_flush() -> None:
    nats_cluster.settings_of(preset("async-flush-sync-master"))
    with pytest.raises(ConfigError, match="sync_interval"):
        nats_cluster.settings_of(preset("strict"))
    with pytest.raises(ConfigError, match="ASYNC_MASTER"):
        nats_cluster.settings_of(preset("rocketmq-default"))


@pytest.mark.slow
def test_an_r3_stream_keeps_every_acknowledged_message_when_its_leader_is_killed(tmp_path: Path) -> None:
    """A killed leader keeps its page cache and a follower has every acknowledged message:
    nothing is lost. The followers elect a new leader, a failover the spec does not model,
    so the run is judged by its counts."""
    require("nats-server")
    result = small_run("async-flush-sync-master", "master-crash", nats_cluster.factory, tmp_path, cycles=2, duration_s=CAP_S)
    assert_nothing_lost(result, faults=2)
    assert result.judgement is not None and result.judgement.unchecked is not None


@pytest.mark.slow
@pytest.mark.parametrize("settle_files", [False, True], ids=["as-written", "files-settled"])
def test_jetstream_loses_its_whole_stream_to_a_power_cut_soon_after_creating_it(tmp_path: Path, settle_files: bool) -> None:
    """JetStream never fsyncs the stream's meta.inf: unless the harness fsyncs the files it
    wrote at creation (as the kernel's writeback would within half a minute), a power cut
    leaves it empty and the restarted server does not load the stream."""
    import asyncio

    from noloss.conformance.targets.base import FaultUnavailable

    require("nats-server")
    target = nats_jetstream.NatsTarget(preset("rocketmq-default"), tmp_path, power_loss=True, settle_files=settle_files)
    try:
        target.start()
    except FaultUnavailable as unavailable:
        pytest.skip(str(unavailable))

    async def publish() -> str:
        producer = target.producer()
        outcome = await producer.send(b"after the cut", "k", lambda: None)
        await producer.close()
        return outcome.outcome.value

    try:
        assert asyncio.run(publish()) == "acknowledged"
        target.power_cut("master")
        target.restart("master")
        log = (tmp_path / "master.log").read_text()
        if settle_files:
            assert "checksums do not match" not in log
            assert asyncio.run(publish()) == "acknowledged"
        else:
            assert "checksums do not match" in log
            assert asyncio.run(publish()) == "failed"  # no stream to take it
    finally:
        target.close()


@pytest.mark.slow
def test_an_r3_durable_consumer_is_served_again_only_seconds_after_both_followers_restart(tmp_path: Path) -> None:
    """With both followers down the durable consumer (a Raft group of its own) loses its
    leader, and 2.9.10 elects one again seconds after they restart: `serving` waits for it,
    and then the consumer that pulled all along, on the same subscription, gets a new
    message at once. (Before `serving`, a drain that began at the restart ended on a
    consumer waiting for its leader, and the slave-crash row (then slave-kill) counted thousands lost.)"""
    import asyncio
    import threading
    import time

    from noloss.conformance.targets.nats_client import STREAM, connect
    from noloss.conformance.workload import GROUP

    async def consumer_leader() -> str | None:
        client = await connect(target._addresses())
        try:
            info = await client.jetstream(timeout=1.0).consumer_info(STREAM, GROUP)
            return info.cluster.leader if info.cluster is not None else None
        except Exception:  # no leader: the request times out or is refused
            return None
        finally:
            await client.close()

    async def publish(body: bytes) -> None:
        producer = target.producer()
        assert (await producer.send(body, "k", lambda: None)).outcome.value == "acknowledged"
        await producer.close()

    require("nats-server")
    target = nats_cluster.NatsClusterTarget(preset("async-flush-sync-master"), tmp_path)
    target.start()
    got: list[bytes] = []
    arrived = threading.Event()
    consumer = target.consumer(GROUP, lambda delivery: (got.append(delivery.body), arrived.set(), True)[-1])
    try:
        consumer.start()
        asyncio.run(publish(b"before"))
        assert arrived.wait(30), "the consumer never got a message before the fault"
        time.sleep(2.0)  # as a run's first fault, 2 s in (sooner, the consumer's group may not have formed yet)
        target.kill("slave")
        time.sleep(0.3)  # the cells' down time
        target.restart("slave")
        target.serving(GROUP, 60.0)
        assert asyncio.run(consumer_leader()) is not None
        arrived.clear()
        asyncio.run(publish(b"after"))
        assert arrived.wait(3.0), "served, yet the consumer got nothing within 3 s"
        assert got == [b"before", b"after"]
    finally:
        consumer.stop()
        target.close()
