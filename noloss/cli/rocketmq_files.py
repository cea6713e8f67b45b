"""RocketMQ's configuration files as the command line meets them: opened here, parsed by the
spec (spec/rocketmq/conf_files.py, which is pure), and their summary made safe to print."""

from __future__ import annotations

from collections.abc import Sequence

from noloss.cli.errors import printable
from noloss.spec.rocketmq.conf_files import OPTION, ConfFile, ConfFileError, Reading, parse_file, summary_lines


def read_file(kind: str, path: str) -> ConfFile:
    """The one I/O of a configuration file: read `path` whole; a missing or unreadable one is one line."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise ConfFileError(f"{OPTION[kind]} {path}: cannot read: {error.strerror or error}") from None
    return parse_file(kind, path, data)


def printable_summary(reading: Reading, notes: Sequence[str]) -> list[str]:
    """`summary_lines` with every control character a file brought escaped."""
    return [printable(line) for line in summary_lines(reading, notes)]
