"""`noloss conform` end to end on the reference broker, kept small for the fast tier: a
few hundred messages, one SIGKILL of the master, a final drain, both judgements."""

from __future__ import annotations

from pathlib import Path

import pytest

from noloss.conformance.run import RunSpec, run
from noloss.conformance.targets import reference
from noloss.spec.rocketmq.config import preset
from noloss.conformance.rocketmq.rules import ROCKETMQ_RULES

PRESET = "sync-flush-async-master"


@pytest.mark.slow
def test_one_master_kill_loses_nothing_and_the_history_is_a_behaviour_of_the_preset(tmp_path: Path) -> None:
    config = preset(PRESET)
    spec = RunSpec(PRESET, config, ("master-crash",), producers=2, messages=100_000, duration_s=20, interval_s=0.7, down_s=0.3, cycles=1, quiet_s=2, rules=ROCKETMQ_RULES)
    result = run(spec, "master-crash", reference.factory(config), tmp_path / "master-crash", progress=False)
    assert result.counts is not None and result.judgement is not None
    assert result.faults_injected == 1
    assert result.counts.acknowledged > 0
    assert result.counts.lost == 0, result.counts.lost_messages
    assert result.judgement.ok, result.judgement.failures[:3]
    assert result.history is None and not (tmp_path / "master-crash").exists()  # a passing run leaves nothing
