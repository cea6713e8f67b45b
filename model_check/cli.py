"""The `noloss` command line: one subcommand per job, exit codes as DESIGN.md fixes them.

Exit status: 0 every checked property holds, 1 a property is violated, 2 bad input,
3 the run hit its state/depth bound before finishing (incomplete, not a proof).
Each subcommand module registers itself with `register(subparsers)` and sets
`run=<callable(args) -> int>` on its parser.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import reference.cli
from model_check import check_cmd, matrix_cmd, trace_cmd


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit status 2."""


EXIT_OK = 0
EXIT_VIOLATED = 1
EXIT_BAD_INPUT = 2
EXIT_INCOMPLETE = 3
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a killed pipeline writer


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage already; keep its message to one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"noloss: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="noloss", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    check_cmd.register(subparsers)
    matrix_cmd.register(subparsers)
    trace_cmd.register(subparsers)
    reference.cli.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except UsageError as error:
        print(f"noloss: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader went away (`noloss check | head`): stop quietly, as shell tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code


if __name__ == "__main__":
    sys.exit(main())
