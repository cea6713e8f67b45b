"""Scripted runs where spec and broker could part ways, each taken on both in lockstep:
the broker's abstraction must equal the spec's state after every step."""

from __future__ import annotations

from noloss.model_check.describe import fields
from noloss.conformance.abstraction import abstract
from noloss.conformance.world import Lockstep
from noloss.spec.actions import Action, Attempt, Reply
from noloss.spec.config import preset
from noloss.spec.faults import FaultModel
from noloss.spec.model import Model
from noloss.spec.state import REPLY, SEND_OK, SLAVE_NOT_AVAILABLE, Packet, State
from tests.mbt.machines import Mismatch, mismatch_text


def run(preset_name: str, kinds: list[str], actions: list[Action]) -> State:
    """Take `actions` on spec and broker in lockstep; Mismatch at the first disagreement."""
    model = Model(preset(preset_name), FaultModel.of(kinds, 2))
    lockstep = Lockstep(model)
    for number, action in enumerate(actions, 1):
        assert action in model.actions(lockstep.state), f"step {number}: {action} is not enabled in the spec"
        lockstep.step(action)
        got = abstract(model, lockstep.world)
        if got != lockstep.state:
            raise Mismatch(f"step {number} ({action}):\n" + mismatch_text(fields(lockstep.state), fields(got)))
    return lockstep.state


def test_a_slave_ahead_of_its_master_is_counted_once_it_reconnects() -> None:
    """RocketMQ takes a slave's offset unchecked (haTrustSlaveOffset=true, every preset): a slave
    that kept an entry its master lost covers the next entry stored at that position, and once
    it has reconnected the master answers SEND_OK at once for a message the slave does not
    hold. Both sides do it."""
    state = run(
        "async-flush-sync-master",
        ["master-power-loss"],
        [
            Action("producer", "send", 0),
            Action("master", "receive", 0, Attempt(1)),
            Action("slave", "replicate", None),  # the slave has m0 in its page cache: SEND_OK
            Action("producer", "receive", 0, Reply(1, SEND_OK)),
            Action("master", "power-loss", None),  # ASYNC_FLUSH: m0 was never on the master's disk
            Action("master", "restart", None),  # the slave (one entry) is ahead of the master (none)
            Action("slave", "reconnect", None),  # its first report is taken unchecked
            Action("producer", "send", 1),
            Action("master", "receive", 1, Attempt(1)),
        ],
    )
    assert Packet(REPLY, 1, 1, SEND_OK) in state.network
    assert [entry.msg for entry in state.slave.log] == [0] and [entry.msg for entry in state.master.log] == [1]


def test_before_the_slave_reconnects_a_4_x_sync_master_answers_slave_not_available() -> None:
    """Between a master's restart and its slave's reconnect (RocketMQ's HAClient retries every
    5 s) isSlaveOK finds no connection: SLAVE_NOT_AVAILABLE, on both sides."""
    state = run(
        "async-flush-sync-master",
        ["master-crash"],
        [
            Action("master", "crash", None),
            Action("master", "restart", None),
            Action("producer", "send", 0),
            Action("master", "receive", 0, Attempt(1)),
        ],
    )
    assert state.network == (Packet(REPLY, 0, 1, SLAVE_NOT_AVAILABLE),) and not state.slave_linked
