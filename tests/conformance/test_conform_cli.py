"""`noloss conform` on the command line: bad input is one line and exit 2; a short run
prints its progress on stderr and the table on stdout."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from noloss.cli import main
from noloss.cli.conform import claimed_name
from noloss.spec.rocketmq.config import preset


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--faults", "master-crash,meteor"], "--faults: unknown fault 'meteor'"),
        (["--faults", "kill"], "--faults: 'kill' is now 'master-crash', the name `noloss check` uses"),
        (["--faults", "master-crash,disk-loss"], "--faults: 'disk-loss' is now 'slave-disk-loss', the name `noloss check` uses"),
        (["--duration", "soon"], "not a duration: 'soon'"),
        (["--producers", "0"], "argument --producers: 0 (allowed an integer >= 1)"),
        (["--set", "inSyncReplicas=3"], "bad value 3 for inSyncReplicas"),
        (["--set", "sendMode=oneway"], "sendMode=oneway: the conformance workload"),
        (["--set", "flushDiskType=SOMETIMES"], "bad value 'SOMETIMES' for flushDiskType"),
        (["--messages", "3"], "--messages: conform checks each message on its own"),
        (["--preset", "nope"], "unknown preset 'nope'"),
        (["--process-time", "0ms"], "not a duration: '0ms'"),
        (["--target", "nats", "--preset", "rocketmq-default", "--replication-delay", "300ms"], "the nats target runs one node: there is no replication link"),
        (["--target", "nats", "--preset", "rocketmq-default", "--fsync-delay", "1ms"], "--fsync-delay: only the reference target"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = exit_code(["conform", "--target", "reference", "--preset", "strict", "--out", str(tmp_path), *argv])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == "" and len(err.strip().splitlines()) == 1 and message in err, err


def exit_code(argv: list[str]) -> int | str | None:
    """main's status, or argparse's when it rejects an option's value."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


@pytest.mark.slow
def test_a_short_run_prints_a_row_per_fault_kind_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["conform", "--target", "reference", "--preset", "sync-flush-async-master", "--faults", "slave-crash", "--duration", "3s", "--producers", "2", "--interval", "1s", "--out", str(tmp_path)]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, out
    header, row = out.strip().splitlines()
    assert header.split()[:5] == ["fault", "faults", "sent", "acknowledged", "lost"]
    cells = row.split()
    assert cells[0] == "slave-crash" and int(cells[1]) >= 1 and int(cells[4]) == 0
    assert "behaviour of sync-flush-async-master" in row
    assert "conform slave-crash:" in err


def test_the_claim_names_the_preset_and_every_knob_changed_from_it() -> None:
    strict = preset("strict")
    assert claimed_name("strict", strict) == "strict"
    changed = dataclasses.replace(strict, rocketmqVersion="5.3", inSyncReplicas=2)
    assert claimed_name("strict", changed) == "strict with inSyncReplicas=2, rocketmqVersion=5.3"
