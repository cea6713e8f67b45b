"""The protocols `noloss` knows, by name: `--protocol NAME` picks one (default `rocketmq`).

A protocol is a `Protocol` value (model_check/protocol.py). It is registered here once, and
every command that builds a model (check, matrix, report, presets, scenarios) takes it from
here; `register` lets a test or a plug-in add one through the same seam.
"""

from __future__ import annotations

from noloss.cli.errors import UsageError
from noloss.model_check.protocol import Protocol
from noloss.spec.rocketmq.protocol import ROCKETMQ

DEFAULT = ROCKETMQ.name
_REGISTERED: dict[str, Protocol] = {ROCKETMQ.name: ROCKETMQ}


def register(protocol: Protocol) -> None:
    """Make `protocol` selectable by its name; a name taken by another protocol is refused."""
    known = _REGISTERED.get(protocol.name)
    if known is not None and known is not protocol:
        raise ValueError(f"a protocol named {protocol.name!r} is registered already")
    _REGISTERED[protocol.name] = protocol


def unregister(name: str) -> None:
    """Forget a protocol `register` added (the default one stays)."""
    if name != DEFAULT:
        _REGISTERED.pop(name, None)


def protocol_option(name: str) -> tuple[str, ...]:
    """The options that name protocol `name` on a command line: none for the default one, so
    that RocketMQ's replay lines read as they always did."""
    return () if name == DEFAULT else ("--protocol", name)


def names() -> tuple[str, ...]:
    return tuple(_REGISTERED)


def protocol_named(name: str) -> Protocol:
    """The protocol `--protocol NAME` selects; UsageError lists the names otherwise."""
    try:
        return _REGISTERED[name]
    except KeyError:
        raise UsageError(f"--protocol {name!r}: unknown protocol: allowed {', '.join(_REGISTERED)}") from None
