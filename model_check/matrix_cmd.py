"""`noloss matrix`, `noloss presets`, `noloss scenarios`: the guarantee matrix and its axes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from model_check.matrix import COLUMNS, run_matrix
from model_check.matrix_render import to_json_data_matrix, to_markdown, to_text, write_out
from model_check.scenarios import DEFAULT_SCENARIOS, EXAMPLE_COMBINATIONS, NAMED, scenario
from spec.config import PRESETS, ConfigError, Config
from spec.faults import FaultSpecError


def _names(text: str | None, default: tuple[str, ...]) -> list[str]:
    if text is None:
        return list(default)
    return [name.strip() for name in text.split(",") if name.strip()]


def run_matrix_command(args: argparse.Namespace) -> int:
    import json

    from model_check.cli import UsageError

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"bad value {args.jobs} for --jobs: allowed a positive integer")
    presets = _names(args.presets, tuple(PRESETS))
    scenarios = _names(args.scenarios, DEFAULT_SCENARIOS)
    try:
        Config(messages=args.messages)
        matrix = run_matrix(presets, scenarios, messages=args.messages, jobs=args.jobs, progress=not args.quiet)
    except (ConfigError, FaultSpecError) as error:
        raise UsageError(str(error)) from None
    if args.format == "json":
        print(json.dumps(to_json_data_matrix(matrix), indent=2))
    elif args.format == "markdown":
        print(to_markdown(matrix))
    else:
        print(to_text(matrix))
    if args.out is not None:
        written = write_out(matrix, Path(args.out))
        print(f"wrote {len(written)} files to {args.out}")
    statuses = [v.status for cell in matrix.cells for v in cell.result.verdicts if v.name in COLUMNS]
    if "VIOLATED" in statuses:
        return 1
    return 3 if "incomplete" in statuses else 0


def run_presets(args: argparse.Namespace) -> int:
    defaults = Config().settings()
    for name, config in PRESETS.items():
        changed = {key: value for key, value in config.settings().items() if value != defaults[key]}
        settings = ", ".join(f"{key}={value}" for key, value in changed.items()) or "RocketMQ's shipped defaults"
        print(f"{name:<24} {settings}")
    return 0


def run_scenarios(args: argparse.Namespace) -> int:
    for name, meaning in NAMED.items():
        scenario(name)
        default = "  (default)" if name in DEFAULT_SCENARIOS else ""
        print(f"{name:<20} {meaning}{default}")
    print(f"{'A+B':<20} each named fault once, e.g. {', '.join(EXAMPLE_COMBINATIONS)}")
    return 0


def register(subparsers: "argparse._SubParsersAction[Any]") -> None:
    parser = subparsers.add_parser("matrix", help="the guarantee matrix: presets × fault scenarios")
    parser.add_argument("--presets", default=None, metavar="A,B,...", help="default: every preset")
    parser.add_argument("--scenarios", default=None, metavar="X,Y,...", help="default: none and each single fault")
    parser.add_argument("--messages", type=int, default=2, help="distinct messages per run (default 2)")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.add_argument("--out", default=None, metavar="DIR", help="write matrix.json, matrix.md, counterexamples")
    parser.add_argument("--jobs", type=int, default=None, help="parallel processes (default: every core)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(run=run_matrix_command)
    subparsers.add_parser("presets", help="list the presets and their settings").set_defaults(run=run_presets)
    subparsers.add_parser("scenarios", help="list the fault scenarios").set_defaults(run=run_scenarios)
