"""docs/brokers.md's results table is regenerated whenever what produced it changes: the
block records a digest of its inputs (the matrix and the adapters' sources)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _script() -> object:
    spec = importlib.util.spec_from_file_location("broker_results", REPO / "benchmarks" / "broker_results.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["broker_results"] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def test_the_results_table_is_from_the_current_adapters() -> None:
    script = _script()
    page = (REPO / "docs" / "brokers.md").read_text()
    recorded = re.search(r"<!-- inputs: ([0-9a-f]+) -->", page)
    assert recorded is not None, "docs/brokers.md has no results block: run benchmarks/broker_results.py"
    assert recorded.group(1) == script.inputs_digest(), "the adapters or the matrix changed: run benchmarks/broker_results.py"  # type: ignore[attr-defined]


def test_every_matrix_row_is_in_the_table() -> None:
    script = _script()
    page = (REPO / "docs" / "brokers.md").read_text()
    for cell in script.MATRIX:  # type: ignore[attr-defined]
        for kind in cell.faults:
            assert f"| {cell.broker} | {cell.configuration} | {cell.claimed} | {kind} |" in page, (cell.configuration, kind)
