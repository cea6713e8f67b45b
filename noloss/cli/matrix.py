"""`noloss matrix`, `noloss report`, `noloss presets`, `noloss scenarios`: the guarantee matrix,
its static site, and its axes.

Exit status of `matrix` and `report`: 0 every property holds in every cell, 1 some cell
violates a property, 2 bad input, 3 no violation but some cell was stopped by --max-states
(incomplete), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from noloss.cli.check import add_model_arguments, add_protocol_argument, protocol_of, size_setting
from noloss.cli.errors import EXIT_INCOMPLETE, EXIT_OK, EXIT_VIOLATED, UsageError, name_list, positive
from noloss.cli.matrix_render import to_json_data_matrix, to_markdown, to_text, verdict_lines, verdicts, write_out
from noloss.cli.rows import Row, rows_from
from noloss.cli.user_paths import checked_out_dir
from noloss.model_check.faults import FaultSpecError
from noloss.model_check.matrix import LARGE, Matrix, expected_size, run_matrix
from noloss.model_check.protocol import Protocol
from noloss.spec.rocketmq.config import Config
from noloss.spec.rocketmq.protocol import ROCKETMQ

EXIT_STATUS = (
    "exit status: 0 every property holds in every cell, 1 some cell violates a property, 2 bad input, "
    "3 no violation but --max-states stopped some cell (incomplete), 130 interrupted"
)
COLUMNS_HELP = (
    "columns (rocketmq): " + ", ".join(f"{ROCKETMQ.labels[name]}={name}" for name in ROCKETMQ.columns)
    + " (the output's legend says what each means); marks: ok holds, X(n) violated with an n-step "
    "counterexample, ? incomplete"
)


def _warn_large(protocol: Protocol, scenarios: list[str], max_states: int | None, quiet: bool) -> None:
    for name in scenarios:
        size = expected_size(protocol, name)
        if size >= LARGE and not quiet:
            bound = f" (--max-states {max_states:,} bounds each cell)" if max_states else "; --max-states bounds it"
            print(
                f"matrix: scenario {name} is large: about {size:,} thousand states per row on strict, "
                f"minutes to hours{bound}",
                file=sys.stderr,
            )


def compute(args: argparse.Namespace) -> tuple[list[Row], Matrix]:
    """The rows the options name, and their matrix; UsageError before any work on bad input."""
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"bad value {args.jobs} for --jobs: allowed a positive integer")
    protocol = protocol_of(args)
    rows = rows_from(args)
    faults = protocol.faults
    scenarios = list(faults.default_scenarios()) if args.scenarios is None else name_list("--scenarios", args.scenarios)
    messages = args.messages if args.messages is not None else Config().messages
    try:
        for name in scenarios:
            faults.scenario(name)
        if protocol.size_knob is not None or args.messages is not None:
            protocol.configure(protocol.preset(protocol.default_preset), size_setting(protocol, messages))
    except (ValueError, FaultSpecError) as error:
        raise UsageError(str(error)) from None
    _warn_large(protocol, scenarios, args.max_states, args.quiet)
    matrix = run_matrix(
        protocol,
        [row.label for row in rows],
        scenarios,
        messages=messages,
        jobs=args.jobs,
        progress=not args.quiet,
        own={row.label: row.config for row in rows},
        max_states=args.max_states,
    )
    return rows, matrix


def exit_status(matrix: Matrix) -> int:
    statuses = [v.status for cell in matrix.cells for v in cell.result.verdicts if v.name in matrix.protocol.columns]
    if "VIOLATED" in statuses:
        return EXIT_VIOLATED
    return EXIT_INCOMPLETE if "incomplete" in statuses else EXIT_OK


def run_matrix_command(args: argparse.Namespace) -> int:
    out = checked_out_dir(args.out)
    rows, matrix = compute(args)
    if args.format == "json":
        data = to_json_data_matrix(matrix)
        data["verdicts"] = verdicts(matrix)
        print(json.dumps(data, indent=2))
    elif args.format == "markdown":
        print(to_markdown(matrix))
    else:
        print(to_text(matrix, [line for row in rows for line in row.summary]))
    if out is not None:
        written = write_out(matrix, out, options={row.label: row.options for row in rows})
        print(f"wrote {len(written)} files to {args.out}", file=sys.stderr)
    return exit_status(matrix)


def run_report(args: argparse.Namespace) -> int:
    from noloss.cli.report_site import write_site

    out = checked_out_dir(args.out)
    assert out is not None
    rows, matrix = compute(args)
    for line in verdict_lines(matrix):
        print(line)
    written = write_site(matrix, rows, out)
    print(f"wrote {len(written)} files; open {out / 'index.html'}")
    return exit_status(matrix)


def run_presets(args: argparse.Namespace) -> int:
    """Each preset: for RocketMQ, the release it describes and what it sets beyond that release's
    defaults; for another protocol, its settings."""
    protocol = protocol_of(args)
    if protocol is not ROCKETMQ:
        for name, config in protocol.presets.items():
            settings = ", ".join(f"{key}={value}" for key, value in protocol.settings(config).items())
            print(f"{name:<24} {settings}")
        return 0
    for name, config in ROCKETMQ.presets.items():
        defaults = Config(rocketmqVersion=config.rocketmqVersion).settings()
        changed = {key: value for key, value in config.settings().items() if value != defaults[key]}
        settings = ", ".join(f"{key}={value}" for key, value in changed.items()) or "its shipped defaults"
        print(f"{name:<24} RocketMQ {config.rocketmqVersion:<6} {settings}")
    return 0


def run_scenarios(args: argparse.Namespace) -> int:
    faults = protocol_of(args).faults
    defaults = faults.default_scenarios()
    for name, meaning in faults.named_scenarios().items():
        faults.scenario(name)
        default = "  (default)" if name in defaults else ""
        print(f"{name:<20} {meaning}{default}")
    print(f"{'A+B':<20} each named fault once, e.g. {', '.join(faults.example_combinations())}")
    return 0


def _add_matrix_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument(
        "--presets",
        default=None,
        metavar="A,B,...",
        help="preset rows (default: every preset, or none when files or --set give your own configuration)",
    )
    parser.add_argument("--scenarios", default=None, metavar="X,Y,...", help="default: none and each single fault")
    parser.add_argument("--max-states", type=positive, default=None, help="bound each cell (incomplete when hit)")
    parser.add_argument("--jobs", type=positive, default=None, help="parallel processes (default: every core)")
    parser.add_argument("--quiet", action="store_true", help="no progress (drawn on a terminal only) and no size warning on stderr")


def register(subparsers: "argparse._SubParsersAction[Any]") -> None:
    description = (
        "The guarantee matrix: each configuration (your files and --set, or the presets) under each fault "
        "scenario. Prints one verdict line per configuration first, then a table."
    )
    parser = subparsers.add_parser(
        "matrix",
        help="the guarantee matrix: your configuration or the presets × fault scenarios",
        description=description,
        epilog=f"{COLUMNS_HELP}. {EXIT_STATUS}.",
    )
    _add_matrix_arguments(parser)
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.add_argument("--out", default=None, metavar="DIR", help="write matrix.json, matrix.md, counterexamples")
    parser.set_defaults(run=run_matrix_command)
    report = subparsers.add_parser(
        "report",
        help="the matrix as a static site: coloured grid, a page per counterexample with its diagram",
        description="Write the matrix as a static site that works offline (open DIR/index.html).",
        epilog=f"{EXIT_STATUS}.",
    )
    _add_matrix_arguments(report)
    report.add_argument("--out", required=True, metavar="DIR", help="the site's directory (made if missing)")
    report.set_defaults(run=run_report)
    presets = subparsers.add_parser("presets", help="list the presets and their settings")
    add_protocol_argument(presets)
    presets.set_defaults(run=run_presets)
    scenarios = subparsers.add_parser("scenarios", help="list the fault scenarios")
    add_protocol_argument(scenarios)
    scenarios.set_defaults(run=run_scenarios)
