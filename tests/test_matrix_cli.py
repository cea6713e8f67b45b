"""`noloss matrix` answers the operator: their own configuration, verdict lines first, a table
that fits 100 columns with its legend, bounds, and --out checked before any work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from noloss.cli import main
from tests.cli_run import run
from noloss.cli.matrix_render import WIDTH
from noloss.spec.rocketmq.protocol import ROCKETMQ

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_your_own_files_under_every_scenario_with_the_verdict_first(capsys: pytest.CaptureFixture[str]) -> None:
    sync = EXAMPLES / "2m-2s-sync"
    argv = ["matrix", "--quiet", "--jobs", "1", "--scenarios", "none,master-power-loss"]
    argv += ["--broker-conf", str(sync / "broker-a.properties"), "--slave-conf", str(sync / "broker-a-s.properties")]
    argv += ["--producer-conf", str(EXAMPLES / "producer.properties")]
    code, out, _ = run(capsys, *argv, "--set", "checkStatus=true")
    assert code == 1
    lines = out.splitlines()
    # All of it fits WIDTH, what the files said (long paths, long key lists) included.
    assert max(len(line) for line in lines) <= WIDTH, max(lines, key=len)
    # SYNC_MASTER with ASYNC_FLUSH: a master power loss takes an acknowledged message.
    assert lines[0] == (
        "your-config: LOSES an acknowledged message under master-power-loss; survives no fault"
    )
    said = " ".join(out.split())
    assert f"--broker-conf {sync / 'broker-a.properties'}: modelled brokerRole=SYNC_MASTER" in said
    table = [line.split() for line in lines if line.startswith("your-config ")]
    assert [row[:3] for row in table] == [
        ["your-config", "none", "ok"],
        ["your-config", "master-power-loss", "X(9)"],  # the restarted master reuses the forgotten offset: the slave's copy is stranded until then
    ]


def test_identical_rows_say_so(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("matrix", "--quiet", "--jobs", "1", "--presets", "strict,slave-async-flush", "--scenarios", "none")
    _, out, _ = run(capsys, *argv)
    assert "slave-async-flush: same model as strict: slaveFlushDiskType=ASYNC_FLUSH cannot change a verdict" in out


def test_progress_is_drawn_on_a_terminal_only(capsys: pytest.CaptureFixture[str]) -> None:
    # stderr here is not a terminal: a log or a pipe gets no carriage-return progress lines.
    code, _, err = run(capsys, "matrix", "--jobs", "2", "--presets", "strict", "--scenarios", "none,net-drop")
    assert (code, err) == (1, "")


def test_the_default_text_table_fits_100_columns_and_explains_its_labels(capsys: pytest.CaptureFixture[str]) -> None:
    # The longest preset and single-fault names; the bound keeps it quick (cells marked `?`).
    argv = ("matrix", "--quiet", "--jobs", "1", "--presets", "async-flush-sync-master", "--scenarios", "master-power-loss")
    _, out, _ = run(capsys, *argv, "--max-states", "20000")
    assert max(len(line) for line in out.splitlines()) <= WIDTH
    header = next(line for line in out.splitlines() if line.startswith("configuration"))
    for label in header.split()[2:-1]:
        assert re.search(rf"^{label} += [A-Za-z]+: ", out, re.MULTILINE), label
    # Longer scenario names fall back to one table per row, still within the width.
    argv = ("matrix", "--quiet", "--jobs", "1", "--presets", "async-flush-sync-master", "--scenarios", "master-disk-loss+slave-power-loss")
    _, out, _ = run(capsys, *argv, "--max-states", "2000")
    assert max(len(line) for line in out.splitlines()) <= WIDTH
    assert "async-flush-sync-master:\n  scenario" in out


def test_help_explains_columns_and_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["matrix", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name, label in ROCKETMQ.labels.items():
        assert f"{label}={name}" in out
    assert "exit status: 0 every property holds in every cell, 1 some cell violates a property, 2 bad input" in out


def test_max_states_makes_cells_incomplete_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("matrix", "--quiet", "--jobs", "1", "--presets", "strict", "--scenarios", "none", "--max-states", "50")
    code, out, _ = run(capsys, *argv)
    assert code == 3
    assert "undecided (a bound stopped the run) under no fault" in out


def test_a_large_scenario_says_so_before_it_starts(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("matrix", "--jobs", "1", "--presets", "oneway", "--scenarios", "any-2", "--max-states", "200")
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert err.startswith("matrix: scenario any-2 is large: about 24,527 thousand states")


def test_a_large_combination_of_two_faults_says_so_too(capsys: pytest.CaptureFixture[str]) -> None:
    """net-dup+master-power-loss has 1.71 million states on strict: no name marks it large, its estimate does."""
    argv = ("matrix", "--jobs", "1", "--presets", "oneway", "--scenarios", "net-dup+master-power-loss,master-crash+net-drop")
    code, _, err = run(capsys, *argv, "--max-states", "200")
    assert code == 1  # oneway loses a message within 200 states
    assert "scenario net-dup+master-power-loss is large" in err
    assert "master-crash+net-drop" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-states", "-1"], "argument --max-states: -1 is negative"),
        (["--jobs", "0"], "argument --jobs: 0 (allowed an integer >= 1)"),
        (["--messages", "x"], "argument --messages: not an integer: 'x'"),
        (["--presets", "nope"], "unknown preset 'nope'"),
        (["--set", "flushDiskType=FAST"], "bad value 'FAST' for flushDiskType"),
    ],
)
def test_bad_matrix_input_is_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = run(capsys, "matrix", "--quiet", *argv)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and message in err


def test_out_is_checked_before_any_work(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for command in ("matrix", "report"):
        code, out, err = run(capsys, command, "--out", str(a_file), "--scenarios", "any-2")
        assert (code, out) == (2, "")
        assert err == f"noloss: error: --out {a_file}: exists and is not a directory\n"
        # Refused for another option, the run leaves no directory behind.
        code, _, err = run(capsys, command, "--out", str(tmp_path / "new" / "site"), "--presets", "nosuch")
        assert code == 2 and "unknown preset 'nosuch'" in err
        assert not (tmp_path / "new").exists()


def test_replay_commands_are_quoted_for_every_shell(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ("matrix", "--quiet", "--jobs", "1", "--presets", "oneway", "--scenarios", "net-drop", "--out", str(tmp_path))
    run(capsys, *argv)
    page = (tmp_path / "counterexamples" / "oneway__net-drop__NoAckedLoss.md").read_text()
    assert "Replay: `noloss check --preset oneway --faults 'net-drop*1' --max-faults 1 --messages 2`" in page


def test_a_stranded_message_is_named_in_the_verdict_line(capsys: pytest.CaptureFixture[str]) -> None:
    # 5.x with inSyncReplicas=2: a master disk loss leaves an acknowledged message only on a slave
    # that serves no pulls. Not lost, yet not safe either: the verdict line must say which.
    argv = ("matrix", "--quiet", "--jobs", "1", "--presets", "rocketmq5-quorum", "--scenarios", "none,master-disk-loss")
    code, out, _ = run(capsys, *argv)
    assert code == 1
    assert " ".join(out.split("\n\n")[0].split()) == (
        "rocketmq5-quorum: STRANDS one (kept only where an operator can recover it) under master-disk-loss;"
        " survives no fault"
    )


@pytest.mark.parametrize(("command", "folder", "page"), [
    ("matrix", "counterexamples", "oneway__net-drop__NoAckedLoss.md"),
    ("report", "counterexamples", "oneway__net-drop__NoAckedLoss.html"),
])
def test_out_keeps_the_users_files_and_drops_stale_pages(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str, folder: str, page: str
) -> None:
    pages = tmp_path / folder
    pages.mkdir()
    mine = pages / "notes.txt"
    mine.write_text("my own notes")
    stale = pages / page.replace("net-drop", "net-dup")
    stale.write_text("from an earlier run")
    run(capsys, command, "--quiet", "--jobs", "1", "--presets", "oneway", "--scenarios", "net-drop", "--out", str(tmp_path))
    assert mine.read_text() == "my own notes"
    assert not stale.exists()
    assert (pages / page).is_file()
