"""`noloss conform`: run a broker's real processes under real faults and judge what the
clients saw, by Jepsen's counts and by trace-check against the claimed preset.

One run per fault kind named in --faults; each prints a progress line on stderr, then the
table comes on stdout. Exit status: 0 nothing acknowledged was lost and every history is a
behaviour of the claimed preset, 1 otherwise, 2 bad input.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from noloss.cli.check import add_model_arguments, config_from
from noloss.cli.errors import EXIT_OK, EXIT_VIOLATED, UsageError, positive
from noloss.conformance.targets.kind import TargetKind, TargetOptions
from noloss.conformance.targets.registry import TARGETS
from noloss.spec.rocketmq.config import Config, preset

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)?$")


def register(subparsers: "argparse._SubParsersAction[Any]") -> None:
    conform = subparsers.add_parser("conform", help="test a broker's real processes against the spec under real faults")
    conform.add_argument("--target", required=True, choices=tuple(TARGETS))
    add_model_arguments(conform)
    conform.add_argument(
        "--faults",
        default="master-crash",
        help="fault kinds, one run each, by the names `noloss check` uses: master-crash,master-power-loss,... "
        "and failover (see `noloss scenarios` and docs/conform.md)",
    )
    conform.add_argument("--duration", type=_duration, default=60.0, help="how long each run sends (30s, 2m; default 60s)")
    conform.add_argument("--producers", type=positive, default=8)
    conform.add_argument("--max-messages", type=positive, default=1_000_000, help="stop sending after this many")
    conform.add_argument("--interval", type=_duration, default=2.0, help="time between two faults (default 2s)")
    conform.add_argument("--replication-delay", type=_duration, default=0.0, help="hold each push from master to slave this long (a slow replication link; 300ms)")
    conform.add_argument("--fsync-delay", type=_duration, default=0.0, help=f"under power loss, each fsync takes this much longer than the disk's (a slower disk; 1ms; {_names_of(lambda kind: kind.accepts_fsync_delay)} target only)")
    conform.add_argument("--process-time", type=_duration, default=0.0, help="how long the consumer's business step takes per message (a lagging consumer; 2ms)")
    conform.add_argument("--out", required=True, help="directory for the runs; a failing run's history stays here")
    conform.set_defaults(run=run_conform)


def _names_of(holds: Callable[[type[TargetKind]], bool]) -> str:
    """The targets of which `holds` holds, by name: a help text's "reference target only"."""
    return ", ".join(name for name, kind in TARGETS.items() if holds(kind))


def _duration(text: str) -> float:
    match = _DURATION.match(text.strip())
    if match is None or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 500ms, 60s, 2m)")
    return float(match.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[match.group(2)]


def claimed_name(name: str, config: Config) -> str:
    """What the target claims, for the report: the preset, and each knob the files or --set
    changed from it (`sync-flush-async-master with rocketmqVersion=5.3`)."""
    base = preset(name).settings()
    changed = [f"{knob}={value}" for knob, value in config.settings().items() if base[knob] != value]
    return f"{name} with {', '.join(changed)}" if changed else name


def run_conform(args: argparse.Namespace) -> int:
    from noloss.conformance.faults import parse_faults
    from noloss.conformance.inject.net import proxies
    from noloss.conformance.report import first_unexplained, table
    from noloss.conformance.run import RunResult, RunSpec, run
    from noloss.conformance.rocketmq.rules import ROCKETMQ_RULES
    from noloss.spec.rocketmq.config import ConfigError

    if args.messages is not None:
        raise UsageError("--messages: conform checks each message on its own; bound the workload with --max-messages")
    config = config_from(args)
    kind = TARGETS[args.target]
    options = TargetOptions(fsync_delay_s=args.fsync_delay, replication_delay_s=args.replication_delay)
    try:
        faults = parse_faults(args.faults, ROCKETMQ_RULES.faults, ROCKETMQ_RULES.renamed)
        kind.check(config, options)
    except (ValueError, ConfigError) as error:
        raise UsageError(str(error)) from None
    results = []
    # Made once every option is checked: a refused run leaves no empty directory behind.
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--out {args.out}: {error.strerror}") from None
    for fault in faults:
        refusal = kind.fault_refusal(fault)
        if refusal is not None:
            results.append(RunResult(fault, None, None, None, refusal))
            print(f"noloss conform: {fault}: {refusal}; running the other faults", file=sys.stderr)
            continue
        spec = RunSpec(claimed_name(args.preset, config), config, (fault,), args.producers, args.max_messages, args.duration, args.interval, replication_delay_s=args.replication_delay, process_s=args.process_time, rules=ROCKETMQ_RULES)
        result = run(spec, fault, kind.factory(config, options), out / fault, proxies)
        if result.unavailable is not None:
            print(f"noloss conform: {fault}: {result.unavailable}; running the other faults", file=sys.stderr)
        results.append(result)
    print(table(results))
    for result in results:
        where = first_unexplained(result)
        if where is not None:
            print(f"{result.label}: first unexplained event: {where}")
    return EXIT_OK if all(r.ok for r in results) else EXIT_VIOLATED
