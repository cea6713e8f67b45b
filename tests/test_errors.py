"""Errors a script can rely on: one line, the right exit status, no traceback, nothing raw
echoed to the terminal."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from noloss.cli import main
from tests.cli_run import run

VALID_TRACE = Path(__file__).resolve().parent / "mbt" / "traces" / "valid-default.ndjson"


def one_line_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, ""), err
    assert err.count("\n") == 1 and err.startswith("noloss: error: ") and "Traceback" not in err
    return err.removeprefix("noloss: error: ").rstrip("\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "--max-depth", "-5"], "argument --max-depth: -5 is negative (allowed an integer >= 0)"),
        (["check", "--max-states", "0"], "argument --max-states: 0 (allowed an integer >= 1)"),
        (["check", "--max-faults", "-1"], "argument --max-faults: -1 is negative"),
        (["sim-trace", "--steps", "-1"], "argument --steps: -1 is negative"),
        (["check", "--out", "x"], "--out DIR goes with --format mermaid"),
        (["consume", "--broker", "127.0.0.1:1", "--idle", "-1"], "argument --idle: -1 is not a finite number >= 0"),
        (["consume", "--broker", "127.0.0.1:1", "--idle", "nan"], "argument --idle: nan is not a finite number >= 0"),
        (["broker", "--role", "SLAVE", "--flush", "SYNC_FLUSH", "--data-dir", "d", "--port", "0", "--checkpoint-interval-ms", "-5"],
         "argument --checkpoint-interval-ms: -5 is negative"),
        # A list that names nothing would be an empty run (it was a traceback, exit 1).
        (["matrix", "--scenarios", ""], "--scenarios '': names nothing"),
        (["matrix", "--scenarios", ","], "--scenarios ',': names nothing"),
        (["matrix", "--presets", " , "], "--presets ' , ': names nothing"),
        (["check", "--properties", ","], "--properties ',': names nothing"),
    ],
)
def test_negative_and_misplaced_bounds_are_bad_input(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert message in one_line_error(capsys, *argv)


def test_a_binary_or_non_utf8_trace_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    binary = tmp_path / "trace.bin"
    binary.write_bytes(b'{"event": "send"}\n\x7fELF\x00\x01')
    assert one_line_error(capsys, "trace-check", str(binary)) == f"{binary}: a binary file (NUL byte at offset 22), not text"
    latin = tmp_path / "trace.txt"
    latin.write_bytes(b'{"event": "s\xe9nd"}\n')
    assert one_line_error(capsys, "trace-check", str(latin)) == f"{latin}: not UTF-8 text (byte offset 12)"


def test_trace_check_reads_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(VALID_TRACE.read_bytes())))
    code, out, _ = run(capsys, "trace-check", "-")
    assert code == 0 and out.startswith("-: ") and "a behaviour of the spec" in out


def test_conf_with_a_utf8_bom_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    conf = tmp_path / "broker.conf"
    conf.write_bytes(b"\xef\xbb\xbfflushDiskType=SYNC_FLUSH\n")
    message = one_line_error(capsys, "check", "--broker-conf", str(conf))
    assert message == (
        f"{conf}:1: starts with a UTF-8 byte order mark (EF BB BF): RocketMQ reads the file as ISO-8859-1, "
        "so its first line starts with three stray characters (\u00ef\u00bb\u00bf) and its key flushDiskType is ignored "
        "(flushDiskType keeps its default); "
        "save the file without the BOM"
    )
    conf.write_bytes(b"\xef\xbb\xbf# broker-a\nflushDiskType=SYNC_FLUSH\n")
    message = one_line_error(capsys, "check", "--broker-conf", str(conf))
    assert "so its first line starts with three stray characters (harmless to this comment" in message


def test_a_binary_conf_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    conf = tmp_path / "broker.conf"
    conf.write_bytes(b"flushDiskType=SYNC_FLUSH\n\x00\x01\x02")
    message = one_line_error(capsys, "check", "--broker-conf", str(conf))
    assert message == f"--broker-conf {conf}: a binary file (NUL byte at offset 25), not key=value text"


def test_a_conf_typo_is_exit_2_unless_allowed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    conf = tmp_path / "broker.conf"
    conf.write_text("brokerRole=SYNC_MASTER\nflushDiskTyp=SYNC_FLUSH\n")
    message = one_line_error(capsys, "check", "--broker-conf", str(conf), "--faults", "none")
    assert message.startswith(f"{conf}:2: flushDiskTyp: unknown key, one edit from flushDiskType, which changes the model")
    code, out, _ = run(capsys, "check", "--broker-conf", str(conf), "--faults", "none", "--quiet", "--allow-unknown-keys")
    assert code in (0, 1) and "flushDiskTyp (did you mean flushDiskType?)" in out


def test_control_bytes_are_never_echoed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    conf = tmp_path / "broker.conf"
    conf.write_bytes(b"\x1b]0;owned\x07title=1\nflushDiskType=\x1b[2JSYNC\n")
    message = one_line_error(capsys, "check", "--broker-conf", str(conf))
    assert "\x1b" not in message and "\\x1b[2JSYNC" in message
    conf.write_bytes(b"\x1b]0;owned\x07title=1\n")
    code, out, err = run(capsys, "check", "--broker-conf", str(conf), "--faults", "none", "--quiet")
    assert "\x1b" not in out + err and "\\x1b]0;owned\\x07title" in out
    _, _, err = run(capsys, "check", "--preset", "\x1b[31mred")
    assert "\x1b" not in err and "\\x1b[31mred" in err


def test_mermaid_diagrams_are_separated_or_one_per_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ("check", "--preset", "oneway", "--faults", "net-drop", "--quiet", "--format", "mermaid")
    code, out, _ = run(capsys, *argv)
    assert code == 1
    blocks = out.split("\n\n")
    assert [block.splitlines()[0] for block in blocks] == [
        "%% ---- diagram 1 of 3: NoAckedLoss ----",
        "%% ---- diagram 2 of 3: NoAckedStranded ----",
        "%% ---- diagram 3 of 3: AckedEventuallyConsumed ----",
    ]
    assert all(block.splitlines()[1] == "sequenceDiagram" for block in blocks)
    code, out, _ = run(capsys, *argv, "--out", str(tmp_path))
    assert code == 1 and out.split() == [
        str(tmp_path / f"{name}.mmd") for name in ("NoAckedLoss", "NoAckedStranded", "AckedEventuallyConsumed")
    ]
    assert (tmp_path / "NoAckedLoss.mmd").read_text().startswith("sequenceDiagram\n")


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def test_ctrl_c_stops_the_matrix_with_130_and_no_workers_left(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "noloss", "matrix", "--jobs", "2", "--presets", "strict", "--scenarios", "any-1,both-power-loss"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = _children(process.pid)
        assert len(workers) >= 2, "the pool did not start"
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert "Traceback" not in err and err.rstrip().endswith("noloss: interrupted")
    time.sleep(0.5)
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]]
    assert alive == []
