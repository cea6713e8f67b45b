"""Named fault scenarios for the matrix: `none`, one per fault kind, `any-1`, `any-2`, `a+b`."""

from __future__ import annotations

from noloss.spec.rocketmq.faults import FAULT_INDEX, FAULT_KINDS, FaultModel, FaultSpecError

# The matrix's default columns of faults: nothing, then each single fault on its own.
DEFAULT_SCENARIOS: tuple[str, ...] = ("none",) + FAULT_KINDS
NAMED: dict[str, str] = {
    "none": "no fault at all",
    "any-1": "any one fault, of any kind",
    "any-2": "any two faults, at most one permanent node loss",
    **{kind: f"one {kind}" for kind in FAULT_KINDS},
}
EXAMPLE_COMBINATIONS: tuple[str, ...] = ("master-disk-loss+slave-power-loss", "master-crash+net-drop")


def scenario(name: str) -> FaultModel:
    """The fault model a scenario name stands for; FaultSpecError lists the names otherwise."""
    if name == "none":
        return FaultModel.none()
    if name == "any-1":
        return FaultModel.of(FAULT_KINDS, 1)
    if name == "any-2":
        return FaultModel.of(FAULT_KINDS, 2, max_permanent=1)
    kinds = name.split("+")
    if all(kind in FAULT_INDEX for kind in kinds):
        bounds = [0] * len(FAULT_KINDS)
        for kind in kinds:
            bounds[FAULT_INDEX[kind]] += 1
        return FaultModel(bounds=tuple(bounds), max_faults=len(kinds), max_permanent=len(kinds))
    allowed = ", ".join(NAMED) + ", or KIND+KIND (e.g. " + EXAMPLE_COMBINATIONS[0] + ")"
    raise FaultSpecError(f"unknown scenario {name!r}: allowed {allowed}")
