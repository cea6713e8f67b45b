"""RabbitMQ under `noloss conform`: one node of its own (node name, ports, data, cookie)
started by the test, with a quorum queue and with a durable classic queue (docs/brokers.md)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from noloss.conformance.inject.netproxy import Direction, FaultyProxy
from noloss.conformance.targets.base import SEND_TIMEOUT_S, Outcome, TargetFactory
from noloss.conformance.targets import rabbitmq
from noloss.conformance.targets.rabbitmq_client import QUEUE, parameters
from noloss.conformance.targets.rabbitmq_producer import RabbitProducer
from noloss.spec.rocketmq.config import Config, ConfigError, preset
from tests.conformance.real_broker_runs import CAP_S, assert_nothing_lost, require, small_run

SERVER = rabbitmq.SERVER


def quorum(config: Config) -> TargetFactory:
    return rabbitmq.factory(config, "quorum")


def classic(config: Config) -> TargetFactory:
    return rabbitmq.factory(config, "classic")


def test_one_rabbitmq_node_claims_neither_async_flush_nor_sync_master() -> None:
    with pytest.raises(ConfigError, match="ASYNC_FLUSH"):
        rabbitmq.settings_of(preset("rocketmq-default"))
    with pytest.raises(ConfigError, match="SYNC_MASTER"):
        rabbitmq.settings_of(preset("strict"))


@pytest.mark.slow
@pytest.mark.parametrize("make", [quorum, classic], ids=["quorum", "classic"])
@pytest.mark.parametrize("kind", ["master-crash", "consumer-crash", "net-drop"])
def test_rabbitmq_keeps_every_confirmed_message(tmp_path: Path, kind: str, make: Callable[[Config], TargetFactory]) -> None:
    require(SERVER)
    assert_nothing_lost(small_run("sync-flush-async-master", kind, make, tmp_path, cycles=2, duration_s=CAP_S), faults=2)


@pytest.mark.slow
def test_a_restarting_node_keeps_its_port_from_binds_to_port_zero(tmp_path: Path) -> None:
    """The CI failure: a node restarted after a SIGKILL exited at boot with `eaddrinuse` on
    its AMQP port, because the kernel handed that port, free while the node was down, to a
    bind to port 0 (Erlang makes one before every connect). Here a thread binds port
    0 as fast as it can through each restart (the kernel cannot tell it from another
    process); with the port outside the ephemeral range it
    is never handed out, and every restart comes up."""
    require(SERVER)
    target = rabbitmq.RabbitTarget(preset("sync-flush-async-master"), tmp_path, queue_type="classic")
    target.start()
    port = int(target.address("master").rsplit(":", 1)[1])
    try:
        for _ in range(2):
            target.kill("master")
            booted = threading.Event()
            handed: set[int] = set()

            def bind_port_zero() -> None:
                while not booted.is_set():
                    other = socket.socket()
                    other.bind(("127.0.0.1", 0))
                    handed.add(other.getsockname()[1])
                    if other.getsockname()[1] != port:
                        other.close()
                    else:  # held, as Erlang holds its connection to epmd: the boot then fails
                        booted.wait()
                        other.close()

            binder = threading.Thread(target=bind_port_zero)
            binder.start()
            try:
                target.restart("master")
            finally:
                booted.set()
                binder.join()
            assert port not in handed
            assert len(handed) > 1000
    finally:
        target.close()


@pytest.mark.slow
def test_a_publish_whose_confirm_never_comes_is_unknown_within_the_send_timeout(tmp_path: Path) -> None:
    """pika waits for a confirm with no limit, and heartbeats keep a connection alive while
    its confirm is lost: a net-drop run hung on it. The producer gives up after the send
    timeout, as RocketMQ's does, with the outcome unknown."""
    require(SERVER)
    target = rabbitmq.RabbitTarget(preset("sync-flush-async-master"), tmp_path, queue_type="classic")
    target.start()
    proxy = FaultyProxy(("127.0.0.1", int(target.address("master").rsplit(":", 1)[1])), name="producer->master")
    proxy.start()
    producer = RabbitProducer("%s:%d" % proxy.address, retries=2)

    async def sends() -> None:  # one event loop, as the workload's: the producer's connection lives on it
        assert (await producer.send(b"first", "0", lambda: None)).outcome is Outcome.ACKNOWLEDGED
        proxy.drop(Direction.TO_CLIENT, 3600)  # every confirm (and close-ok) from now on
        began = time.monotonic()
        outcome = await producer.send(b"second", "1", lambda: None)
        assert outcome.outcome is Outcome.UNKNOWN, outcome
        assert time.monotonic() - began < SEND_TIMEOUT_S + 2
        closing = time.monotonic()
        await producer.close()  # its close-ok is dropped too: bounded as well
        assert time.monotonic() - closing < SEND_TIMEOUT_S + 2

    try:
        asyncio.run(sends())
    finally:
        proxy.stop()
        target.close()


@pytest.mark.slow
@pytest.mark.parametrize("await_registration", [False, True], ids=["killed-at-once", "registration-written"])
def test_a_quorum_queue_killed_just_after_its_declaration_restarts_as_a_new_empty_member(tmp_path: Path, await_registration: bool) -> None:
    """Ra 2.2.0 writes the queue's registration to names.dets without dets:sync: killed
    before DETS writes it, the node restarts with no registered member ("running pre init
    for 0 registered servers"), RabbitMQ 3.10.8 starts the queue's member anew under a new
    directory, and that member never elects itself: every confirmed message is stranded in
    the old member's directory and the queue answers nothing. Once names.dets holds it (what
    the target waits for before a run), the same kill keeps all of them."""
    import pika
    import pika.exceptions

    require(rabbitmq.SERVER)
    target = rabbitmq.RabbitTarget(preset("sync-flush-async-master"), tmp_path, queue_type="quorum", await_registration=await_registration)

    async def publish(count: int) -> int:
        producer = target.producer()
        outcomes = [await producer.send(f"noloss-{n}".encode(), str(n), lambda: None) for n in range(count)]
        await producer.close()
        return sum(o.outcome == Outcome.ACKNOWLEDGED for o in outcomes)

    def read_back() -> int:
        connection = pika.BlockingConnection(parameters(target.address("master")))
        got, deadline = 0, time.monotonic() + 20
        try:
            channel = connection.channel()
            while time.monotonic() < deadline:
                method, _, _ = channel.basic_get(QUEUE, auto_ack=True)
                if method is not None:
                    got += 1
                elif got:
                    break
                else:
                    time.sleep(0.5)
        except pika.exceptions.AMQPError:  # no leader: the get times out inside the node
            pass
        finally:
            if connection.is_open:
                connection.close()
        return got

    target.start()
    try:
        assert asyncio.run(publish(20)) == 20
        target.kill("master")
        target.restart("master")
        got = read_back()
        members = sorted(p.name for p in target._ra_directory().iterdir() if p.is_dir())
        if await_registration:
            assert (got, len(members)) == (20, 1), members
        else:
            assert (got, len(members)) == (0, 2), members  # the stranded member and the new, empty one
    finally:
        target.close()
