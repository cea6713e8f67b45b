"""A second protocol through the seam: the toy queue (tests/seam/toy_queue.py) is registered
with the command line and checked, put in a matrix, rendered and replayed end to end, by the
same code that checks RocketMQ. Nothing in model_check/ names it (test_layout.py holds
model_check/ to importing no protocol at all)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from noloss.cli import protocols
from noloss.model_check.check import HOLDS, VIOLATED, check
from tests.cli_run import run
from tests.seam.toy_queue import TOY


@pytest.fixture(autouse=True)
def toy_registered() -> Iterator[None]:
    protocols.register(TOY)
    yield
    protocols.unregister(TOY.name)


def test_the_checker_judges_the_toy_by_its_own_model() -> None:
    unsafe = check(TOY, TOY.preset("ack-before-flush"), TOY.faults.scenario("node-power-loss"))
    (loss,) = [v for v in unsafe.verdicts if v.name == "NoAckedLoss"]
    assert loss.status == VIOLATED and loss.counterexample is not None
    # The shortest loss: send (acknowledged at once), then the power loss takes the page cache.
    assert [TOY.step_text(step.action) for step in loss.counterexample] == ["producer send", "node power-loss"]
    safe = check(TOY, TOY.preset("ack-after-flush"), TOY.faults.scenario("any-1"))
    assert {v.name: v.status for v in safe.verdicts} == {"NoAckedLoss": HOLDS, "SomeMessageAcked": HOLDS}
    assert safe.stats.complete and safe.stats.states == 37


def test_noloss_check_with_the_toy_protocol(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("check", "--protocol", "toy-queue", "--preset", "ack-before-flush", "--faults", "node-power-loss", "--quiet")
    code, out, _ = run(capsys, *argv)
    assert code == 1
    assert re.search(r"^NoAckedLoss\s+VIOLATED\s+\(counterexample: 2 steps\)$", out, re.M), out
    assert "   2. node power-loss  [fault]" in out
    assert "log: (0,) -> ()" in out
    code, out, _ = run(capsys, *argv, "--format", "json")
    data = json.loads(out)
    assert data["config"] == {"messages": 2, "ack_after_flush": False}
    assert data["faults"]["kinds"] == {"node-power-loss": 1}
    steps = next(p for p in data["properties"] if p["name"] == "NoAckedLoss")["counterexample"]
    assert [step["fault"] for step in steps] == [False, True]
    code, out, _ = run(capsys, "check", "--protocol", "toy-queue", "--set", "ack_after_flush=true", "--quiet")
    assert code == 0, out


def test_the_toy_in_a_matrix_with_its_counterexample_page(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "matrix", "--protocol", "toy-queue", "--jobs", "1", "--quiet", "--out", str(tmp_path))
    assert code == 1
    said = " ".join(out.split())
    assert said.startswith(
        "ack-after-flush: loses no acknowledged message under no fault, node-power-loss, consumer-crash "
        "ack-before-flush: LOSES an acknowledged message under node-power-loss; survives no fault, consumer-crash "
    ), said
    (page,) = (tmp_path / "counterexamples").iterdir()
    assert page.name == "ack-before-flush__node-power-loss__NoAckedLoss.md"
    text = page.read_text()
    replay = re.search(r"Replay: `(.*)`", text)
    assert replay is not None
    words = replay.group(1).split()
    assert words[:6] == ["noloss", "check", "--protocol", "toy-queue", "--preset", "ack-before-flush"]
    assert "Note over System: NoAckedLoss VIOLATED" in text
    # The page's replay command finds the same violation.
    code, out, _ = run(capsys, *[word.strip("'") for word in words[1:]], "--quiet")
    assert code == 1 and re.search(r"^NoAckedLoss\s+VIOLATED\s+\(counterexample: 2 steps\)$", out, re.M), out
    table = (tmp_path / "matrix.md").read_text()
    assert f"| ack-before-flush | node-power-loss | [VIOLATED (2)](counterexamples/{page.name}) |" in table


def test_the_toy_report_site(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "report", "--protocol", "toy-queue", "--jobs", "1", "--quiet", "--out", str(tmp_path))
    assert code == 1
    page = tmp_path / "counterexamples" / "ack-before-flush__node-power-loss__NoAckedLoss.html"
    html = page.read_text()
    assert "node power-loss" in html and "<svg" in html and "--protocol toy-queue" in html


def test_presets_and_scenarios_of_the_toy(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "scenarios", "--protocol", "toy-queue")
    assert code == 0 and out.splitlines()[3].startswith("node-power-loss")
    code, out, _ = run(capsys, "presets", "--protocol", "toy-queue")
    assert code == 0 and "ack-before-flush" in out and "ack_after_flush=False" in out


def test_an_unknown_protocol_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--protocol", "kafka")
    assert code == 2
    assert err == "noloss: error: --protocol 'kafka': unknown protocol: allowed rocketmq, toy-queue\n"
    code, _, err = run(capsys, "check", "--protocol", "toy-queue", "--broker-conf", "x.conf")
    assert code == 2 and "configure the rocketmq protocol, not toy-queue" in err
