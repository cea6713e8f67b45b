"""The abstraction function on hand-made broker states: logs as a restart recovers them,
flush points in whole records, offsets in memory and on disk, held sends."""

from __future__ import annotations

from noloss.reference import messages as m
from noloss.conformance.rocketmq.abstraction import GROUP, TOPIC, abstract, message_key
from noloss.reference.core import Received
from noloss.conformance.rocketmq.world import PRODUCER, World, request_id
from noloss.spec.rocketmq.config import preset
from noloss.spec.rocketmq.faults import FAULTS
from noloss.spec.rocketmq.model import Model
from noloss.spec.rocketmq.state import DOWN, MAIN, MET, UP, WAITING, Entry, Pending

STRICT = Model(preset("strict"), FAULTS.of(["master-power-loss", "master-crash"], 1))


def send(world: World, msg: int) -> None:
    request = m.SendRequest(request_id(msg, 1), TOPIC, message_key(msg), b"x", False)
    world.cluster.master.step(Received(PRODUCER, request))


def test_a_held_send_is_pending_with_its_position_and_both_waits() -> None:
    world = World(STRICT)
    send(world, 0)
    world.cluster.pump()  # the slave reports: replication met, the fsync still to come
    state = abstract(STRICT, world)
    assert state.master.log == (Entry(MAIN, 0, 0),) and state.master.flushed == 0
    assert state.pending == (Pending(0, 1, 0, WAITING, MET),)


def test_a_power_loss_keeps_the_flushed_records_and_drops_a_torn_tail() -> None:
    world = World(STRICT)
    send(world, 0)
    world.cluster.master.flush_pending = True
    world.cluster.master.finish_flush()
    send(world, 1)
    world.cluster.master.storage.power_loss(torn_bytes=10)
    world.status["master"] = DOWN
    master = abstract(STRICT, world).master
    assert (master.status, master.log, master.flushed) == (DOWN, (Entry(MAIN, 0, 0),), 1)


def test_a_crash_keeps_the_page_cache_and_the_persisted_offsets() -> None:
    world = World(STRICT)
    send(world, 0)
    world.cluster.master.step(Received(PRODUCER, m.CommitOffsetRequest(7, GROUP, TOPIC, 1)))
    assert abstract(STRICT, world).master.offsets == (1, 0)
    world.status["master"] = DOWN
    master = abstract(STRICT, world).master
    assert (master.log, master.flushed, master.offsets, master.offsets_disk) == ((Entry(MAIN, 0, 0),), 0, (0, 0), (0, 0))
    world.cluster.master.start()
    world.status["master"] = UP
    assert abstract(STRICT, world).master.flushed == 1  # recovery fsyncs what it kept
