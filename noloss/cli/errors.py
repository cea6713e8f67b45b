"""What every subcommand shares: the bad-input error, the exit statuses, argument types.

Exit status: 0 every checked property holds, 1 a property is violated, 2 bad input,
3 the run hit its state/depth bound before finishing (incomplete, not a proof), 4 a broker
could not be reached or did not answer, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import math


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit status 2."""


EXIT_OK = 0
EXIT_VIOLATED = 1
EXIT_BAD_INPUT = 2
EXIT_INCOMPLETE = 3
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a killed pipeline writer
EXIT_UNAVAILABLE = 4  # a broker could not be reached, or a send got no reply
EXIT_INTERRUPTED = 130  # 128 + SIGINT


def printable(text: str) -> str:
    """`text` with every control character escaped (`\\x1b`): user input echoed in a message must
    not move the cursor, ring the bell or rewrite the terminal's title."""
    return "".join(char if char.isprintable() or char == " " else repr(char)[1:-1] for char in text)


def name_list(option: str, text: str) -> list[str]:
    """The names of a comma-separated option (`--scenarios none,net-drop`); UsageError when it
    names none (`--scenarios ""`, `--presets ,`), which would otherwise be an empty run."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UsageError(f"{option} {printable(text)!r}: names nothing (allowed a comma-separated list of names)")
    return names


def non_negative(text: str) -> int:
    """An argparse type: an integer >= 0 (a negative bound is bad input, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {printable(text)!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative (allowed an integer >= 0)")
    return value


def non_negative_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds >= 0 (`nan`, `inf` and negatives are bad input)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {printable(text)!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{printable(text)} is not a finite number >= 0")
    return value


def positive(text: str) -> int:
    """An argparse type: an integer >= 1."""
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("0 (allowed an integer >= 1)")
    return value
