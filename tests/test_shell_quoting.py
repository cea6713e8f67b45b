"""Replay commands are pasted into a shell: sh, bash and zsh must each read them back as the
words noloss meant (zsh globs `*` and expands a leading `=`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from noloss.cli import shell_words
from tests.cli_run import run

SHELLS = ("sh", "bash", "zsh")
# Words a shell would otherwise expand, split or cut: globs, `=cmd` (zsh), variables, history,
# quotes, comments, braces, a tilde, whitespace, non-ASCII.
AWKWARD = ["=x.conf", "master-crash*1", "a b", "$HOME", "!x", "it's", '"q"', "#c", "x#y", "{a,b}", "[ab]", "~", "~x", "a\tb", "a\nb", "é", "%1", "^x", "", "-x", "a=b"]


def words_in(shell: str, command: str) -> list[str]:
    """The words `shell` passes to `noloss` when it runs `command` (noloss replaced by a printer)."""
    path = shutil.which(shell)
    assert path is not None, f"{shell} is not installed: run scripts/setup-tests"
    script = "noloss() { printf '%s\\0' \"$@\"; }\n" + command
    done = subprocess.run([path, "-c", script], capture_output=True, timeout=30, env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    assert done.returncode == 0, (shell, done.stderr)
    return done.stdout.decode().split("\0")[:-1]


@pytest.mark.parametrize("shell", SHELLS)
def test_every_shell_reads_the_words_back(shell: str) -> None:
    assert words_in(shell, shell_words.join(["noloss", *AWKWARD])) == AWKWARD


def test_a_replay_command_from_an_awkward_path_reaches_noloss_intact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file named as the user named it, relative to where they ran noloss: `=` leads the word.
    folder = tmp_path / "my conf $HOME 'q' !x *"
    folder.mkdir()
    monkeypatch.chdir(folder)
    conf = "=broker.properties"
    Path(conf).write_text("brokerRole=ASYNC_MASTER\n")
    argv = ("matrix", "--quiet", "--jobs", "1", "--preset", "oneway", "--scenarios", "net-drop", "--broker-conf", conf)
    assert run(capsys, *argv, "--out", str(tmp_path / "out"))[0] == 1
    page = (tmp_path / "out" / "counterexamples" / "your-config__net-drop__NoAckedLoss.md").read_text()
    replay = next(line for line in page.splitlines() if line.startswith("Replay: ")).removeprefix("Replay: ").strip("`")
    expected = ["check", "--preset", "oneway", "--broker-conf", conf, "--faults", "net-drop*1", "--max-faults", "1", "--messages", "2"]
    for shell in SHELLS:
        assert words_in(shell, replay) == expected, shell
