"""Typed action arguments: one type per kind of action, printed as reports print them."""

from __future__ import annotations

from collections import defaultdict

import pytest

from noloss.model_check.check import check
from noloss.model_check.explore import explore
from noloss.model_check.render import steps_json
from noloss.spec.rocketmq.actions import Action, Attempt, PacketRef, Position, Queue, QueueOffset, Reply
from noloss.spec.rocketmq.config import preset
from noloss.spec.rocketmq.faults import FAULTS
from noloss.spec.rocketmq.model import Model
from noloss.spec.rocketmq.state import FLUSH_DISK_TIMEOUT, MAIN, REPLY, REQUEST, RETRY, SEND_OK
from noloss.spec.rocketmq.protocol import ROCKETMQ


def test_each_argument_prints_as_reports_print_it() -> None:
    assert str(Action("master", "receive", 0, Attempt(2))) == "master receive m0 (#2)"
    assert str(Action("producer", "receive", 1, Reply(1, SEND_OK))) == "producer receive m1 (#1 SEND_OK)"
    assert str(Action("master", "flush-timeout", 0, Position(3))) == "master flush-timeout m0 (entry 3)"
    assert str(Action("consumer", "consume", 1, QueueOffset(RETRY, 1))) == "consumer consume m1 (%RETRY%@1)"
    assert str(Action("consumer", "correct-offset", None, Queue(MAIN))) == "consumer correct-offset (topic)"
    assert str(Action("net", "drop", 0, PacketRef(REQUEST, 1, 0))) == "net drop m0 (request #1)"
    assert str(Action("net", "dup", 0, PacketRef(REPLY, 2, FLUSH_DISK_TIMEOUT))) == "net dup m0 (reply #2 FLUSH_DISK_TIMEOUT)"
    assert str(Action("master", "flush", None)) == "master flush"


@pytest.mark.slow
def test_every_kind_of_action_has_one_argument_type() -> None:
    """Explored both ways, with failures, retries and every fault: (actor, verb) fixes the type."""
    config = preset("rocketmq-default").with_settings({"consumerMayFail": "true", "messages": "1", "checkStatus": "true"})
    types: dict[tuple[str, str], set[str]] = defaultdict(set)
    for reduce in (True, False):
        model = Model(config, FAULTS.of(["master-crash", "net-drop", "net-dup", "consumer-crash"], 1), reduce)
        exploration = explore(model)
        for state in (exploration.state(node) for node in range(exploration.stats.states)):
            for action in model.actions(state):
                types[(action.actor, action.verb)].add(type(action.arg).__name__)
    assert all(len(names) == 1 for names in types.values()), types
    assert types[("consumer", "pull")] == {"QueueOffset"} and types[("net", "dup")] == {"PacketRef"}


def test_json_names_the_argument_fields() -> None:
    result = check(ROCKETMQ, preset("rocketmq-default"), FAULTS.of(["master-power-loss"], 1))
    verdict = next(v for v in result.verdicts if v.name == "NoAckedLoss")
    assert verdict.counterexample is not None
    args = [step["arg"] for step in steps_json(ROCKETMQ, verdict.counterexample)]
    assert args == [None, {"attempt": 1}, {"attempt": 1, "status": SEND_OK}, None]
