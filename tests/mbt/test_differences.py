"""Disagreements between the reference broker and the spec, each pinned by the shortest
scripted run that shows it, as a strict xfail: the test fails the day one side changes,
and the lead decides which side that should be."""

from __future__ import annotations

import pytest

from model_check.describe import fields
from reference.abstraction import abstract
from reference.world import SLAVE_AHEAD, Lockstep
from spec.actions import Action
from spec.config import preset
from spec.faults import FaultModel
from spec.model import Model
from spec.state import SEND_OK, SLAVE_NOT_AVAILABLE
from tests.mbt.machines import Mismatch, mismatch_text

DIVERGED_SLAVE = (
    "disagreement: after a master power loss the slave holds an entry the master lost; once the master "
    "has stored as many bytes again, the reference master takes the slave back (it compares offsets only) "
    "and SYNC_MASTER waits for it, while the spec's in_sync requires the slave's log to be a prefix of the "
    "master's and answers SLAVE_NOT_AVAILABLE"
)


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


@pytest.mark.xfail(strict=True, raises=Mismatch, reason=DIVERGED_SLAVE)
def test_a_slave_that_diverged_at_the_same_length_is_not_back_in_sync() -> None:
    run(
        "async-flush-sync-master",
        ["master-power-loss"],
        [
            Action("producer", "send", 0),
            Action("master", "receive", 0, (1,)),
            Action("slave", "replicate", None),  # the slave has m0 in its page cache: SEND_OK
            Action("producer", "receive", 0, (1, SEND_OK)),
            Action("master", "power-loss", None),  # ASYNC_FLUSH: m0 was never on the master's disk
            Action("master", "restart", None),  # the slave (54 bytes) is ahead of the master (0): link closed
            Action("producer", "send", 1),
            Action("master", "receive", 1, (1,)),  # master [m1], slave [m0]: same length, the link is accepted
            Action("producer", "receive", 1, (1, SLAVE_NOT_AVAILABLE)),
            Action("producer", "send", 1),  # checkStatus: resend
            Action("master", "receive", 1, (2,)),  # spec: SLAVE_NOT_AVAILABLE; broker: waits for the slave
        ],
    )


@pytest.mark.xfail(strict=True, raises=Mismatch, reason=SLAVE_AHEAD)
def test_a_slave_ahead_of_its_master_is_in_sync_again_as_soon_as_the_master_stores_the_same_entry() -> None:
    run(
        "seed-strict",
        ["master-crash", "master-power-loss"],
        [
            Action("producer", "send", 0),
            Action("master", "receive", 0, (1,)),  # SYNC_FLUSH and SYNC_MASTER: the reply waits
            Action("slave", "replicate", None),  # the slave has m0; the reply still waits for the fsync
            Action("master", "crash", None),  # the held reply dies with the master
            Action("master", "power-loss", None),  # ... and so does the unflushed m0 in its page cache
            Action("master", "restart", None),  # the slave (54 bytes) is ahead of the master (0): link closed
            Action("producer", "timeout", 0),  # the client retries: m0 #2
            Action("master", "receive", 0, (2,)),  # spec: master [m0] has the slave's [m0] as prefix, waits for it;
            # broker: no slave connected when the send is stored: SLAVE_NOT_AVAILABLE
        ],
    )
