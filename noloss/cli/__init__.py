"""The `noloss` command line: one subcommand per job.

Exit status: 0 every checked property holds, 1 a property is violated, 2 bad input,
3 the run hit its state/depth bound before finishing (incomplete, not a proof), 4 a broker
could not be reached, 130 interrupted (Ctrl-C). Nothing a user can do prints a traceback.
Each subcommand module registers itself with `register(subparsers)` and sets
`run=<callable(args) -> int>` on its parser.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from noloss import __version__
from noloss.cli import broker, check, conform, matrix, trace
from noloss.cli.errors import EXIT_BAD_INPUT, EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, UsageError, printable


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage already; keep its message to one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"noloss: error: {printable(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="noloss", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"noloss {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    check.register(subparsers)
    matrix.register(subparsers)
    trace.register(subparsers)
    broker.register(subparsers)
    conform.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except UsageError as error:
        print(f"noloss: error: {printable(str(error))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("noloss: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`noloss check | head`): stop quietly, as shell tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code
