"""Run `noloss` in-process with the trace commands registered (until cli.py registers them)."""

from __future__ import annotations

import argparse

import pytest

from model_check import cli, trace_cmd


_BUILD_PARSER = cli.build_parser


def _parser() -> argparse.ArgumentParser:
    parser = _BUILD_PARSER()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "trace-check" not in subparsers.choices:
        trace_cmd.register(subparsers)
    return parser


def noloss(monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setattr(cli, "build_parser", _parser)
    try:
        return cli.main(list(argv))
    except SystemExit as exit:
        return int(exit.code or 0)
