"""The `noloss` command line: exit codes, output formats, one-line errors."""

from __future__ import annotations

import json

import pytest

from noloss.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_exit_0_when_every_property_holds(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--preset", "rocketmq-default", "--faults", "none", "--quiet")
    assert code == 0
    assert "NoAckedLoss              holds" in out


def test_exit_1_with_numbered_steps_on_a_violation(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--preset", "oneway", "--faults", "net-drop", "--quiet")
    assert code == 1
    assert "NoAckedLoss              VIOLATED  (counterexample: 2 steps)" in out
    assert "   1. producer send m0" in out
    assert "   2. net drop m0 (request #1)  [fault]" in out
    assert "lost: m0 (acknowledged, never processed, no longer deliverable)" in out


def test_properties_option_selects_what_the_exit_status_follows(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("check", "--preset", "oneway", "--faults", "net-drop", "--quiet", "--properties", "NoPhantom")
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert "NoAckedLoss" not in out


def test_exit_3_when_a_bound_stops_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--preset", "strict", "--faults", "none", "--max-states", "50", "--quiet")
    assert code == 3
    assert "INCOMPLETE: a bound stopped the run" in out
    assert "NoAckedLoss              incomplete" in out


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--preset", "oneway", "--faults", "net-drop", "--format", "json", "--quiet")
    data = json.loads(out)
    assert code == 1
    assert data["config"]["sendMode"] == "oneway"
    assert data["faults"]["kinds"] == {"net-drop": 1}
    assert set(data["stats"]) >= {"states", "transitions", "depth", "seconds"}
    loss = next(p for p in data["properties"] if p["name"] == "NoAckedLoss")
    assert loss["holds"] is False and loss["kind"] == "always"
    assert [(s["actor"], s["action"], s["message"]) for s in loss["counterexample"]] == [
        ("producer", "send", "m0"),
        ("net", "drop", "m0"),
    ]


def test_mermaid_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--preset", "oneway", "--faults", "net-drop", "--format", "mermaid", "--quiet")
    assert code == 1
    assert out.startswith("%% ---- diagram 1 of 3: NoAckedLoss ----\nsequenceDiagram\n")
    assert "    Producer->>Master: send m0" in out
    assert "    Note over Producer,Master: FAULT drop m0" in out
    safety, _liveness = out.split("%% ---- diagram 3 of 3: AckedEventuallyConsumed ----")
    assert "loop forever" not in safety


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "flushDiskType=SOMETIMES"], "bad value 'SOMETIMES' for flushDiskType: allowed ASYNC_FLUSH|SYNC_FLUSH"),
        (["--set", "flushDiskTyp=SYNC_FLUSH"], "unknown setting 'flushDiskTyp'"),
        (["--set", "novalue"], "--set 'novalue': expected KEY=VALUE"),
        (["--preset", "strictest"], "unknown preset 'strictest'"),
        (["--faults", "meteor"], "unknown fault kind 'meteor'"),
        (["--messages", "9"], "bad value 9 for messages"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = run(capsys, "check", "--quiet", *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and message in err


def test_matrix_on_a_subset(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    argv = ("matrix", "--presets", "rocketmq-default,oneway", "--scenarios", "none,net-drop", "--jobs", "1")
    code, out, _ = run(capsys, *argv, "--quiet", "--out", str(tmp_path))
    assert code == 1
    lines = out.splitlines()
    assert lines[:2] == [
        "rocketmq-default: loses no acknowledged message under no fault, net-drop",
        "oneway: LOSES an acknowledged message under net-drop; survives no fault",
    ]
    rows = [line.split() for line in lines[lines.index("") + 2 :][:4]]
    assert [row[:3] for row in rows] == [
        ["rocketmq-default", "none", "ok"],
        ["rocketmq-default", "net-drop", "ok"],
        ["oneway", "none", "ok"],
        ["oneway", "net-drop", "X(2)"],
    ]
    assert (tmp_path / "matrix.json").exists() and (tmp_path / "matrix.md").exists()
    page = (tmp_path / "counterexamples" / "oneway__net-drop__NoAckedLoss.md").read_text()
    assert "```mermaid\nsequenceDiagram" in page and "1. producer send m0" in page
    # What prevents it is read off the matrix: rocketmq-default keeps NoAckedLoss under net-drop.
    assert "- `rocketmq-default`: " in page and "sendMode=sync" in page


def test_matrix_bad_scenario_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "matrix", "--scenarios", "meteor", "--quiet")
    assert code == 2 and "unknown scenario 'meteor'" in err


def test_fingerprint_mode_gives_the_same_verdicts_and_its_omission_bound(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("check", "--preset", "oneway", "--faults", "net-drop", "--format", "json", "--quiet")
    _, exact, _ = run(capsys, *argv)
    code, printed, _ = run(capsys, *argv, "--fingerprint")
    exact_data, printed_data = json.loads(exact), json.loads(printed)
    assert code == 1
    assert printed_data["properties"] == exact_data["properties"]  # counterexamples included
    assert printed_data["stats"]["states"] == exact_data["stats"]["states"]
    assert exact_data["stats"]["omission_probability"] is None
    assert 0 < printed_data["stats"]["omission_probability"] < 1e-9


def test_two_workers_give_the_sequential_verdicts(capsys: pytest.CaptureFixture[str]) -> None:
    selected = "NoAckedLoss,NoPhantom,SomeMessageAcked"
    argv = ("check", "--preset", "oneway", "--faults", "net-drop", "--format", "json", "--quiet", "--properties", selected)
    _, one, _ = run(capsys, *argv)
    code, two, _ = run(capsys, *argv, "--workers", "2")
    assert code == 1
    one_data, two_data = json.loads(one), json.loads(two)
    assert two_data["properties"] == one_data["properties"]  # the shortest counterexample too
    assert two_data["stats"]["states"] == one_data["stats"]["states"]


def test_two_workers_refuse_liveness_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--preset", "oneway", "--faults", "net-drop", "--quiet", "--workers", "2")
    assert code == 2
    assert err.startswith("noloss: error: --workers 2: several workers check always- and sometimes-properties only")
    assert "Traceback" not in err


def test_presets_name_the_release_each_describes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "presets")
    assert code == 0
    release = {line.split()[0]: line.split()[2] for line in out.splitlines()}
    assert release["rocketmq-default"] == release["strict"] == "4.9.7"
    assert release["rocketmq5-default"] == release["rocketmq5-sync-master"] == release["rocketmq5-quorum"] == "5.3"
