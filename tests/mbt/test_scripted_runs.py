"""Scripted runs where spec and broker could part ways, each taken on both in lockstep:
the broker's abstraction must equal the spec's state after every step."""

from __future__ import annotations

from noloss.spec.rocketmq.describe import fields
from noloss.conformance.rocketmq.abstraction import abstract
from noloss.conformance.rocketmq.world import Lockstep
from noloss.spec.rocketmq.actions import Action, Attempt, QueueOffset, Reply
from noloss.spec.rocketmq.config import Config, preset
from noloss.spec.rocketmq.faults import FAULTS
from noloss.spec.rocketmq.model import Model
from noloss.spec.rocketmq.state import MAIN, REPLY, RETRY, SEND_OK, SLAVE_NOT_AVAILABLE, WAITING, Entry, Packet, State
from tests.mbt.machines import CONFIGS, Mismatch, mismatch_text


def run(config: str | Config, kinds: list[str], actions: list[Action]) -> State:
    """Take `actions` on spec and broker in lockstep; Mismatch at the first disagreement."""
    model = Model(preset(config) if isinstance(config, str) else config, FAULTS.of(kinds, 2))
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


def test_a_trusted_offset_inside_a_record_makes_a_slave_that_reads_nothing_more() -> None:
    """Records differ in size (a retry copy is larger). A slave that kept [m0, retry of m0]
    reports an offset that falls inside the master's third record once the master, which lost
    the copy in a power loss, holds [m0, m1, retry of m1]. RocketMQ streams raw bytes from
    there and the slave appends what it cannot read (spec/rocketmq/sizes.py): its log stays as it was,
    and its report counts the master's whole log. Both sides do it."""
    m0, m1 = Entry(MAIN, 0, 0), Entry(MAIN, 1, 0)
    state = run(
        CONFIGS["strict-listener-fails"],
        ["master-power-loss"],
        [
            Action("producer", "send", 0),
            Action("master", "receive", 0, Attempt(1)),
            Action("slave", "replicate", None),
            Action("master", "flush", None),
            Action("producer", "receive", 0, Reply(1, SEND_OK)),
            Action("consumer", "consume-fail", 0, QueueOffset(MAIN, 0)),
            Action("consumer", "send-back", 0),  # the retry copy: on the master's page cache only
            Action("slave", "replicate", None),
            Action("master", "power-loss", None),
            Action("master", "restart", None),
            Action("slave", "reconnect", None),  # the slave (213 bytes) is ahead of the master (100)
            Action("producer", "send", 1),
            Action("master", "receive", 1, Attempt(1)),  # m1 ends at 200: the slave's offset covers it
            Action("master", "flush", None),
            Action("producer", "receive", 1, Reply(1, SEND_OK)),
            Action("consumer", "consume-fail", 1, QueueOffset(MAIN, 1)),
            Action("consumer", "send-back", 1),  # [m0, m1, retry of m1]: 213 falls inside the copy
            Action("slave", "replicate", None),
        ],
    )
    assert state.master.log == (m0, m1, Entry(RETRY, 1, 1))
    assert state.slave.log == (m0, Entry(RETRY, 0, 1))
    assert state.slave_unread == 3


def test_the_checked_handshake_cuts_a_diverged_slave_back_and_counts_it() -> None:
    """haTrustSlaveOffset=false: the slave kept m0, which the master lost in a power loss. At
    `slave reconnect` the master checks the slave's last record, has it cut off (HaTruncate)
    and counts the slave again: m1, stored where m0 was, waits for the slave's report."""
    state = run(
        CONFIGS["async-flush-sync-master-checked"],
        ["master-power-loss"],
        [
            Action("producer", "send", 0),
            Action("master", "receive", 0, Attempt(1)),
            Action("slave", "replicate", None),
            Action("producer", "receive", 0, Reply(1, SEND_OK)),
            Action("master", "power-loss", None),
            Action("master", "restart", None),
            Action("slave", "reconnect", None),
            Action("producer", "send", 1),
            Action("master", "receive", 1, Attempt(1)),
        ],
    )
    assert state.slave.log == () and state.slave_linked
    assert [(request.msg, request.replication) for request in state.pending] == [(1, WAITING)]


def test_a_restarted_master_answers_slave_not_available_until_the_slave_reconnects() -> None:
    """4.x isSlaveOK needs a live HA connection: between a master's restart and the slave's
    reconnect, SYNC_MASTER answers SLAVE_NOT_AVAILABLE. Both sides do it."""
    restarted = [Action("master", "crash", None), Action("master", "restart", None), Action("producer", "send", 0)]
    stored = [Action("master", "receive", 0, Attempt(1)), Action("master", "flush", None)]
    state = run("strict", ["master-crash"], [*restarted, *stored])
    assert Packet(REPLY, 0, 1, SLAVE_NOT_AVAILABLE) in state.network
    state = run("strict", ["master-crash"], [*restarted, Action("slave", "reconnect", None), *stored, Action("slave", "replicate", None)])
    assert Packet(REPLY, 0, 1, SEND_OK) in state.network
