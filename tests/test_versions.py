"""Per RocketMQ release, the verdicts that its behaviours decide (the source table is in docs/spec.md).

Each verdict comes from a closed exploration (with its state count pinned) or a counterexample
replayed through the spec; the settings differ only in the release or the one knob named.
"""

from __future__ import annotations

import pytest

from noloss.model_check.check import HOLDS, VIOLATED, CheckResult, check
from noloss.spec.rocketmq.faults import scenario
from noloss.spec.rocketmq.actions import Action, Attempt, PacketRef, Position, Queue, QueueOffset, Reply
from noloss.spec.rocketmq.config import Config, ConfigError, preset
from noloss.spec.rocketmq.faults import FAULTS, FaultModel
from noloss.spec.rocketmq.model import Model
from noloss.spec.rocketmq.state import FLUSH_SLAVE_TIMEOUT, MAIN, REPLY, REQUEST, SEND_OK, SLAVE_NOT_AVAILABLE, WAITING, Packet, State
from noloss.spec.rocketmq.protocol import ROCKETMQ
from tests.test_verdicts import counterexample, status
from tests.tiers import tiered


def explore(preset_name: str, scenario_name: str, **settings: str) -> CheckResult:
    result = check(ROCKETMQ, preset(preset_name).with_settings(settings), scenario(scenario_name))
    assert result.stats.complete
    return result


def take(config: Config, faults: FaultModel, steps: list[Action]) -> State:
    """Take `steps` through the spec, each enabled where it is taken; the state reached."""
    model = Model(config, faults)
    state = model.init_states()[0]
    for number, action in enumerate(steps, 1):
        assert action in model.actions(state), f"step {number}: {action} is not enabled"
        state = model.next_state(state, action)
    return state


# --- Release numbers ------------------------------------------------------------------------


def test_a_line_stands_for_its_newest_release() -> None:
    assert Config(rocketmqVersion="4").rocketmqVersion == "4.9.8"
    assert Config().with_settings({"rocketmqVersion": "5"}).rocketmqVersion == "5.3"
    assert preset("rocketmq-default").rocketmqVersion == "4.9.7"
    assert preset("strict").rocketmqVersion == "4.9.7"
    assert preset("rocketmq5-default").rocketmqVersion == "5.3"
    with pytest.raises(ConfigError, match=r"bad value '6.0' for rocketmqVersion: allowed 4\.9\.3\|4\.9\.7\|"):
        Config().with_settings({"rocketmqVersion": "6.0"})


# --- Dispatch bound: apache/rocketmq#8239, fixed in 5.3.0 by #8240 --------------------------

ISSUE_8239 = [
    "producer send m0",
    "master receive m0 (#1)",
    "slave replicate",
    "consumer consume m0 (topic@0)",  # the consumer reads m0 before the master flushed it
    "master power-loss",
    "producer timeout m0",
    "producer send-refused m0",
    "master restart",
    "producer send m1",
    "master receive m1 (#1)",  # m1 lands at queue offset 0, behind the consumer's offset 1
    "master flush",
    "slave reconnect",  # its HAClient connects to the restarted master; its offset covers m1
    "producer receive m1 (#1 SEND_OK)",
]


def test_before_5_3_a_consumer_reads_unflushed_entries_and_skips_a_stored_message() -> None:
    result = explore("rocketmq5-quorum", "master-power-loss", rocketmqVersion="5.1")
    assert counterexample(result, "NoAckedLoss") == ISSUE_8239


def test_5_3_dispatches_only_flushed_entries_under_sync_flush() -> None:
    result = explore("rocketmq5-quorum", "master-power-loss")
    assert status(result, "NoAckedLoss") == HOLDS
    # 9,527 until the slave's HA link was modelled as broken by a restart (both handshakes).
    assert result.stats.states == 13_839


def test_read_uncommitted_brings_the_loss_back_in_5_3() -> None:
    result = explore("rocketmq5-quorum", "master-power-loss", readUnCommitted="true")
    assert counterexample(result, "NoAckedLoss") == ISSUE_8239


# --- The master trusts the slave's offset: apache/rocketmq#3015 -----------------------------


def test_a_slave_ahead_of_a_rewound_master_counts_for_an_entry_it_lacks() -> None:
    result = explore("rocketmq5-quorum", "master-power-loss+master-disk-loss")
    assert counterexample(result, "NoAckedLoss") == [
        "producer send m0",
        "master receive m0 (#1)",
        "slave replicate",  # the slave has m0; the master has not flushed it
        "master power-loss",  # the master loses m0: the slave is ahead of it
        "producer timeout m0",
        "producer send-refused m0",
        "master restart",
        "producer send m1",
        "master receive m1 (#1)",  # m1 at the position where the slave holds m0
        "master flush",
        "slave reconnect",  # its first report after the restart is taken unchecked
        "producer receive m1 (#1 SEND_OK)",
        "master disk-loss",  # m1 was only ever on the master
    ]


def test_a_master_that_checks_the_slaves_log_keeps_it() -> None:
    result = explore("rocketmq5-quorum", "master-power-loss+master-disk-loss", haTrustSlaveOffset="false")
    assert status(result, "NoAckedLoss") == HOLDS
    # 14,081 before a diverged slave was cut back and counted again at `slave reconnect`.
    assert result.stats.states == 14_154


@pytest.mark.parametrize("trusted", ["true", "false"])
def test_a_master_counts_a_slave_again_only_after_it_reconnects(trusted: str) -> None:
    config = preset("strict").with_settings({"haTrustSlaveOffset": trusted})
    state = take(
        config,
        FAULTS.of(["master-crash"], 1),
        [Action("producer", "send", 0), Action("master", "crash", None), Action("master", "restart", None)],
    )
    assert not state.slave_linked
    assert Action("slave", "reconnect", None) in Model(config, FAULTS.of(["master-crash"], 1)).actions(state)


def test_a_restarted_master_answers_slave_not_available_until_the_slave_reconnects() -> None:
    """4.9.7 HAService.isSlaveOK needs a live HA connection (connectionCount > 0); a restarted
    master has none until the slave's HAClient connects again, trusted offsets or not."""
    faults = FAULTS.of(["master-crash"], 1)
    restarted = [Action("master", "crash", None), Action("master", "restart", None), Action("producer", "send", 0)]
    receive = Action("master", "receive", 0, Attempt(1))
    state = take(preset("strict"), faults, [*restarted, receive, Action("master", "flush", None)])
    assert Packet(REPLY, 0, 1, SLAVE_NOT_AVAILABLE) in state.network
    state = take(preset("strict"), faults, [*restarted, Action("slave", "reconnect", None), receive])
    assert [request.replication for request in state.pending] == [WAITING]


def test_where_no_send_waits_for_the_slave_it_reconnects_at_once() -> None:
    """The reconnect is silent (spec/rocketmq/reductions.py) unless a held send can see it."""
    faults = FAULTS.of(["master-crash"], 1)
    steps = [Action("master", "crash", None), Action("master", "restart", None)]
    assert take(preset("sync-flush-async-master"), faults, steps).slave_linked
    assert not take(preset("strict"), faults, steps).slave_linked


# --- Reading the slave: 5.x refuses pulls on a slave unless slaveReadEnable -----------------


def test_5_x_strands_what_only_the_slave_holds() -> None:
    five = explore("rocketmq5-quorum", "master-disk-loss")
    assert status(five, "NoAckedLoss") == HOLDS  # on the slave's disk: an operator can recover it
    assert len(counterexample(five, "NoAckedStranded")) == 6
    assert status(explore("rocketmq5-quorum", "master-disk-loss", slaveReadEnable="true"), "NoAckedStranded") == HOLDS
    assert status(explore("strict", "master-disk-loss"), "NoAckedStranded") == HOLDS


def test_4_x_strands_what_only_the_slave_holds_behind_a_restarted_master_too() -> None:
    """A copy on a 4.x slave that consumers read only while the master is down, behind a master
    that came back without it, is on disk as one on an unread 5.x slave: stranded, not lost.
    So the shortest loss under a master power loss is the longer run in which the consumer's
    offset then moves past the slave's copy (it reads m1 at the rewound master's offset 0)."""
    four = explore("async-flush-sync-master", "master-power-loss")
    assert len(counterexample(four, "NoAckedStranded")) == 6  # m0 acknowledged; the master loses it, restarts
    stranding = next(v for v in four.verdicts if v.name == "NoAckedStranded").counterexample
    assert stranding is not None
    last = stranding[-1].state
    assert [entry.msg for entry in last.slave.log] == [0] and not last.master.log
    assert len(counterexample(four, "NoAckedLoss")) == 9
    assert status(four, "AckedEventuallyConsumed") == VIOLATED


# --- Statuses: 5.x never answers SLAVE_NOT_AVAILABLE ----------------------------------------


@pytest.mark.parametrize(("version", "expected"), [("4.9.7", SLAVE_NOT_AVAILABLE), ("5.3", FLUSH_SLAVE_TIMEOUT)])
def test_a_sync_master_without_its_slave(version: str, expected: int) -> None:
    config = preset("strict").with_settings({"rocketmqVersion": version, "inSyncReplicas": "2"})
    faults = FAULTS.of(["slave-crash"], 1)
    steps = [
        Action("slave", "crash", None),
        Action("producer", "send", 0),
        Action("master", "receive", 0, Attempt(1)),
        Action("master", "flush", None),
    ]
    state = take(config, faults, steps)
    if expected == FLUSH_SLAVE_TIMEOUT:
        assert [request.replication for request in state.pending] == [WAITING]  # it waits, in vain
        state = take(config, faults, steps + [Action("master", "slave-timeout", 0, Position(0))])
    assert state.network == (Packet(REPLY, 0, 1, expected),)


# --- Producer: a reply timeout is not retried ----------------------------------------------


def test_a_send_whose_reply_timed_out_is_not_retried() -> None:
    config = preset("rocketmq-default")
    state = take(
        config,
        FAULTS.of(["net-drop"], 1),
        [Action("producer", "send", 0), Action("net", "drop", 0, PacketRef(REQUEST, 1, 0)), Action("producer", "timeout", 0)],
    )
    assert state.network == () and state.producer.current == 1 and state.producer.acked == 0
    # The duplicate that a retry after a lost reply would make is gone with it.
    assert status(explore("rocketmq-default", "net-drop"), "NoDuplicateProcessing") == HOLDS


# --- Offset correction: OFFSET_OVERFLOW_BADLY to minOffset up to 4.9.3 (#4215 changed it) ---


@pytest.mark.parametrize(("version", "corrected"), [("4.9.3", 0), ("4.9.7", 1)])
def test_offset_overflow_badly_by_version(version: str, corrected: int) -> None:
    config = preset("rocketmq-default").with_settings({"rocketmqVersion": version})
    state = take(
        config,
        FAULTS.of(["master-power-loss"], 1),
        [
            Action("producer", "send", 0),
            Action("master", "receive", 0, Attempt(1)),
            Action("producer", "receive", 0, Reply(1, SEND_OK)),
            Action("master", "flush", None),
            Action("consumer", "consume", 0, QueueOffset(MAIN, 0)),
            Action("producer", "send", 1),
            Action("master", "receive", 1, Attempt(1)),
            Action("consumer", "consume", 1, QueueOffset(MAIN, 1)),  # m1 read from the page cache
            Action("master", "power-loss", None),  # the queue is back to [m0]; the consumer is at 2
            Action("master", "restart", None),
            Action("consumer", "correct-offset", None, Queue(MAIN)),
        ],
    )
    assert state.consumer.next == (corrected, 0)


@pytest.mark.parametrize(
    "kind", tiered(["master-crash", "master-power-loss", "master-disk-loss", "slave-crash", "both-power-loss"], fast={"master-disk-loss"})
)
def test_the_5_3_defaults_decide_as_the_4_9_7_defaults(kind: str) -> None:
    """ASYNC_FLUSH and ASYNC_MASTER: 5.3's dispatch bound acts only under SYNC_FLUSH, and a
    slave's refusal to serve pulls strands nothing the asynchronous master did not already
    lose, so every verdict is the same (both explorations closed)."""
    four, five = explore("rocketmq-default", kind), explore("rocketmq5-default", kind)
    assert [(v.name, v.status) for v in four.verdicts] == [(v.name, v.status) for v in five.verdicts]
