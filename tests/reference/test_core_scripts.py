"""The broker cores' interaction scripts (tests/reference/testdata/*.txt), as etcd-io/raft's:
each block's command steps a simulated master/slave pair, and its output (every Ready batch
the cores emitted, core_script.py) must be the one the file holds.

`NOLOSS_REWRITE=1 pytest tests/reference/test_core_scripts.py` writes the actual outputs into
the files instead of failing, so that a change of behaviour is reviewed as their diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from core_script import CoreScript
from datadriven import parse, rewrite, run

TESTDATA = Path(__file__).parent / "testdata"
SCRIPTS = sorted(TESTDATA.glob("*.txt"))


def test_there_are_scripts() -> None:
    assert len(SCRIPTS) >= 4


@pytest.mark.parametrize("path", SCRIPTS, ids=[path.stem for path in SCRIPTS])
def test_core_script(path: Path) -> None:
    script = parse(path)
    failures = run(script, CoreScript().execute)
    if os.environ.get("NOLOSS_REWRITE") == "1":
        rewrite(script)
        return
    if failures:
        pytest.fail(f"{path.name}: output differs (NOLOSS_REWRITE=1 to accept it):\n\n" + "\n\n".join(failures), pytrace=False)
