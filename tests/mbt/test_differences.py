"""Disagreements between the reference broker and the spec, each pinned by the shortest
scripted run that shows it, as a strict xfail: the test fails the day one side changes,
and the lead decides which side that should be."""

from __future__ import annotations

import pytest

from noloss.model_check.describe import fields
from noloss.conformance.abstraction import abstract
from noloss.conformance.world import SLAVE_AHEAD, Lockstep
from noloss.spec.actions import Action, Attempt, Reply
from noloss.spec.config import preset
from noloss.spec.faults import FaultModel
from noloss.spec.model import Model
from noloss.spec.state import SEND_OK
from tests.mbt.machines import Mismatch, mismatch_text

def run(preset_name: str, kinds: list[str], actions: list[Action]) -> None:
    """Take `actions` on spec and broker in lockstep; Mismatch at the first disagreement."""
    model = Model(preset(preset_name), FaultModel.of(kinds, 2))
    lockstep = Lockstep(model)
    for number, action in enumerate(actions, 1):
        assert action in model.actions(lockstep.state), f"step {number}: {action} is not enabled in the spec"
        lockstep.step(action)
        got = abstract(model, lockstep.world)
        if got != lockstep.state:
            raise Mismatch(f"step {number} ({action}):\n" + mismatch_text(fields(lockstep.state), fields(got)))


@pytest.mark.xfail(strict=True, raises=Mismatch, reason=SLAVE_AHEAD)
def test_a_slave_ahead_of_its_master_is_counted_at_once() -> None:
    run(
        "async-flush-sync-master",
        ["master-power-loss"],
        [
            Action("producer", "send", 0),
            Action("master", "receive", 0, Attempt(1)),
            Action("slave", "replicate", None),  # the slave has m0 in its page cache: SEND_OK
            Action("producer", "receive", 0, Reply(1, SEND_OK)),
            Action("master", "power-loss", None),  # ASYNC_FLUSH: m0 was never on the master's disk
            Action("master", "restart", None),  # the slave (one entry) is ahead of the master (none)
            Action("producer", "send", 1),
            Action("master", "receive", 1, Attempt(1)),  # spec: the slave's offset covers m1's position, the
            # master waits for its report; broker: the slave is disconnected: SLAVE_NOT_AVAILABLE
        ],
    )
