"""`noloss check`: explore one configuration under one fault model and report every property."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

from model_check.check import check, property_names
from model_check.render import to_json_data, to_markdown, to_mermaid_all, to_text
from spec.config import ConfigError, Config, preset
from spec.faults import FaultModel, FaultSpecError, parse_faults
from spec.rocketmq_conf import (
    BROKER,
    CONSUMER,
    OPTION,
    PRODUCER,
    SLAVE,
    ConfFileError,
    Reading,
    interpret,
    read_file,
    review,
    summary_data,
    summary_lines,
)

PRECEDENCE = "precedence: --preset < --broker-conf/--slave-conf/--producer-conf/--consumer-conf < --set"
_CONF_HELP = {
    BROKER: "the master's broker.conf (key=value): flushDiskType, brokerRole (ASYNC_MASTER|SYNC_MASTER), "
    "inSyncReplicas, totalReplicas (<= 2), and noloss's rocketmqVersion=4|5",
    SLAVE: "the slave's broker.conf (key=value): brokerRole=SLAVE, brokerId >= 1; "
    "its flushDiskType sets slaveFlushDiskType",
    PRODUCER: "producer properties (key=value): retryTimesWhenSendFailed, retryTimesWhenSendAsyncFailed, "
    "retryAnotherBrokerWhenNotStoreOK; noloss's sendMode, checkStatus",
    CONSUMER: "consumer properties (key=value): maxReconsumeTimes; "
    "noloss's ackBeforeProcess, idempotentConsumer, consumerMayFail",
}


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that choose a configuration (shared by every command that builds a model)."""
    parser.add_argument("--preset", default="rocketmq-default", help="named configuration (see `noloss presets`)")
    for kind, help_text in _CONF_HELP.items():
        parser.add_argument(OPTION[kind], metavar="FILE", default=None, help=help_text)
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one knob; wins over the preset and the files, whose keys win over the preset "
        "(keys a file leaves out keep the preset's value)",
    )
    parser.add_argument("--messages", type=int, default=None, help="distinct messages the producer sends (default 2)")


@dataclass(frozen=True, slots=True)
class Configured:
    """The configuration the options name, and what the RocketMQ files (if any) said."""

    config: Config
    reading: Reading | None
    notes: tuple[str, ...]

    def header(self) -> list[str]:
        return [] if self.reading is None else summary_lines(self.reading, self.notes)


def _overrides(args: argparse.Namespace) -> dict[str, str]:
    from model_check.cli import UsageError

    settings: dict[str, str] = {}
    for item in args.settings:
        key, equals, value = item.partition("=")
        if not equals:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE")
        settings[key.strip()] = value
    if args.messages is not None:
        settings["messages"] = str(args.messages)
    return settings


def configure(args: argparse.Namespace) -> Configured:
    """Preset, then the RocketMQ files, then --set; UsageError (exit 2) on any bad input."""
    from model_check.cli import UsageError

    overrides = _overrides(args)
    try:
        files = [read_file(kind, path) for kind in OPTION if (path := getattr(args, f"{kind}_conf")) is not None]
        reading = interpret(files) if files else None
        config = preset(args.preset)
        if reading is None:
            return Configured(config.with_settings(overrides), None, ())
        config = config.with_settings(reading.settings).with_settings(overrides)
        notes = review(reading, config, "--set" if "rocketmqVersion" in overrides else f"--preset {args.preset}")
        return Configured(config, reading, notes)
    except (ConfigError, ConfFileError) as error:
        raise UsageError(str(error)) from None


def config_from(args: argparse.Namespace) -> Config:
    """The configuration the options name; UsageError (exit 2) on an unknown key or bad value."""
    return configure(args).config


def faults_from(args: argparse.Namespace) -> FaultModel:
    from model_check.cli import UsageError

    try:
        return parse_faults(args.faults, args.max_faults)
    except FaultSpecError as error:
        raise UsageError(str(error)) from None


def properties_from(args: argparse.Namespace, config: Config, faults: FaultModel) -> frozenset[str] | None:
    """The properties `--properties` names (None: all); UsageError names an unknown one."""
    from model_check.cli import UsageError

    if args.properties is None:
        return None
    known = property_names(config, faults)
    names = frozenset(name.strip() for name in args.properties.split(",") if name.strip())
    for name in sorted(names):
        if name not in known:
            raise UsageError(f"unknown property {name!r}: allowed {', '.join(known)}")
    return names


def run(args: argparse.Namespace) -> int:
    configured = configure(args)
    faults = faults_from(args)
    config = configured.config
    only = properties_from(args, config, faults)
    result = check(
        config, faults, max_states=args.max_states, max_depth=args.max_depth, progress=not args.quiet, only=only
    )
    if args.format == "json":
        data = to_json_data(result)
        if configured.reading is not None:
            conf = summary_data(configured.reading, configured.notes)
            data["ignored"] = conf.pop("ignored")
            data["conf"] = conf
        print(json.dumps(data, indent=2))
    elif args.format == "mermaid":
        for line in configured.header():
            print(line, file=sys.stderr)
        print(to_mermaid_all(result))
    elif args.format == "markdown":
        print(to_markdown(result, args.preset))
    else:
        print(f"preset: {args.preset}" + (f"  with {', '.join(args.settings)}" if args.settings else ""))
        for line in configured.header():
            print(line)
        print(to_text(result))
    return result.exit_code


def register(subparsers: "argparse._SubParsersAction[Any]") -> None:
    parser = subparsers.add_parser(
        "check",
        help="check every property of one configuration under one fault model",
        description=f"Check every property of one configuration under one fault model. Configuration {PRECEDENCE}.",
    )
    add_model_arguments(parser)
    parser.add_argument("--faults", default="all", help="KIND[*N],... or all or none (default all)")
    parser.add_argument("--max-faults", type=int, default=1, help="faults in one run, all kinds together (default 1)")
    parser.add_argument(
        "--properties", default=None, metavar="NAME,...", help="check only these (exit status follows them)"
    )
    parser.add_argument("--format", choices=("text", "json", "markdown", "mermaid"), default="text")
    parser.add_argument("--max-states", type=int, default=None, help="stop after this many states (incomplete)")
    parser.add_argument("--max-depth", type=int, default=None, help="stop at this BFS depth (incomplete)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(run=run)
