"""Mutation check: flip one behaviour of the broker at a time; the lockstep test must fail.

Each case runs the fixed-seed generation phase only (no shrinking) and records how many
examples and steps it took to reach the first disagreement; `pytest -s` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import invariant, run_state_machine_as_test

from tests.mbt.machines import MACHINES, LockstepMachine, Mismatch
from tests.mbt.mutations import MUTATIONS

BUDGET = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=200,
    stateful_step_count=40,
    phases=[Phase.generate],
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@dataclass
class Tally:
    examples: int = 0
    steps: int = 0
    first: tuple[int, int] | None = None  # (examples, steps) when the first disagreement showed


def counting(machine: type[LockstepMachine], tally: Tally) -> type[LockstepMachine]:
    class Counting(machine):  # type: ignore[valid-type, misc]
        def __init__(self) -> None:
            super().__init__()
            tally.examples += 1

        def take(self, actor: str, verb: str, pick: int) -> None:
            tally.steps += 1
            super().take(actor, verb, pick)

        @invariant()
        def agrees(self) -> None:
            try:
                super().agrees()
            except AssertionError:
                if tally.first is None:
                    tally.first = (tally.examples, tally.steps)
                raise

    Counting.__name__ = machine.__name__
    return Counting


CASES = [
    ("reply before fsync (SYNC_FLUSH)", "Strict"),
    ("reply before fsync (SYNC_FLUSH)", "SyncFlushAsyncMaster"),
    ("reply before the slave's report (SYNC_MASTER)", "Strict"),
    ("reply before the slave's report (SYNC_MASTER)", "AsyncFlushSyncMaster"),
    ("commit the offset before processing", "Strict"),
    ("commit the offset before processing", "RocketmqDefault"),
]


@pytest.mark.parametrize(("mutation", "machine"), CASES)
def test_the_lockstep_test_catches_the_mutation(mutation: str, machine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    MUTATIONS[mutation](monkeypatch)
    tally = Tally()
    with pytest.raises(Mismatch):
        run_state_machine_as_test(counting(MACHINES[machine], tally), settings=BUDGET)
    assert tally.first is not None
    examples, steps = tally.first
    print(f"\n{mutation} on {machine}: caught at example {examples}, after {steps} steps in all")
