"""Shared by the real-broker target tests: one small conformance run and what every
passing run must show."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from noloss.conformance.faults import needs_proxy
from noloss.conformance.inject.net import proxies
from noloss.conformance.run import RunResult, RunSpec, run
from noloss.conformance.targets.base import Target
from noloss.spec.rocketmq.config import Config, preset
from noloss.conformance.rocketmq.rules import ROCKETMQ_RULES


# A run with `cycles` ends once they are done; its duration is only a cap, generous because
# a broker that boots slowly (RabbitMQ: 10-20 s per restart on two busy cores) needs it.
CAP_S = 180.0


def require(binary: str) -> None:
    """Skip the test (one line) when the broker's binary is not installed."""
    if shutil.which(binary) is None:
        pytest.skip(f"{binary} is not installed")


def small_run(claimed: str, kind: str, make: Callable[[Config], Callable[[Path, bool], Target]], directory: Path, cycles: int = 1, duration_s: float = 4.0) -> RunResult:
    """`cycles` faults of `kind` in a run of two producers against the target `make` builds
    for the preset `claimed` (its clients through the TCP proxies, for a network fault)."""
    config = preset(claimed)
    spec = RunSpec(claimed, config, (kind,), producers=2, messages=100_000, duration_s=duration_s, interval_s=1.5, down_s=0.3, cycles=cycles, quiet_s=2, rules=ROCKETMQ_RULES)
    return run(spec, kind, make(config), directory / kind, proxies if needs_proxy(ROCKETMQ_RULES.faults, (kind,)) else None, progress=False)


def assert_nothing_lost(result: RunResult, faults: int = 1, tolerated: str | None = None) -> None:
    """Nothing acknowledged lost, nothing unexpected, and the history a behaviour of the
    claimed preset — except for failures whose reason names `tolerated`, a documented
    difference of the target, when given."""
    assert result.counts is not None and result.judgement is not None, result.unavailable
    assert result.faults_injected == faults
    assert result.counts.acknowledged > 0
    assert result.counts.lost == 0, result.counts.lost_messages
    assert result.counts.unexpected == 0
    failures = [f for f in result.judgement.failures if tolerated is None or tolerated not in f.reason]
    assert not failures, failures[:3]


def assert_lost_and_explained_by(result: RunResult, knob: str, value: str) -> None:
    """`result` lost acknowledged messages, its judgement failed, and the nearest preset that
    explains it has `knob` at `value` (the weaker setting the target really behaves as)."""
    assert result.counts is not None and result.judgement is not None, result.unavailable
    assert result.counts.lost > 0
    assert not result.judgement.ok
    assert result.judgement.explained_by is not None, result.judgement.failures[:3]
    assert getattr(preset(result.judgement.explained_by), knob) == value, result.judgement.explained_by
