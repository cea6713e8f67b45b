"""The slow tier of `noloss conform`: every fault kind today's reference broker can take,
several cycles each, both judgements. The 100-cycle run is benchmarks/conform_cycles.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from noloss.conformance import run as conformance_run
from noloss.conformance.history import read_history
from noloss.conformance.run import RunSpec, run
from noloss.conformance.targets import reference
from noloss.spec.rocketmq.config import preset
from noloss.conformance.rocketmq.rules import ROCKETMQ_RULES

# SYNC_FLUSH, ASYNC_MASTER, only SEND_OK counts.
PRESET = "sync-flush-async-master"


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "cycles"), [("master-crash", 5), ("slave-crash", 5), ("consumer-crash", 5), ("slave-disk-loss", 1)])
def test_no_acknowledged_loss_and_a_behaviour_of_the_preset(kind: str, cycles: int, tmp_path: Path) -> None:
    config = preset(PRESET)
    spec = RunSpec(PRESET, config, (kind,), producers=4, messages=10**9, duration_s=10**6, interval_s=1.0, down_s=0.3, cycles=cycles, rules=ROCKETMQ_RULES)
    result = run(spec, kind, reference.factory(config), tmp_path / kind, progress=False)
    assert result.counts is not None and result.judgement is not None
    assert result.faults_injected == cycles
    assert result.counts.acknowledged > 100
    assert result.counts.lost == 0, result.counts.lost_messages[:10]
    assert result.counts.unexpected == 0
    assert result.judgement.ok, (result.history, result.judgement.failures[:3])


@pytest.mark.slow
def test_strict_answers_slave_not_available_after_a_master_restart_as_the_spec_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the slave reconnects to a restarted master, SYNC_MASTER answers
    SLAVE_NOT_AVAILABLE (4.x isSlaveOK needs a live HA connection): the reference broker,
    and the spec since its `slave reconnect` follows a restart under trusted offsets too.
    The application resends; nothing is lost and the history is a behaviour of strict."""
    records: list[dict[str, Any]] = []  # the history as judged (a passing run's file is removed)

    def read(path: Path) -> list[dict[str, Any]]:
        records.extend(read_history(path))
        return records

    monkeypatch.setattr(conformance_run, "read_history", read)
    config = preset("strict")
    spec = RunSpec("strict", config, ("master-crash",), producers=4, messages=10**9, duration_s=10**6, interval_s=1.0, down_s=0.3, cycles=2, rules=ROCKETMQ_RULES)
    result = run(spec, "master-crash", reference.factory(config), tmp_path / "master-crash", progress=False)
    assert result.counts is not None and result.judgement is not None
    assert result.counts.lost == 0
    assert result.judgement.ok, (result.history, result.judgement.failures[:3])
    assert any(r["event"] == "status" and r["status"] == "SLAVE_NOT_AVAILABLE" for r in records), "the window was never hit"
