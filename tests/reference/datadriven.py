"""A small data-driven test format, after etcd-io/raft's testdata (cockroachdb/datadriven).

A file is a sequence of blocks, each a command, a `----` line and the output expected of it,
up to the next blank line or the end of the file. Lines starting with `#` between blocks are
comments:

    # three sends share one fsync
    send id=1
    ----
    master ready:
      append @0 TopicTest#0 key=k1 body=b'm1' (58 bytes)
      flush

A command is a name followed by words, each either `key=value` or a bare flag. The blocks of
one file run in order against one state, so a file reads as a story. `rewrite` puts the
actual outputs in place of the expected ones, leaving everything else as it was, so a change
of behaviour is reviewed as a diff of the file.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SEPARATOR = "----"


class ScriptError(Exception):
    """The file is malformed, or a command is unknown or badly written; names the line."""


@dataclass(frozen=True, slots=True)
class Command:
    """One block's command line: `name key=value flag ...`."""

    text: str
    name: str
    args: dict[str, str]
    flags: frozenset[str]
    where: str
    """file:line, for error messages."""

    def take(self, key: str, default: str | None = None) -> str:
        """The value of `key=`; ScriptError if it is missing and has no default."""
        if key in self.args:
            return self.args[key]
        if default is None:
            raise ScriptError(f"{self.where}: {self.name} needs {key}=")
        return default


@dataclass(slots=True)
class Block:
    """A command, where it is, and the output the file expects of it."""

    command: Command
    expected: list[str]
    actual: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Script:
    """A parsed file: its blocks, and the comment and blank lines around them, in order."""

    path: Path
    parts: list[str | Block]

    @property
    def blocks(self) -> list[Block]:
        return [part for part in self.parts if isinstance(part, Block)]


def parse_command(line: str, where: str) -> Command:
    name, *words = line.split()
    args = dict(word.split("=", 1) for word in words if "=" in word)
    flags = frozenset(word for word in words if "=" not in word)
    return Command(line, name, args, flags, where)


def parse(path: Path) -> Script:
    lines = path.read_text().splitlines()
    parts: list[str | Block] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip() or line.startswith("#"):
            parts.append(line)
            index += 1
            continue
        where = f"{path.name}:{index + 1}"
        if index + 1 >= len(lines) or lines[index + 1] != SEPARATOR:
            raise ScriptError(f"{where}: a command must be followed by a {SEPARATOR!r} line")
        index += 2
        expected: list[str] = []
        while index < len(lines) and lines[index].strip():
            expected.append(lines[index])
            index += 1
        parts.append(Block(parse_command(line, where), expected))
    return Script(path, parts)


def run(script: Script, execute: Callable[[Command], list[str]]) -> list[str]:
    """Run every block in order; return one readable diff per block whose output differs."""
    failures = []
    for block in script.blocks:
        block.actual = [line.rstrip() for line in execute(block.command)] or ["ok"]
        if any(not line.strip() for line in block.actual):
            raise ScriptError(f"{block.command.where}: output has a blank line, which would end the block")
        if block.actual != block.expected:
            diff = difflib.unified_diff(block.expected, block.actual, "expected", "actual", lineterm="")
            failures.append(f"{block.command.where}: {block.command.name}\n" + "\n".join(diff))
    return failures


def rewrite(script: Script) -> None:
    """Write the file back with each block's actual output as its expected one."""
    lines: list[str] = []
    for part in script.parts:
        if isinstance(part, Block):
            lines += [part.command.text, SEPARATOR, *part.actual]
        else:
            lines.append(part)
    script.path.write_text("\n".join(lines) + "\n")
