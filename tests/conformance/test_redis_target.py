"""Redis Streams under `noloss conform`: a primary and a replica of redis-server started by
the test on free loopback ports (docs/brokers.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from noloss.conformance.run import RunSpec, run
from noloss.conformance.targets import redis_streams
from noloss.conformance.rocketmq.rules import ROCKETMQ_RULES
from tests.conformance.real_broker_runs import CAP_S, assert_nothing_lost, require, small_run


def make(config: Any) -> Any:
    return redis_streams.factory(config)


@pytest.mark.slow
def test_appendfsync_always_survives_a_primary_kill(tmp_path: Path) -> None:
    require("redis-server")
    assert_nothing_lost(small_run("sync-flush-async-master", "master-crash", make, tmp_path))


def test_the_presets_map_onto_appendfsync_and_wait() -> None:
    from noloss.spec.rocketmq.config import preset

    assert redis_streams.settings_of(preset("strict")) == ("always", "always", True)
    assert redis_streams.settings_of(preset("async-flush-sync-master")) == ("everysec", "everysec", True)
    assert redis_streams.settings_of(preset("sync-flush-async-master")) == ("always", "always", False)
    assert redis_streams.settings_of(preset("rocketmq5-sync-master")) == ("always", "always", False)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["master-crash", "slave-crash", "consumer-crash"])
def test_strict_redis_keeps_every_acknowledged_message(tmp_path: Path, kind: str) -> None:
    """Nothing acknowledged is lost. The history is a behaviour of strict but for one
    difference (docs/brokers.md): with the replica down WAIT times out (FLUSH_SLAVE_TIMEOUT)
    where RocketMQ 4.x answers SLAVE_NOT_AVAILABLE at once, so a send that lands while the
    replica is down is the only thing the judgement may reject."""
    require("redis-server")
    result = small_run("strict", kind, make, tmp_path, cycles=3, duration_s=CAP_S)
    assert_nothing_lost(result, faults=3, tolerated="FLUSH_SLAVE_TIMEOUT" if kind == "slave-crash" else None)


def power_loss_run(tmp_path: Path, claimed: str, settle: bool) -> Any:
    from noloss.spec.rocketmq.config import preset

    config = preset(claimed)
    spec = RunSpec(claimed, config, ("master-power-loss",), producers=4, messages=1_000_000, duration_s=8, interval_s=2, down_s=0.3, cycles=2, quiet_s=3, rules=ROCKETMQ_RULES)
    result = run(spec, "master-power-loss", redis_streams.factory(config, None, settle), tmp_path / "master-power-loss", progress=False)
    if result.unavailable is not None:
        pytest.skip(result.unavailable)
    assert result.counts is not None
    return result


@pytest.mark.slow
def test_appendfsync_always_keeps_every_acknowledged_message_through_power_cuts(tmp_path: Path) -> None:
    require("redis-server")
    assert_nothing_lost(power_loss_run(tmp_path, "sync-flush-async-master", settle=True), faults=2)


@pytest.mark.slow
def test_appendfsync_everysec_loses_acknowledged_messages_to_a_power_cut(tmp_path: Path) -> None:
    require("redis-server")
    assert power_loss_run(tmp_path, "async-flush-sync-master", settle=True).counts.lost > 0


@pytest.mark.slow
def test_redis_loses_its_whole_aof_to_a_power_cut_soon_after_its_first_start(tmp_path: Path) -> None:
    """Redis creates appendonlydir at start-up and never fsyncs the directory holding it:
    without the harness's settle, the first power cut takes the AOF, appendfsync always or
    not, and the replica resynchronises from the empty primary."""
    require("redis-server")
    result = power_loss_run(tmp_path, "sync-flush-async-master", settle=False)
    assert result.counts.lost > 0
    log = (tmp_path / "master-power-loss" / "nodes" / "master.log").read_text()
    assert log.count("Creating AOF base file appendonly.aof.1.base.rdb on server start") >= 2  # the restart found no AOF


@pytest.mark.slow
def test_a_sentinel_style_failover_keeps_every_message_the_replica_confirmed(tmp_path: Path) -> None:
    """WAIT 1 returns 1 only once the replica has the entry, so promoting the replica loses
    no acknowledged message; the run is judged by its counts (the spec has no failover)."""
    require("redis-server")
    result = small_run("strict", "failover", make, tmp_path, cycles=2, duration_s=CAP_S)  # each failover waits ~5 s for the resync
    assert_nothing_lost(result, faults=2)
    assert result.judgement is not None and result.judgement.unchecked is not None


@pytest.mark.slow
def test_failover_promotes_the_replica_and_the_clients_follow_it(tmp_path: Path) -> None:
    import asyncio

    import redis

    from noloss.conformance.targets.base import Outcome
    from noloss.conformance.targets.nodes import wait_until
    from noloss.spec.rocketmq.config import preset

    require("redis-server")
    target = redis_streams.RedisTarget(preset("strict"), tmp_path)
    target.start()

    async def scenario() -> list[Outcome]:
        producer = target.producer()
        outcomes = [(await producer.send(b"before", "k", lambda: None)).outcome]
        target.failover()
        outcomes.append((await producer.send(b"alone", "k", lambda: None)).outcome)
        target.restart("slave")  # the old primary, now replicaof the promoted node
        wait_until(target.replicating, "the old primary did not replicate the promoted one", 30)
        outcomes.append((await producer.send(b"after", "k", lambda: None)).outcome)
        await producer.close()
        return outcomes

    try:
        old_primary = target.address("master")
        # No replica while the old primary is down: WAIT 1 returns 0 (not guaranteed).
        assert asyncio.run(scenario()) == [Outcome.ACKNOWLEDGED, Outcome.STORED_NOT_GUARANTEED, Outcome.ACKNOWLEDGED]
        assert target.address("master") != old_primary
        for role in ("master", "slave"):
            host, port = target.address(role).rsplit(":", 1)
            with redis.Redis(host=host, port=int(port)) as node:
                assert node.info("replication")["role"] == role
                assert [fields[b"body"] for _, fields in node.xrange(redis_streams.STREAM)] == [b"before", b"alone", b"after"]
    finally:
        target.close()
