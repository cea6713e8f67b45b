"""The reference broker runs in lockstep with the spec, for every preset.

Fast tier (CI): fixed seed, bounded examples. Long tier: NOLOSS_SLOW=1 (random seeds,
many more and longer runs). A failure prints a shrunk program of rule calls that replays
with `from tests.mbt.machines import *`.

Two fault models per preset, the broker as it is under both: faults on the slave side, the
consumer and the network; and every fault kind, where the consumer reads the slave while the
master is down, from the consumer offsets the slave copied from the master (SlaveSynchronize,
the spec's `slave sync-offsets`).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from noloss.conformance.rocketmq.abstraction import abstract
from noloss.conformance.rocketmq.world import Lockstep
from noloss.spec.rocketmq.actions import Action, Attempt
from noloss.spec.rocketmq.config import preset
from noloss.spec.rocketmq.faults import FAULTS
from noloss.spec.rocketmq.model import Model
from tests.mbt.machines import CONFIGS, MACHINES, class_name
from tests.tiers import tiered

SLOW = os.environ.get("NOLOSS_SLOW") == "1"
SETTINGS = settings(
    derandomize=not SLOW,
    database=None,
    deadline=None,
    max_examples=1000 if SLOW else 60,
    stateful_step_count=100 if SLOW else 50,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.parametrize("name", tiered(CONFIGS, fast={"rocketmq-default", "strict-listener-fails"}))
def test_broker_follows_the_spec_under_slave_consumer_and_network_faults(name: str) -> None:
    run_state_machine_as_test(MACHINES[class_name(name, master_faults=False)], settings=SETTINGS)


@pytest.mark.parametrize("name", tiered(CONFIGS, fast={"sync-flush-async-master", "commit-before-process", "async-flush-sync-master-checked"}))
def test_broker_follows_the_spec_under_every_fault(name: str) -> None:
    run_state_machine_as_test(MACHINES[class_name(name, master_faults=True)], settings=SETTINGS)


@pytest.mark.parametrize("name", tiered(["strict", "commit-before-process-listener-fails"], fast={"strict"}))
def test_broker_follows_the_unreduced_spec(name: str) -> None:
    """Without the reductions every flush, commit, persist and offset sync is a rule of its own."""
    run_state_machine_as_test(MACHINES[class_name(name, master_faults=True) + "Unreduced"], settings=SETTINGS)


def test_a_printed_program_replays() -> None:
    """What a failure prints is a program: here one of the strict machine, replayed."""
    state: Any = MACHINES["Strict"]()
    for rule in ("producer_send", "master_receive", "slave_replicate", "master_flush", "consumer_consume"):
        state.agrees()
        getattr(state, rule)(pick=0)
    state.agrees()
    state.teardown()
    assert state.lockstep.state.processed == (1, 0)


def test_the_broker_takes_the_specs_silent_steps() -> None:
    """After the last fault that could observe it, the crashed master's page cache is flushed
    (the kernel writes it back): a silent step of the spec, which the lockstep takes on the
    broker as the action it is."""
    model = Model(preset("rocketmq-default"), FAULTS.of(["master-crash", "master-power-loss"], 1))
    lockstep = Lockstep(model)
    script = [Action("producer", "send", 0), Action("master", "receive", 0, Attempt(1)), Action("master", "crash", None)]
    taken = [[str(action) for action in lockstep.step(action)] for action in script]
    assert taken[-1] == ["master crash", "master flush"]
    assert abstract(model, lockstep.world) == lockstep.state
    assert lockstep.state.master.flushed == 1
