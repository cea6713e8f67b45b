"""CrossHair checks the contracts (PEP 316 docstrings) of spec/ and reference/; breaking one is caught.

The full check runs in .ci/run (see CROSSHAIR below); here each test breaks one contract in a
copy of a module and asserts that `crosshair check` finds the counterexample.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Each case starts a CrossHair process and searches for seconds: the slow tier.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CROSSHAIR = [sys.executable, "-m", "crosshair", "check", "--analysis_kind=PEP316", "--per_condition_timeout=3"]
"""The command .ci/run uses, followed by the checked files (CONTRACT_FILES)."""
CONTRACT_FILES = ("noloss/spec/rocketmq/status.py", "noloss/spec/rocketmq/actions.py", "noloss/reference/core_master.py", "noloss/conformance/rocketmq/abstraction.py")


def crosshair(target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CROSSHAIR, target], capture_output=True, text=True, cwd=ROOT, timeout=120)


def function_target(path: Path, function: str) -> str:
    """`FILE:LINE` of `def function`: CrossHair checks that function alone."""
    lines = path.read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.startswith(f"def {function}("))
    return f"{path}:{number}"


def mutant(tmp_path: Path, source: str, old: str, new: str) -> Path:
    text = (ROOT / source).read_text()
    assert old in text, f"{source} no longer contains the line this test breaks"
    path = tmp_path / f"mutant_{Path(source).name}"
    path.write_text(text.replace(old, new))
    return path


def test_the_intact_status_contract_holds() -> None:
    result = crosshair(function_target(ROOT / "spec/rocketmq/status.py", "send_status"))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("source", "old", "new", "function"),
    [
        # Status precedence in the spec: a flush failure wrongly overrides a replication failure.
        (
            "spec/rocketmq/status.py",
            "    if replication == TIMED_OUT:\n",
            "    if flush == TIMED_OUT:\n        return FLUSH_DISK_TIMEOUT\n    if replication == TIMED_OUT:\n",
            "send_status",
        ),
        # The same mistake in the reference master.
        (
            "reference/core_master.py",
            "    return replica_status if replica_status != m.SendStatus.SEND_OK else flush_status\n",
            "    return flush_status if flush_status != m.SendStatus.SEND_OK else replica_status\n",
            "reply_status",
        ),
        # Offset arithmetic: a commit that lands on the message instead of past it.
        (
            "spec/rocketmq/actions.py",
            "    return offsets[:queue] + (offset + 1,) + offsets[queue + 1 :]\n",
            "    return offsets[:queue] + (offset,) + offsets[queue + 1 :]\n",
            "committed_past",
        ),
        # Recovery truncation: a torn last record counted as on disk.
        (
            "conformance/rocketmq/abstraction.py",
            "        if end > durable:\n",
            "        if end > durable + 1:\n",
            "records_on_disk",
        ),
    ],
)
def test_a_broken_contract_is_caught(tmp_path: Path, source: str, old: str, new: str, function: str) -> None:
    result = crosshair(function_target(mutant(tmp_path, source, old, new), function))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"when calling {function}(" in result.stdout, result.stdout
