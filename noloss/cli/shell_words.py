"""A command line as text that every POSIX shell, and zsh, reads back as the same words.

Replay commands in counterexample reports (and the restart line `noloss cluster` prints) are
meant to be pasted. `shlex.join` quotes for POSIX sh and bash, but leaves a word such as
`=x.conf` bare, and zsh expands a leading `=` to a command's path (`zsh: x.conf not found`);
`*` and `[` it already quotes, which zsh would glob.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence


def quote(word: str) -> str:
    """`word` quoted for sh, bash and zsh."""
    quoted = shlex.quote(word)
    return f"'{quoted}'" if quoted.startswith("=") else quoted


def join(argv: Sequence[str]) -> str:
    """The words of `argv` as one command line for sh, bash and zsh."""
    return " ".join(quote(word) for word in argv)
