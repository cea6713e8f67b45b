"""`noloss check`: explore one configuration under one fault model and report every property."""

from __future__ import annotations

import argparse
from typing import Any

from model_check.check import check, property_names
from model_check.render import to_json, to_markdown, to_mermaid_all, to_text
from spec.config import ConfigError, Config, preset
from spec.faults import FaultModel, FaultSpecError, parse_faults


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that choose a configuration (shared by every command that builds a model)."""
    parser.add_argument("--preset", default="rocketmq-default", help="named configuration (see `noloss presets`)")
    parser.add_argument(
        "--set", dest="settings", action="append", default=[], metavar="KEY=VALUE", help="override one knob"
    )
    parser.add_argument("--messages", type=int, default=None, help="distinct messages the producer sends (default 2)")


def config_from(args: argparse.Namespace) -> Config:
    """The configuration the options name; UsageError (exit 2) on an unknown key or bad value."""
    from model_check.cli import UsageError

    settings: dict[str, str] = {}
    for item in args.settings:
        key, equals, value = item.partition("=")
        if not equals:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE")
        settings[key.strip()] = value
    if args.messages is not None:
        settings["messages"] = str(args.messages)
    try:
        return preset(args.preset).with_settings(settings)
    except ConfigError as error:
        raise UsageError(str(error)) from None


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
    config = config_from(args)
    faults = faults_from(args)
    only = properties_from(args, config, faults)
    result = check(
        config, faults, max_states=args.max_states, max_depth=args.max_depth, progress=not args.quiet, only=only
    )
    if args.format == "json":
        print(to_json(result))
    elif args.format == "mermaid":
        print(to_mermaid_all(result))
    elif args.format == "markdown":
        print(to_markdown(result, args.preset))
    else:
        print(f"preset: {args.preset}" + (f"  with {', '.join(args.settings)}" if args.settings else ""))
        print(to_text(result))
    return result.exit_code


def register(subparsers: "argparse._SubParsersAction[Any]") -> None:
    parser = subparsers.add_parser("check", help="check every property of one configuration under one fault model")
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
