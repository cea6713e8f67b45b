"""What a failing run's row links: the history excerpt of one message and the checker's
counterexample for the claimed preset under the matching spec fault."""

from __future__ import annotations

import json
from pathlib import Path

from noloss.conformance.evidence import counterexample, excerpt, violated, witness
from noloss.conformance.counts import count
from noloss.conformance.rocketmq.judge import judge, resend_of
from noloss.conformance.workload import Resend
from noloss.spec.rocketmq.config import preset
from noloss.spec.rocketmq.faults import FAULTS
from tests.conformance.test_judge import consumed, fault, restart, send, status

COUNTEREXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "counterexamples"
ASYNC = preset("async-flush-sync-master")


def test_the_excerpt_follows_the_lost_message_with_the_fault_that_lost_it() -> None:
    history = [send(0), status(0), *consumed(0), send(1), status(1, offset=1), fault("net", "drop"), fault("master", "power-loss"), restart("master"), send(2), status(2, offset=1), *consumed(2, 1)]
    counts = count(history, resend_of(ASYNC))
    message = witness(history, counts, judge(history, "async-flush-sync-master", ASYNC))
    assert message == 1 and violated(counts) == ("NoAckedLoss",)
    lines = excerpt(history, 1)
    shown = [json.loads(line.split(": ", 1)[1]) for line in lines]
    assert [line.split(":")[0] for line in lines] == ["5", "6", "7", "8", "9"]  # message 0's events are not its
    assert shown[3] == fault("master", "power-loss") and shown[2]["node"] == "net"


def test_a_long_projection_is_cut_in_the_middle() -> None:
    history = [send(0)] + [record for _ in range(60) for record in (fault("slave", "crash"), restart("slave"))]
    lines = excerpt(history, 0, limit=10)
    assert len(lines) == 11 and "left out" in lines[5]


def test_the_counterexample_matches_preset_fault_and_property() -> None:
    page = counterexample(COUNTEREXAMPLES, FAULTS, "async-flush-sync-master", "master-power-loss", "NoAckedLoss")
    assert page is not None and page.name == "async-flush-sync-master__master-power-loss__NoAckedLoss.md"
    # strict keeps acknowledged messages through a master kill: the checker has no such run.
    assert counterexample(COUNTEREXAMPLES, FAULTS, "strict", "master-crash", "NoAckedLoss") is None
    # A duplicate the spec allows with no fault at all is allowed under every fault.
    duplicate = counterexample(COUNTEREXAMPLES, FAULTS, "strict", "net-drop", "NoDuplicateProcessing")
    assert duplicate is not None and duplicate.name == "strict__none__NoDuplicateProcessing.md"
    assert counterexample(COUNTEREXAMPLES, FAULTS, "strict", "failover", "NoAckedLoss") is None  # the spec has no failover


def test_every_spec_fault_a_conform_run_injects_finds_its_page() -> None:
    """Conform's fault kinds are the spec's: a failing run under any of them, a master disk
    loss included (its old conform word had no page), links the checker's counterexample."""
    page = counterexample(COUNTEREXAMPLES, FAULTS, "sync-flush-async-master", "master-disk-loss", "NoAckedLoss")
    assert page is not None and page.name == "sync-flush-async-master__master-disk-loss__NoAckedLoss.md"
    found = 0
    for page in sorted(COUNTEREXAMPLES.glob("*__*__*.md")):
        preset_name, kind, property_name = page.stem.split("__")
        if kind in FAULTS.index:
            assert counterexample(COUNTEREXAMPLES, FAULTS, preset_name, kind, property_name) == page
            found += 1
    assert found > 50


def test_the_excerpt_shows_a_fault_the_spec_does_not_have() -> None:
    history = [send(0), status(0), fault("master", "failover"), restart("slave"), *consumed(0), *consumed(0)]
    counts = count(history, resend_of(ASYNC))
    assert witness(history, counts, judge(history, "async-flush-sync-master", ASYNC)) == 0
    assert '"kind":"failover"' in excerpt(history, 0)[2]
