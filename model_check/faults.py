"""Faults, whatever the protocol: a table of fault kinds, and fault models bounded over it.

A protocol names its faults once, in a `FaultTable`: each kind's name, which node it hits,
whether the loss is permanent, what it loses, how it heals, and how `noloss conform`
injects it on real processes. Everything that lists, parses, prints, judges or injects
faults reads that one table, so `noloss check` and `noloss conform` say the same words.

A `FaultModel` bounds the faults of one run twice: per kind and in total (and permanent
node losses apart). Healing (restart, reconnect) is never bounded, so a bound on faults is a
bound on how hostile the environment is, not on how long the system runs.

Scenarios are names for fault models that the matrix uses as columns: `none`, each kind on
its own, `any-1`, `any-2` (at most one permanent loss), and `a+b` combinations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


class FaultSpecError(ValueError):
    """A fault kind, bound or scenario the protocol does not accept; the message is one line."""


@dataclass(frozen=True, slots=True)
class FaultKind:
    """One kind of fault, as every part of noloss names and treats it."""

    name: str  # the word `check`, `matrix` and `conform` all take (`master-crash`)
    node: str  # what it hits: a node's name, `both`, `consumer` or `network`
    permanent: bool  # the node never comes back (its disk is gone)
    loses: str  # what is lost with it: memory, the page cache, the disk, a packet
    heals: str  # how the run goes on after it: a restart, a reconnect, never
    inject: str  # what `noloss conform` does on real processes: kill, power-cut, wipe, crash, drop, dup
    action: tuple[str, str]  # the spec's (actor, verb) of the action that performs it


@dataclass(frozen=True, slots=True)
class FaultTable:
    """A protocol's fault kinds, in the order reports list them."""

    kinds: tuple[FaultKind, ...]
    examples: tuple[str, ...] = ()  # `a+b` scenarios a help text shows
    names: tuple[str, ...] = field(init=False)
    index: dict[str, int] = field(init=False, compare=False, hash=False)
    permanent: frozenset[str] = field(init=False)
    by_action: dict[tuple[str, str], str] = field(init=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        names = tuple(kind.name for kind in self.kinds)
        if len(set(names)) != len(names):
            raise ValueError(f"a fault table names a kind twice: {names}")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "index", {name: number for number, name in enumerate(names)})
        object.__setattr__(self, "permanent", frozenset(kind.name for kind in self.kinds if kind.permanent))
        object.__setattr__(self, "by_action", {kind.action: kind.name for kind in self.kinds})

    def kind(self, name: str) -> FaultKind:
        """The kind named `name`; FaultSpecError lists the names otherwise."""
        return self.kinds[self.position(name)]

    def position(self, name: str) -> int:
        try:
            return self.index[name]
        except KeyError:
            raise FaultSpecError(f"unknown fault kind {name!r}: allowed {', '.join(self.names)}") from None

    def none(self) -> FaultModel:
        return FaultModel(self, bounds=(0,) * len(self.kinds), max_faults=0, max_permanent=0)

    def of(self, kinds: Iterable[str], max_faults: int, max_permanent: int | None = None) -> FaultModel:
        """Each named kind allowed up to `max_faults` times, at most `max_faults` in all."""
        bounds = [0] * len(self.kinds)
        for kind in kinds:
            bounds[self.position(kind)] = max_faults
        permanent = max_faults if max_permanent is None else max_permanent
        return FaultModel(self, bounds=tuple(bounds), max_faults=max_faults, max_permanent=permanent)

    def parse(self, text: str, max_faults: int) -> FaultModel:
        """`KIND[*N],...` (or `all`, or `none`); a kind without `*N` may happen up to max_faults times."""
        if max_faults < 0:
            raise FaultSpecError(f"bad value {max_faults} for --max-faults: allowed a non-negative integer")
        spec = text.strip()
        if spec == "none" or max_faults == 0:
            return self.none()
        if spec == "all":
            return self.of(self.names, max_faults)
        bounds = [0] * len(self.kinds)
        for item in spec.split(","):
            kind, star, count = item.strip().partition("*")
            bound = max_faults
            if star:
                if not count.isdigit():
                    raise FaultSpecError(f"bad count {count!r} for fault {kind!r}: allowed a non-negative integer")
                bound = int(count)
            bounds[self.position(kind)] = bound
        return FaultModel(self, bounds=tuple(bounds), max_faults=max_faults, max_permanent=max_faults)

    # -- scenarios: the matrix's columns -------------------------------------------------

    def default_scenarios(self) -> tuple[str, ...]:
        """The matrix's default columns: nothing, then each single fault on its own."""
        return ("none",) + self.names

    def named_scenarios(self) -> dict[str, str]:
        """Every scenario name but the combinations, with what it means."""
        return {
            "none": "no fault at all",
            "any-1": "any one fault, of any kind",
            "any-2": "any two faults, at most one permanent node loss",
            **{name: f"one {name}" for name in self.names},
        }

    def example_combinations(self) -> tuple[str, ...]:
        """`a+b` scenarios to show in help texts: the table's own, else its first and last kind."""
        return self.examples or (f"{self.names[0]}+{self.names[-1]}",)

    def scenario(self, name: str) -> FaultModel:
        """The fault model a scenario name stands for; FaultSpecError lists the names otherwise."""
        if name == "none":
            return self.none()
        if name == "any-1":
            return self.of(self.names, 1)
        if name == "any-2":
            return self.of(self.names, 2, max_permanent=1)
        kinds = name.split("+")
        if all(kind in self.index for kind in kinds):
            bounds = [0] * len(self.kinds)
            for kind in kinds:
                bounds[self.index[kind]] += 1
            return FaultModel(self, bounds=tuple(bounds), max_faults=len(kinds), max_permanent=len(kinds))
        allowed = ", ".join(self.named_scenarios()) + ", or KIND+KIND (e.g. " + self.example_combinations()[0] + ")"
        raise FaultSpecError(f"unknown scenario {name!r}: allowed {allowed}")


@dataclass(frozen=True, slots=True)
class FaultModel:
    """How many faults of each kind of `table` may happen in one run, and in total."""

    table: FaultTable
    bounds: tuple[int, ...]  # per kind, aligned with table.kinds; 0 disables the kind
    max_faults: int  # faults of all kinds together
    max_permanent: int  # permanent node losses together (any-2 allows one)

    def __post_init__(self) -> None:
        if len(self.bounds) != len(self.table.kinds) or min(self.bounds, default=0) < 0:
            raise FaultSpecError(f"bounds must be {len(self.table.kinds)} non-negative counts")
        if self.max_faults < 0 or self.max_permanent < 0:
            raise FaultSpecError("max-faults must be a non-negative integer")

    def enabled_kinds(self) -> tuple[str, ...]:
        """The kinds that can happen at all under this model."""
        if self.max_faults == 0:
            return ()
        return tuple(
            kind
            for kind, bound in zip(self.table.names, self.bounds)
            if bound > 0 and (kind not in self.table.permanent or self.max_permanent > 0)
        )

    def bounded(self) -> dict[str, int]:
        """Each kind allowed at all, with its bound."""
        return {kind: bound for kind, bound in zip(self.table.names, self.bounds) if bound}

    def describe(self) -> str:
        """`kind*N,...` with the total bound, as the CLI takes it."""
        kinds = [f"{kind}*{bound}" for kind, bound in self.bounded().items()]
        return f"{','.join(kinds) or 'none'} (max {self.max_faults} in all)"
