"""The data-driven format the core scripts are written in (datadriven.py): a differing block is
reported with its line and a diff, and a rewrite changes only the outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from datadriven import Command, ScriptError, parse, rewrite, run

SCRIPT = """# a comment stays
echo a b
----
a b

echo nothing
----
stale line
"""


def echo(command: Command) -> list[str]:
    words = command.text.split()[1:]
    return [" ".join(words)] if words != ["nothing"] else []


def test_a_differing_block_is_reported_and_a_rewrite_fixes_only_it(tmp_path: Path) -> None:
    path = tmp_path / "script.txt"
    path.write_text(SCRIPT)
    failures = run(parse(path), echo)
    assert len(failures) == 1 and failures[0].startswith("script.txt:6: echo\n--- expected\n+++ actual")
    assert "-stale line\n+ok" in failures[0]
    script = parse(path)
    run(script, echo)
    rewrite(script)
    assert path.read_text() == SCRIPT.replace("stale line", "ok")
    assert run(parse(path), echo) == []


def test_a_command_without_its_separator_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("echo a\na\n")
    with pytest.raises(ScriptError, match="bad.txt:1: a command must be followed by a '----' line"):
        parse(path)
