"""The fault model: which faults may happen, and how many of each.

Every fault is bounded twice: per kind and in total. Healing (restart, reconnect) is never
bounded, so a bound on faults is a bound on how hostile the environment is, not on how long
the system runs. A fault kind's name is `<actor>-<verb>` of the action that performs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MASTER_CRASH = "master-crash"  # process dies: memory lost, page cache kept
MASTER_POWER_LOSS = "master-power-loss"  # machine loses power: page cache lost, disk kept
MASTER_DISK_LOSS = "master-disk-loss"  # node gone for good with its disk
SLAVE_CRASH = "slave-crash"
SLAVE_POWER_LOSS = "slave-power-loss"
SLAVE_DISK_LOSS = "slave-disk-loss"
BOTH_POWER_LOSS = "both-power-loss"  # correlated: one power failure takes master and slave
CONSUMER_CRASH = "consumer-crash"  # consumer process dies: in-flight work and local offsets lost
NET_DROP = "net-drop"  # one request or reply between producer and master is lost
NET_DUP = "net-dup"  # one request or reply is delivered twice

FAULT_KINDS: tuple[str, ...] = (
    MASTER_CRASH,
    MASTER_POWER_LOSS,
    MASTER_DISK_LOSS,
    SLAVE_CRASH,
    SLAVE_POWER_LOSS,
    SLAVE_DISK_LOSS,
    BOTH_POWER_LOSS,
    CONSUMER_CRASH,
    NET_DROP,
    NET_DUP,
)
FAULT_INDEX: dict[str, int] = {kind: index for index, kind in enumerate(FAULT_KINDS)}
PERMANENT_KINDS: frozenset[str] = frozenset({MASTER_DISK_LOSS, SLAVE_DISK_LOSS})


class FaultSpecError(ValueError):
    """A fault kind or bound the model does not accept; the message is one line."""


@dataclass(frozen=True, slots=True)
class FaultModel:
    """How many faults of each kind may happen in one run, and in total."""

    bounds: tuple[int, ...]  # per kind, aligned with FAULT_KINDS; 0 disables the kind
    max_faults: int  # faults of all kinds together
    max_permanent: int  # permanent node losses together (any-2 allows one)

    def __post_init__(self) -> None:
        if len(self.bounds) != len(FAULT_KINDS) or min(self.bounds, default=0) < 0:
            raise FaultSpecError(f"bounds must be {len(FAULT_KINDS)} non-negative counts")
        if self.max_faults < 0 or self.max_permanent < 0:
            raise FaultSpecError("max-faults must be a non-negative integer")

    @staticmethod
    def none() -> FaultModel:
        return FaultModel(bounds=(0,) * len(FAULT_KINDS), max_faults=0, max_permanent=0)

    @staticmethod
    def of(kinds: Iterable[str], max_faults: int, max_permanent: int | None = None) -> FaultModel:
        """Each named kind allowed up to `max_faults` times, at most `max_faults` in all."""
        bounds = [0] * len(FAULT_KINDS)
        for kind in kinds:
            bounds[_index(kind)] = max_faults
        permanent = max_faults if max_permanent is None else max_permanent
        return FaultModel(bounds=tuple(bounds), max_faults=max_faults, max_permanent=permanent)

    def enabled_kinds(self) -> tuple[str, ...]:
        """The kinds that can happen at all under this model."""
        if self.max_faults == 0:
            return ()
        return tuple(
            kind
            for kind, bound in zip(FAULT_KINDS, self.bounds)
            if bound > 0 and (kind not in PERMANENT_KINDS or self.max_permanent > 0)
        )

    def describe(self) -> str:
        """`kind*N,...` with the total bound, as the CLI takes it."""
        kinds = [f"{kind}*{bound}" for kind, bound in zip(FAULT_KINDS, self.bounds) if bound > 0]
        return f"{','.join(kinds) or 'none'} (max {self.max_faults} in all)"


def _index(kind: str) -> int:
    try:
        return FAULT_INDEX[kind]
    except KeyError:
        raise FaultSpecError(f"unknown fault kind {kind!r}: allowed {', '.join(FAULT_KINDS)}") from None


def parse_faults(text: str, max_faults: int) -> FaultModel:
    """Parse `KIND[*N],...` (or `all`, or `none`); a kind without `*N` may happen up to max_faults times."""
    if max_faults < 0:
        raise FaultSpecError(f"bad value {max_faults} for --max-faults: allowed a non-negative integer")
    spec = text.strip()
    if spec == "none" or max_faults == 0:
        return FaultModel.none()
    if spec == "all":
        return FaultModel.of(FAULT_KINDS, max_faults)
    bounds = [0] * len(FAULT_KINDS)
    for item in spec.split(","):
        kind, star, count = item.strip().partition("*")
        bound = max_faults
        if star:
            if not count.isdigit():
                raise FaultSpecError(f"bad count {count!r} for fault {kind!r}: allowed a non-negative integer")
            bound = int(count)
        bounds[_index(kind)] = bound
    return FaultModel(bounds=tuple(bounds), max_faults=max_faults, max_permanent=max_faults)
