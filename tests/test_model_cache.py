"""Model.actions keeps each actor's actions per value of the part of the state its guards
read (`enabled_reads`): on every state of explored models it must give exactly what the
guards give, in the same order. A guard that starts to read a field its `enabled_reads`
leaves out fails here."""

from __future__ import annotations

import pytest

from noloss.model_check.explore import explore
from noloss.spec.rocketmq.config import preset
from noloss.spec.rocketmq.faults import FAULTS, FAULT_KINDS
from noloss.spec.rocketmq.model import Model
from tests.tiers import tiered

# (preset, settings): the guards' branches (oneway, commitBeforeProcess, a failing consumer,
# a slave that serves pulls, the checked HA handshake) each show in one of these.
CELLS = {
    "strict": {"consumerMayFail": "true"},
    "oneway": {},
    "commit-before-process": {},
    "rocketmq5-quorum": {"slaveReadEnable": "true", "haTrustSlaveOffset": "false"},
    "rocketmq-default": {"rocketmqVersion": "4.9.3"},
}


@pytest.mark.parametrize("name", tiered(CELLS, fast={"commit-before-process"}))
def test_cached_actions_are_the_guards_actions(name: str) -> None:
    config = preset(name).with_settings(CELLS[name])
    for max_faults in (1, 2):
        model = Model(config, FAULTS.of(FAULT_KINDS, max_faults))
        exploration = explore(model, max_states=3_000 if name == "commit-before-process" else 100_000, keep_edges=False)
        fresh = Model(model.config, model.faults)
        for node in range(exploration.stats.states):
            state = exploration.state(node)
            assert model.actions(state) == fresh.enabled_unshared(state)
