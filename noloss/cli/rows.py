"""The rows of a matrix: presets by name, or the user's own configuration from their files.

A row carries what every report of it needs: the configuration, the `noloss check` options
that rebuild it (for replay commands), and, for the user's own, what the files said and the
files' text (the report shows its sources).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from noloss.cli.check import configure, protocol_of
from noloss.cli.errors import UsageError, name_list
from noloss.cli.protocols import protocol_option
from noloss.spec.rocketmq.conf_files import OPTION

OWN = "your-config"  # the row of the user's own files and --set


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    config: Any  # the protocol's configuration
    options: tuple[str, ...]  # `noloss check` options that rebuild this configuration
    summary: tuple[str, ...] = ()  # what the files said (modelled, ignored, notes)
    sources: tuple[tuple[str, str], ...] = ()  # (path, text) of each file read


def _own_options(args: argparse.Namespace) -> tuple[str, ...]:
    options = [*protocol_option(protocol_of(args).name), "--preset", args.preset]
    for kind, option in OPTION.items():
        path = getattr(args, f"{kind}_conf")
        if path is not None:
            options += [option, path]
    for item in args.settings:
        options += ["--set", item]
    if args.allow_unknown_keys:
        options.append("--allow-unknown-keys")
    return tuple(options)


def wants_own(args: argparse.Namespace) -> bool:
    """The user named a configuration of their own (files or --set), not only presets."""
    return bool(args.settings) or any(getattr(args, f"{kind}_conf") is not None for kind in OPTION)


def rows_from(args: argparse.Namespace) -> list[Row]:
    """The user's configuration (when files or --set name one), then the presets `--presets` names
    (by default every preset, unless the user's configuration is given); UsageError on bad input."""
    protocol = protocol_of(args)
    rows = []
    if wants_own(args):
        configured = configure(args)
        files = configured.reading.files if configured.reading is not None else ()
        sources = tuple((conf.path, conf.text) for conf in files)
        rows.append(Row(OWN, configured.config, _own_options(args), tuple(configured.header()), sources))
    if args.presets is not None or not rows:
        names = list(protocol.presets) if args.presets is None else name_list("--presets", args.presets)
        for name in names:
            try:
                rows.append(Row(name, protocol.preset(name), (*protocol_option(protocol.name), "--preset", name)))
            except ValueError as error:
                raise UsageError(str(error)) from None
    return rows
