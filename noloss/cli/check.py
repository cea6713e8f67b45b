"""`noloss check`: explore one configuration under one fault model and report every property."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

from noloss.cli.protocols import DEFAULT, protocol_named
from noloss.model_check.check import check, property_names
from noloss.model_check.faults import FaultModel, FaultSpecError
from noloss.model_check.protocol import Protocol
from noloss.model_check.render import mermaid_diagrams, to_json_data, to_markdown, to_mermaid_all, to_text
from noloss.spec.rocketmq.protocol import ROCKETMQ
from noloss.spec.rocketmq.conf_files import (
    BROKER,
    CONSUMER,
    OPTION,
    PRODUCER,
    SLAVE,
    ConfFileError,
    Reading,
    interpret,
    review,
    summary_data,
)
from noloss.cli.rocketmq_files import printable_summary, read_file
from noloss.cli.errors import UsageError, name_list, non_negative, positive
from noloss.cli.user_paths import checked_out_dir

PRECEDENCE = "precedence: --preset < --broker-conf/--slave-conf/--producer-conf/--consumer-conf < --set"
_CONF_HELP = {
    BROKER: "the master's broker.conf (key=value): flushDiskType, brokerRole (ASYNC_MASTER|SYNC_MASTER), "
    "inSyncReplicas, readUnCommitted, totalReplicas (<= 2), and noloss's rocketmqVersion (a release: "
    "4.9.3, 4.9.7, 5.1, 5.3, ...; 4 and 5 are the newest of each line)",
    SLAVE: "the slave's broker.conf (key=value): brokerRole=SLAVE, brokerId >= 1; "
    "its flushDiskType sets slaveFlushDiskType; slaveReadEnable, readUnCommitted",
    PRODUCER: "producer properties (key=value): retryTimesWhenSendFailed, retryTimesWhenSendAsyncFailed, "
    "retryAnotherBrokerWhenNotStoreOK; noloss's sendMode, checkStatus",
    CONSUMER: "consumer properties (key=value): maxReconsumeTimes; "
    "noloss's commitBeforeProcess, idempotentConsumer, consumerMayFail",
}


def add_protocol_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--protocol", default=DEFAULT, metavar="NAME", help=f"the protocol whose model is checked (default {DEFAULT})"
    )


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that choose a configuration (shared by every command that builds a model)."""
    add_protocol_argument(parser)
    parser.add_argument(
        "--preset", default=None, help=f"named configuration (see `noloss presets`; default {ROCKETMQ.default_preset})"
    )
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
    parser.add_argument(
        "--allow-unknown-keys",
        action="store_true",
        help="take a file key one edit from a modelled key (flushDiskTyp) as unknown, as RocketMQ does, "
        "instead of refusing it as a typo",
    )
    parser.add_argument(
        "--messages", type=positive, default=None, help="distinct messages the producer sends (default 2)"
    )


@dataclass(frozen=True, slots=True)
class Configured:
    """The configuration the options name, and what the RocketMQ files (if any) said."""

    protocol: Protocol
    config: Any
    reading: Reading | None
    notes: tuple[str, ...]

    def header(self) -> list[str]:
        return [] if self.reading is None else printable_summary(self.reading, self.notes)


def protocol_of(args: argparse.Namespace) -> Protocol:
    """The protocol `--protocol` names; `--preset` defaults to its default preset."""
    protocol = protocol_named(args.protocol)
    if getattr(args, "preset", None) is None:
        args.preset = protocol.default_preset
    return protocol


def _overrides(args: argparse.Namespace, protocol: Protocol) -> dict[str, str]:
    settings: dict[str, str] = {}
    for item in args.settings:
        key, equals, value = item.partition("=")
        if not equals:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE")
        settings[key.strip()] = value
    if args.messages is not None:
        settings.update(size_setting(protocol, args.messages))
    return settings


def size_setting(protocol: Protocol, messages: int) -> dict[str, str]:
    """What `--messages N` sets: the protocol's size knob; UsageError where it has none."""
    if protocol.size_knob is None:
        raise UsageError(f"--messages: the {protocol.name} protocol has no message count to set")
    return {protocol.size_knob: str(messages)}


def configure(args: argparse.Namespace) -> Configured:
    """Preset, then the RocketMQ files, then --set; UsageError (exit 2) on any bad input."""
    protocol = protocol_of(args)
    overrides = _overrides(args, protocol)
    paths = {kind: path for kind in OPTION if (path := getattr(args, f"{kind}_conf")) is not None}
    try:
        config = protocol.preset(args.preset)
        if not paths:
            return Configured(protocol, protocol.configure(config, overrides), None, ())
        if protocol is not ROCKETMQ:
            raise UsageError(f"{OPTION[next(iter(paths))]}: RocketMQ's files configure the rocketmq protocol, not {protocol.name}")
        reading = interpret([read_file(kind, path) for kind, path in paths.items()], args.allow_unknown_keys)
        config = config.with_settings(reading.settings).with_settings(overrides)
        notes = review(reading, config, "--set" if "rocketmqVersion" in overrides else f"--preset {args.preset}")
        return Configured(protocol, config, reading, notes)
    except (ValueError, ConfFileError) as error:
        raise UsageError(str(error)) from None


def config_from(args: argparse.Namespace) -> Any:
    """The configuration the options name; UsageError (exit 2) on an unknown key or bad value."""
    return configure(args).config


def faults_from(args: argparse.Namespace, protocol: Protocol) -> FaultModel:
    try:
        return protocol.faults.parse(args.faults, args.max_faults)
    except FaultSpecError as error:
        raise UsageError(str(error)) from None


def properties_from(args: argparse.Namespace, protocol: Protocol, config: Any, faults: FaultModel) -> frozenset[str] | None:
    """The properties `--properties` names (None: all); UsageError names an unknown one."""
    if args.properties is None:
        return None
    known = property_names(protocol, config, faults)
    names = frozenset(name_list("--properties", args.properties))
    for name in sorted(names):
        if name not in known:
            raise UsageError(f"unknown property {name!r}: allowed {', '.join(known)}")
    return names


def run(args: argparse.Namespace) -> int:
    if args.out is not None and args.format != "mermaid":
        raise UsageError("--out DIR goes with --format mermaid (one .mmd file per counterexample)")
    out = checked_out_dir(args.out)
    configured = configure(args)
    protocol = configured.protocol
    faults = faults_from(args, protocol)
    config = configured.config
    only = properties_from(args, protocol, config, faults)
    if args.workers < 1:
        raise UsageError(f"--workers {args.workers}: expected 1 or more")
    try:
        result = check(
            protocol,
            config,
            faults,
            max_states=args.max_states,
            max_depth=args.max_depth,
            progress=not args.quiet,
            only=only,
            fingerprint=args.fingerprint,
            workers=args.workers,
        )
    except ValueError as error:  # options that do not go together with several workers
        if args.workers == 1:
            raise
        raise UsageError(f"--workers {args.workers}: {error}") from None
    if args.format == "json":
        data = to_json_data(protocol, result)
        if configured.reading is not None:
            conf = summary_data(configured.reading, configured.notes)
            data["ignored"] = conf.pop("ignored")
            data["conf"] = conf
        print(json.dumps(data, indent=2))
    elif args.format == "mermaid":
        for line in configured.header():
            print(line, file=sys.stderr)
        if out is None:
            print(to_mermaid_all(protocol, result))
        else:
            for name, diagram in mermaid_diagrams(protocol, result).items():
                (out / f"{name}.mmd").write_text(diagram + "\n")
                print(out / f"{name}.mmd")
    elif args.format == "markdown":
        print(to_markdown(protocol, result, args.preset))
    else:
        print(f"preset: {args.preset}" + (f"  with {', '.join(args.settings)}" if args.settings else ""))
        for line in configured.header():
            print(line)
        print(to_text(protocol, result))
    return result.exit_code


def register(subparsers: "argparse._SubParsersAction[Any]") -> None:
    parser = subparsers.add_parser(
        "check",
        help="check every property of one configuration under one fault model",
        description=f"Check every property of one configuration under one fault model. Configuration {PRECEDENCE}.",
    )
    add_model_arguments(parser)
    parser.add_argument("--faults", default="all", help="KIND[*N],... or all or none (default all)")
    parser.add_argument("--max-faults", type=non_negative, default=1, help="faults in one run, all kinds together (default 1)")
    parser.add_argument(
        "--properties", default=None, metavar="NAME,...", help="check only these (exit status follows them)"
    )
    parser.add_argument("--format", choices=("text", "json", "markdown", "mermaid"), default="text")
    parser.add_argument(
        "--out", default=None, metavar="DIR", help="with --format mermaid: one DIR/PROPERTY.mmd per counterexample"
    )
    parser.add_argument("--max-states", type=positive, default=None, help="stop after this many states (incomplete)")
    parser.add_argument("--max-depth", type=non_negative, default=None, help="stop at this BFS depth (incomplete)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (shown only on a terminal anyway)")
    parser.add_argument(
        "--fingerprint",
        action="store_true",
        help="keep 64-bit hashes of states instead of states (less memory; reports the chance of a missed state)",
    )
    parser.add_argument(
        "--workers",
        type=positive,
        default=1,
        help="share the states among N processes (always/sometimes properties only, via --properties)",
    )
    parser.set_defaults(run=run)
