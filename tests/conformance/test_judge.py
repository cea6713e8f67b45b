"""The judgement of a conformance history, on histories written by hand: Jepsen's counts,
the per-message trace-check with its end-of-history rule, and the nearest preset that
explains a failing history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from noloss.conformance.counts import count
from noloss.conformance.rocketmq.judge import Index, judge, project, resend_of
from noloss.conformance.report import first_unexplained, verdict
from noloss.conformance.run import RunResult
from noloss.conformance.workload import Resend
from noloss.spec.rocketmq.config import preset


def send(msg: int, attempt: int = 1) -> dict[str, Any]:
    return {"event": "send", "msg": msg, "attempt": attempt}


def status(msg: int, value: str = "SEND_OK", attempt: int = 1, offset: int = 0) -> dict[str, Any]:
    return {"event": "status", "msg": msg, "attempt": attempt, "status": value, "offset": offset}


def consumed(msg: int, offset: int = 0) -> list[dict[str, Any]]:
    return [{"event": "deliver", "msg": msg, "queue": "topic", "offset": offset}, {"event": "consume", "msg": msg, "result": "CONSUME_SUCCESS"}]


def fault(node: str, kind: str) -> dict[str, Any]:
    return {"event": "fault", "node": node, "kind": kind}


def restart(node: str) -> dict[str, Any]:
    return {"event": "restart", "node": node}


STRICT = preset("strict")


def test_counts_name_lost_duplicated_unexpected_and_recovered() -> None:
    history = [
        send(0), status(0), *consumed(0), *consumed(0),  # acknowledged, processed twice
        send(1), status(1),  # acknowledged, never processed: lost
        send(2), *consumed(2),  # no status, processed: recovered
        *consumed(7),  # never sent: unexpected
    ]
    counts = count(history, resend_of(STRICT))
    assert (counts.sent, counts.acknowledged, counts.lost, counts.duplicated, counts.unexpected, counts.recovered) == (3, 2, 1, 1, 1, 1)
    assert counts.lost_messages == (1,)


def test_a_message_the_target_still_holds_is_undelivered_not_lost() -> None:
    history = [send(0), status(0), send(1), status(1), send(2), status(2), *consumed(2)]
    counts = count(history, resend_of(STRICT), held=frozenset({1, 2}))  # 2 held too, but processed
    assert (counts.lost, counts.undelivered, counts.lost_messages) == (1, 1, (0,))
    assert count(history, resend_of(STRICT)).undelivered == 0


def test_a_non_ok_status_is_acknowledged_only_without_checkstatus() -> None:
    history = [send(0), status(0, "FLUSH_SLAVE_TIMEOUT")]
    assert count(history, resend_of(STRICT)).acknowledged == 0
    assert count(history, resend_of(preset("rocketmq-default"))).acknowledged == 1


def test_a_clean_history_of_many_concurrent_messages_is_a_behaviour_of_strict() -> None:
    # Sends of different messages interleave, which the spec's one producer never does:
    # each message is checked on its own.
    history = [send(0), send(1), status(1, offset=1), status(0), *consumed(1, 1), *consumed(0)]
    assert judge(history, "strict", STRICT).ok


def test_an_acknowledged_message_never_delivered_after_the_drain_is_not_a_behaviour() -> None:
    judgement = judge([send(0), status(0)], "strict", STRICT)
    assert not judgement.ok
    (failure,) = judgement.failures
    assert failure.message == 0 and failure.line is None and "would still deliver" in failure.reason


def test_async_flush_loss_under_power_loss_is_explained_by_a_weaker_preset_not_by_strict() -> None:
    history = [send(0), status(0), fault("master", "power-loss"), restart("master")]
    judgement = judge(history, "strict", STRICT)
    assert not judgement.ok
    assert judgement.explained_by is not None
    assert preset(judgement.explained_by).flushDiskType == "ASYNC_FLUSH"
    # ... and the same history is a behaviour of the default settings outright.
    assert judge(history, "rocketmq-default", preset("rocketmq-default")).ok


def test_a_status_no_preset_can_give_is_reported_at_its_line() -> None:
    history = [send(0), status(0, "FLUSH_DISK_TIMEOUT"), *consumed(0)]
    judgement = judge(history, "sync-flush-async-master", preset("sync-flush-async-master"))
    assert judgement.ok  # SYNC_FLUSH may time out
    judgement = judge(history, "rocketmq-default", preset("rocketmq-default"))
    assert not judgement.ok and judgement.failures[0].line == 2


def test_a_delivered_body_no_producer_sent_fails() -> None:
    history = [{"event": "deliver", "msg": -1, "queue": "topic", "offset": 0, "body": "x"}, {"event": "consume", "msg": -1, "result": "CONSUME_SUCCESS"}]
    assert not judge(history, "strict", STRICT).ok


def test_a_send_logged_while_the_master_is_down_is_moved_before_the_fault() -> None:
    history = [fault("master", "crash"), send(0), restart("master"), send(0, 2), status(0, attempt=2), *consumed(0)]
    (events, *_), lines = project(Index(history), (0,))
    assert [e[0] for e in events] == ["send", "fault", "restart", "send", "status", "deliver", "consume"]
    assert lines[:2] == (2, 1)
    assert judge(history, "strict", STRICT).ok


def test_faults_every_node_recovered_from_before_a_message_are_left_out_of_its_projection() -> None:
    history = [fault("consumer", "crash"), restart("consumer"), send(0), status(0), *consumed(0), fault("slave", "crash")]
    (events, *_), _ = project(Index(history), (0,))
    assert [e[0] for e in events] == ["send", "status", "deliver", "consume"]
    # The last fault of a broker node stays, with everything after it: the slave's HA link
    # may still be down after both nodes are up.
    history = [fault("master", "crash"), restart("master"), fault("consumer", "crash"), restart("consumer"), fault("slave", "crash"), restart("slave"), send(0)]
    (events, *_), _ = project(Index(history), (0,))
    assert events[:2] == (("fault", "slave", "crash"), ("restart", "slave"))
    # A node still down when the message is sent stays in.
    history = [fault("slave", "crash"), send(0), status(0, "SLAVE_NOT_AVAILABLE"), restart("slave")]
    (events, *_), _ = project(Index(history), (0,))
    assert events[0][0] == "fault"


def test_a_message_stored_behind_the_consumer_after_a_rewind_is_explained_with_the_message_it_lost_to() -> None:
    """RocketMQ <= 5.2's loss: the consumer reads m0 before it is flushed, a power loss
    rewinds the queue, m1 is acknowledged at m0's old position, behind the consumer. Alone,
    m1's loss is no behaviour of SYNC_FLUSH; with m0 it is, and the judgement says so."""
    history = [
        send(0), *consumed(0, offset=0),
        fault("master", "power-loss"), restart("master"),
        send(1), status(1, offset=0),
    ]
    config = preset("sync-flush-async-master")
    assert count(history, resend_of(config)).lost_messages == (1,)
    judgement = judge(history, "sync-flush-async-master", config)
    assert judgement.ok and judgement.shared == ((1, 0),)
    # Without the shared position (m1 stored elsewhere) nothing explains the loss.
    history[-1] = status(1, offset=1)
    assert not judge(history, "sync-flush-async-master", config).ok


def test_a_network_fault_armed_just_before_a_message_may_hit_it() -> None:
    # The proxy duplicates the next chunk after the command: here m0's request, stored twice.
    history = [fault("net", "dup"), send(0), *consumed(0, 0), *consumed(0, 1), status(0)]
    assert judge(history, "strict", STRICT).ok
    assert not judge(history[1:], "strict", STRICT).ok


def _failed_run(tmp_path: Path, history: list[dict[str, Any]], claimed: str) -> RunResult:
    path = tmp_path / "history.ndjson"
    path.write_text("".join(json.dumps(record) + "\n" for record in history))
    return RunResult("master-crash", count(history, resend_of(preset(claimed))), judge(history, claimed, preset(claimed)), path)


def test_the_first_unexplained_event_is_printed_with_its_history_line(tmp_path: Path) -> None:
    # Message 1's status cannot happen under rocketmq-default; message 0, failing at line 6
    # only, is reported after it although it has the lower number.
    history = [send(1), status(1, "FLUSH_DISK_TIMEOUT"), *consumed(1), send(0), status(0, "FLUSH_DISK_TIMEOUT")]
    where = first_unexplained(_failed_run(tmp_path, history, "rocketmq-default"))
    assert where == f'{tmp_path / "history.ndjson"}:2: the spec (rocketmq-default) cannot explain {json.dumps(status(1, "FLUSH_DISK_TIMEOUT"))}'


def test_a_message_never_delivered_is_reported_at_its_last_event(tmp_path: Path) -> None:
    history = [send(0), status(0), *consumed(0), send(1), status(1, offset=1)]
    where = first_unexplained(_failed_run(tmp_path, history, "strict"))
    assert where == f"{tmp_path / 'history.ndjson'}:6: msg 1: the spec would still deliver it, the target never did; its last event: {json.dumps(status(1, offset=1))}"


def test_a_duplicated_chunk_that_breaks_a_frame_loses_the_reply() -> None:
    # A repeated part of an AMQP frame closes the connection: no reply, the client resends.
    history = [send(0), fault("net", "dup"), *consumed(0, 0), send(0, 2), status(0, attempt=2), *consumed(0, 1)]
    assert judge(history, "sync-flush-async-master", preset("sync-flush-async-master")).ok
    assert not judge([r for r in history if r["event"] != "fault"], "sync-flush-async-master", preset("sync-flush-async-master")).ok


def test_slave_not_available_after_every_node_is_back_is_explained_by_the_earlier_restart() -> None:
    # 4.x: the restarted master has no slave until the slave reconnects.
    history = [fault("master", "crash"), restart("master"), send(0), status(0, "SLAVE_NOT_AVAILABLE"), send(0, 2), status(0, attempt=2), *consumed(0)]
    assert judge(history, "strict", STRICT).ok
    assert not judge(history[2:], "strict", STRICT).ok


def test_a_message_pulled_before_the_master_died_is_processed_after_it() -> None:
    """5.3: a slave serves no pulls, so a delivery while the master is down is a message the
    consumer pulled before the power cut (a batch in hand, a reply on the wire) and hands
    to its listener after it, the spec's `pull` then `process`."""
    config = preset("sync-flush-async-master").with_settings({"rocketmqVersion": "5.3"})
    history = [send(0), status(0), fault("master", "power-loss"), *consumed(0), restart("master")]
    assert judge(history, "sync-flush-async-master", config).ok
    # A consumer that restarted while the master was down holds nothing pulled before.
    restarted = [send(0), status(0), fault("master", "power-loss"), fault("consumer", "crash"), restart("consumer"), *consumed(0), restart("master")]
    assert not judge(restarted, "sync-flush-async-master", config).ok
    # 4.x: the restarted consumer reads the slave.
    assert judge(restarted, "sync-flush-async-master", preset("sync-flush-async-master")).ok


def test_a_run_whose_consumer_stalled_fails_and_says_the_broker_kept_the_messages(tmp_path: Path) -> None:
    history = [send(0), status(0)]
    path = tmp_path / "history.ndjson"
    path.write_text("".join(json.dumps(record) + "\n" for record in history))
    result = RunResult("master-crash", count(history, resend_of(STRICT), held=frozenset({0})), judge(history, "strict", STRICT), path)
    assert result.counts is not None and result.counts.lost == 0
    assert not result.ok
    assert "1 acknowledged never delivered but still held by the broker" in verdict(result)
