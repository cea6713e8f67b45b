"""The liveness check on toy models: fair and unfair cycles, deadlocks, fault-only cycles."""

from __future__ import annotations

from noloss.model_check.explore import explore
from noloss.model_check.liveness import find_lasso
from tests.toys import Spinner


def lasso_of(model: Spinner):  # type: ignore[no-untyped-def]
    exploration = explore(model)
    return find_lasso(model, exploration, "reaches 2", lambda a: a.startswith("fault"))


def test_fair_cycle_avoiding_the_goal_is_a_violation() -> None:
    lasso = lasso_of(Spinner())
    assert lasso is not None
    assert lasso.prefix == []  # the cycle starts in the initial state
    assert lasso.cycle == [("spin", 1), ("spin", 0)]


def test_weak_fairness_forces_an_always_enabled_action() -> None:
    assert lasso_of(Spinner(eager=True)) is None


def test_deadlock_outside_the_goal_is_a_violation_with_an_empty_cycle() -> None:
    lasso = lasso_of(Spinner(eager=True, stuck=True))
    assert lasso is not None
    assert lasso.prefix == [("jam", 3)]
    assert lasso.cycle == []


def test_a_cycle_made_of_faults_does_not_count() -> None:
    # Faults stop eventually; from 0 only the fault can move, so 0 is a dead end once they do.
    lasso = lasso_of(Spinner(fault_loop=True))
    assert lasso is not None
    assert lasso.prefix == [] and lasso.cycle == []
