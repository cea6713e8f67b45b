"""RocketMQ's fault table: the faults the model knows, and how each is injected for real.

Every fault is bounded twice: per kind and in total (model_check/faults.py). A fault kind's
action in the spec is `(actor, verb)` (spec/rocketmq/environment.py); `noloss conform`
injects the same kind on real processes under the same name (conformance/faults.py).
"""

from __future__ import annotations

from noloss.model_check.faults import FaultKind, FaultModel, FaultSpecError, FaultTable

__all__ = [
    "DEFAULT_SCENARIOS", "FAULTS", "FAULT_INDEX", "FAULT_KINDS", "PERMANENT_KINDS", "FaultModel", "FaultSpecError", "parse_faults", "scenario",
]

MASTER_CRASH = "master-crash"
MASTER_POWER_LOSS = "master-power-loss"
MASTER_DISK_LOSS = "master-disk-loss"
SLAVE_CRASH = "slave-crash"
SLAVE_POWER_LOSS = "slave-power-loss"
SLAVE_DISK_LOSS = "slave-disk-loss"
BOTH_POWER_LOSS = "both-power-loss"
CONSUMER_CRASH = "consumer-crash"
NET_DROP = "net-drop"
NET_DUP = "net-dup"

_MEMORY = "memory: held replies, connections, in-memory consumer offsets; the page cache survives"
_POWER = "memory and the page cache: only what was flushed survives"
_DISK = "everything: the node is gone for good with its disk"

FAULTS = FaultTable(
    (
        FaultKind(MASTER_CRASH, "master", False, _MEMORY, "restart on its data", "kill", ("master", "crash")),
        FaultKind(MASTER_POWER_LOSS, "master", False, _POWER, "restart on its data", "power-cut", ("master", "power-loss")),
        FaultKind(MASTER_DISK_LOSS, "master", True, _DISK, "never", "wipe", ("master", "disk-loss")),
        FaultKind(SLAVE_CRASH, "slave", False, _MEMORY, "restart on its data", "kill", ("slave", "crash")),
        FaultKind(SLAVE_POWER_LOSS, "slave", False, _POWER, "restart on its data", "power-cut", ("slave", "power-loss")),
        FaultKind(SLAVE_DISK_LOSS, "slave", True, _DISK, "never", "wipe", ("slave", "disk-loss")),
        # Correlated: one power failure takes master and slave.
        FaultKind(BOTH_POWER_LOSS, "both", False, _POWER, "both restart on their data", "power-cut", ("both", "power-loss")),
        FaultKind(
            CONSUMER_CRASH, "consumer", False, "the consumer's in-flight work and local offsets", "the consumer starts again",
            "crash", ("consumer", "crash"),
        ),
        FaultKind(NET_DROP, "network", False, "one request or reply between producer and master", "nothing to heal", "drop", ("net", "drop")),
        FaultKind(NET_DUP, "network", False, "nothing: one request or reply is delivered twice", "nothing to heal", "dup", ("net", "dup")),
    ),
    examples=("master-disk-loss+slave-power-loss", "master-crash+net-drop"),
)

FAULT_KINDS: tuple[str, ...] = FAULTS.names
FAULT_INDEX: dict[str, int] = FAULTS.index
PERMANENT_KINDS: frozenset[str] = FAULTS.permanent


def parse_faults(text: str, max_faults: int) -> FaultModel:
    """Parse `KIND[*N],...` (or `all`, or `none`) over RocketMQ's fault kinds."""
    return FAULTS.parse(text, max_faults)


def scenario(name: str) -> FaultModel:
    """The fault model a matrix scenario names (`none`, a kind, `any-1`, `any-2`, `a+b`)."""
    return FAULTS.scenario(name)


DEFAULT_SCENARIOS: tuple[str, ...] = FAULTS.default_scenarios()
