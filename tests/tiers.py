"""Which parameters of a test run in the fast tier (`pytest -q`, under a minute on two
cores) and which only in the slow tier (`pytest -q -m slow -n 0`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

import pytest


def tiered(values: Iterable[str], fast: Collection[str]) -> list[pytest.ParameterSet]:
    """Each value as a parameter; those not in `fast` are marked slow. `fast` must name
    values that exist, so a renamed preset cannot silently drop out of the fast tier."""
    values = list(values)
    unknown = set(fast) - set(values)
    if unknown:
        raise ValueError(f"fast-tier values not among the parameters: {sorted(unknown)}")
    return [pytest.param(value) if value in fast else pytest.param(value, marks=pytest.mark.slow) for value in values]
