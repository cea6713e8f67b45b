"""Trace-check on real processes catches each broker mutation of tests/mbt/mutations.py.

The traces of tests/mbt/test_trace.py come from the simulation, which is built from the
spec's own steps. Here the history is what real clients saw of real `noloss broker`
processes under real faults (conformance/run.py), and it is judged by the spec one message
at a time (conformance/rocketmq/judge.py). Each test runs the same workload and faults twice: with a
mutated broker (or client), whose judgement must fail, printing the first event the spec
cannot explain with its `history:line`; and unmutated, whose judgement must pass.
The same runs from the command line: docs/conform.md, "Mutations caught".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from noloss.conformance.inject.net import proxies
from noloss.conformance.report import first_unexplained
from noloss.conformance.run import RunResult, RunSpec, run
from noloss.conformance.targets import reference
from noloss.spec.rocketmq.config import ASYNC_FLUSH, ASYNC_MASTER, preset
from noloss.conformance.rocketmq.rules import ROCKETMQ_RULES
from tests.conformance.mutant_broker import mutate
from tests.conformance.real_broker_runs import assert_lost_and_explained_by


def mutated_and_plain(spec: RunSpec, mutation: str, tmp_path: Path, fsync_delay_ms: float = 0.0) -> tuple[RunResult, RunResult]:
    """`spec` run with `mutation` applied (in this process and in every node), then without;
    under power loss, each fsync takes `fsync_delay_ms` longer than the backing disk's."""
    results = []
    for label in (mutation, "plain"):
        patch = mutate(mutation) if label == mutation else None
        try:
            factory = reference.factory(spec.config, fsync_delay_ms=fsync_delay_ms)
            result = run(spec, label, factory, tmp_path / label, proxies, progress=False)
        finally:
            if patch is not None:
                patch.undo()
        if result.unavailable is not None:
            pytest.skip(result.unavailable)
        assert result.counts is not None and result.judgement is not None
        assert result.faults_injected == (spec.cycles or 0)
        results.append(result)
    mutated, plain = results
    assert mutated.counts is not None and mutated.counts.lost > 0
    assert mutated.judgement is not None and not mutated.judgement.ok
    where = first_unexplained(mutated)
    print(f"{mutation}: first unexplained event: {where}")
    assert where is not None and where.startswith(f"{mutated.history}:")
    assert mutated.history is not None and mutated.history.exists()
    assert plain.judgement is not None
    assert plain.judgement.ok, (plain.history, plain.judgement.failures[:3])
    return mutated, plain


@pytest.mark.slow
def test_reply_before_fsync_is_rejected_under_power_loss(tmp_path: Path) -> None:
    """SYNC_FLUSH's SEND_OK promises the message is on disk: a master that answers before
    its fsync loses acknowledged messages to a power cut. The plain broker's judgement
    passes; its counts may still show the loss RocketMQ <= 5.2's write-position dispatch
    allows, which the judge explains with two messages (docs/conform.md)."""
    claimed = "sync-flush-async-master"
    # A cut loses a mutant's message only if it lands after the client has read a reply and
    # before the fsync after it has returned. The group-commit thread starts each fsync as
    # the last returns, so that window is one to two fsyncs long, less the client's own
    # delay: each fsync gets 2 ms more than this VM's fast backing disk gives (a slow SSD's
    # or a disk's flush, docs/faults.md). Measured over 6 cuts a run (load 2.3-3.8): without
    # the delay the mutant lost messages in 1 run of 2, with 1 ms in 5 of 6, with 2 ms in
    # 6 of 6 (3 of them this test, the plain broker passing each time), with 3 ms in 3 of 3.
    spec = RunSpec(claimed, preset(claimed), ("master-power-loss",), producers=4, messages=10**9, duration_s=10**6, interval_s=1.0, down_s=0.3, cycles=6, rules=ROCKETMQ_RULES)
    mutated, _ = mutated_and_plain(spec, "reply_before_fsync", tmp_path, fsync_delay_ms=2.0)
    assert_lost_and_explained_by(mutated, "flushDiskType", ASYNC_FLUSH)


@pytest.mark.slow
def test_reply_before_the_slaves_report_is_rejected_when_the_master_is_lost(tmp_path: Path) -> None:
    """SYNC_MASTER's SEND_OK promises the slave has the message: when the master's disk is
    lost, the consumer reads on from the slave. A slow replication link makes the slave lag
    and a slow business step makes the consumer lag, so acknowledged messages are
    still to be read when the master goes; a master that answers before the slave's report
    has them only on itself."""
    spec = RunSpec(
        "strict", preset("strict"), ("master-disk-loss",), producers=8, messages=10**9, duration_s=10**6,
        interval_s=2.0, down_s=0.3, cycles=1, replication_delay_s=0.3, process_s=0.002, rules=ROCKETMQ_RULES
    )
    mutated, plain = mutated_and_plain(spec, "reply_before_slave_report", tmp_path)
    assert_lost_and_explained_by(mutated, "brokerRole", ASYNC_MASTER)
    assert plain.counts is not None and plain.counts.acknowledged > 0 and plain.counts.lost == 0


@pytest.mark.slow
def test_commit_before_processing_is_rejected_under_consumer_crashes(tmp_path: Path) -> None:
    """The consumer commits each offset before its listener runs: a crash in between loses
    an acknowledged message the spec (committing after processing) would still deliver."""
    claimed = "strict"
    spec = RunSpec(claimed, preset(claimed), ("consumer-crash",), producers=4, messages=10**9, duration_s=10**6, interval_s=1.0, down_s=0.3, cycles=3, rules=ROCKETMQ_RULES)
    mutated, plain = mutated_and_plain(spec, "client_commit_before_process", tmp_path)
    assert mutated.judgement is not None
    assert all(failure.line is None for failure in mutated.judgement.failures)
    assert plain.counts is not None and plain.counts.lost == 0
