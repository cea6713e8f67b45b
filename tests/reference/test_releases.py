"""The broker's release table (reference/releases.py) against the spec's (spec/rocketmq/versions.py).

Each side reads RocketMQ's source on its own, so that a wrong entry in one is not copied into
the other. This test is where they meet: for every release both know, every behaviour must
match, by the name both give it. (The lockstep and the conformance runs then show that the
two also *do* the same with it.)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import noloss.reference
from noloss.reference import releases as broker
from noloss.spec.rocketmq import versions as spec

SPEC_ONLY_FIELDS = {"name"}  # the spec's Release carries its own key; the broker's table is keyed by it


def behaviour_names() -> set[str]:
    return {field.name for field in dataclasses.fields(broker.ReleaseBehaviour)}


def test_both_tables_name_the_same_behaviours() -> None:
    spec_names = {field.name for field in dataclasses.fields(spec.Release)} - SPEC_ONLY_FIELDS
    assert behaviour_names() == spec_names


def test_both_tables_know_the_same_releases_and_lines() -> None:
    assert list(broker.RELEASES) == list(spec.RELEASES)
    assert broker.NEWEST_OF_LINE == spec.ALIASES


@pytest.mark.parametrize("name", sorted(set(broker.RELEASES) & set(spec.RELEASES)))
def test_a_release_behaves_alike_in_broker_and_spec(name: str) -> None:
    ours = broker.RELEASES[name]
    theirs = spec.RELEASES[name]
    differing = {b: (getattr(ours, b), getattr(theirs, b)) for b in sorted(behaviour_names()) if getattr(ours, b) != getattr(theirs, b)}
    assert differing == {}, f"{name}: behaviour -> (broker, spec)"


def test_the_broker_imports_nothing_of_the_spec_s_release_table() -> None:
    package = Path(noloss.reference.__file__).parent
    users = sorted(path.name for path in package.glob("*.py") if "noloss.spec.rocketmq.versions" in path.read_text())
    assert users == []
