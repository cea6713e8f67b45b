"""The compact explorer's other modes against the plain one: fingerprints, partitions, the store."""

from __future__ import annotations

import os

import pytest

from noloss.model_check.explore import explore
from noloss.model_check.partition import explore_partitioned
from noloss.model_check.progress import Progress, levels_left, resident_bytes, wanted
from noloss.model_check.store import ExactStore, FingerprintStore
from noloss.spec.rocketmq.config import preset
from noloss.spec.rocketmq.faults import FAULTS
from noloss.spec.rocketmq.model import Model
from tests.toys import SmallGraph

SMALL = (preset("strict").with_settings({"messages": "1"}), FAULTS.of(["master-crash"], 1))


def test_the_exact_store_finds_what_it_kept_across_growth() -> None:
    store = ExactStore()
    keys = [number.to_bytes(3, "little") + b"x" * (number % 5) for number in range(20_000)]
    assert [store.add(key) for key in keys] == [(number, True) for number in range(20_000)]
    assert [store.add(key) for key in reversed(keys)] == [(number, False) for number in reversed(range(20_000))]
    assert store.add(b"never seen", insert=False) == (-1, True)
    assert store[1234] == keys[1234]


def test_the_fingerprint_store_reports_a_small_omission_bound() -> None:
    store = FingerprintStore()
    for number in range(10_000):
        assert store.add(number.to_bytes(4, "little")) == (number, True)
    assert store.add((77).to_bytes(4, "little")) == (77, False)
    assert 0 < store.omission_probability(40_000) < 1e-10


def test_fingerprint_mode_reaches_the_same_states_and_violations() -> None:
    exact = explore(Model(*SMALL))
    printed = explore(Model(*SMALL), fingerprint=True)
    assert (printed.stats.states, printed.stats.transitions, printed.stats.depth) == (
        exact.stats.states,
        exact.stats.transitions,
        exact.stats.depth,
    )
    assert printed.first_violation == exact.first_violation
    # Paths are rebuilt by replaying actions; they match the stored states.
    for node in exact.first_violation.values():
        assert printed.path_to(node) == exact.path_to(node)
        assert printed.state(node) == exact.state(node)


def test_fingerprint_mode_on_a_toy() -> None:
    result = explore(SmallGraph(), fingerprint=True)
    assert result.path_to(result.first_violation["never f"]) == [("a->b", "b"), ("b->d", "d"), ("d->f", "f")]


@pytest.mark.parametrize("workers", [2, 3])
def test_the_partitioned_run_equals_the_sequential_one(workers: int) -> None:
    sequential = explore(Model(*SMALL))
    partitioned = explore_partitioned(lambda: Model(*SMALL), workers=workers)
    assert (partitioned.stats.states, partitioned.stats.transitions, partitioned.stats.depth) == (
        sequential.stats.states,
        sequential.stats.transitions,
        sequential.stats.depth,
    )
    assert set(partitioned.first_violation) == set(sequential.first_violation)
    assert set(partitioned.first_witness) == set(sequential.first_witness)
    model = Model(*SMALL)
    for name, node in partitioned.first_violation.items():
        path = partitioned.path_to(node)
        assert len(path) == len(sequential.path_to(sequential.first_violation[name]))  # shortest too
        state = model.init_states()[0]
        for action, after in path:  # and it replays
            assert action in model.actions(state)
            state = model.next_state(state, action)
            assert state == after
        assert not next(p for p in model.properties() if p.name == name).predicate(model, state)


def test_the_partitioned_run_of_a_toy_keeps_its_whole_states_as_one_field() -> None:
    sequential = explore(SmallGraph())
    partitioned = explore_partitioned(SmallGraph, workers=3)
    assert (partitioned.stats.states, partitioned.stats.transitions) == (sequential.stats.states, sequential.stats.transitions)
    path = partitioned.path_to(partitioned.first_violation["never f"])  # a shortest one: via b or via c
    assert len(path) == 3 and path[0][0] in ("a->b", "a->c") and path[1:] == [(f"{path[0][1]}->d", "d"), ("d->f", "f")]


def test_progress_guesses_levels_left_only_once_the_frontier_shrinks() -> None:
    assert levels_left(100, 200) == "?"
    assert levels_left(1000, 100) == "~2"  # 100 now, then 10, then 1
    assert not wanted(False)


def test_no_progress_bar_in_a_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    explore(Model(*SMALL), progress=True)  # stderr is captured here: not a terminal
    explore_partitioned(lambda: Model(*SMALL), workers=2, progress=True)
    assert capsys.readouterr().err == ""


def test_the_progress_bar_counts_the_workers_memory(capsys: pytest.CaptureFixture[str]) -> None:
    """The partitioned explorer's coordinator holds little: the bar adds up its workers' memory."""
    bar = Progress(True)
    bar.next_report = 0.0
    bar.tick(1_000, 3, (os.getpid(), os.getpid()))
    shown = int(capsys.readouterr().err.split("MiB")[0].split()[-1].replace(",", ""))
    assert abs(shown - 2 * resident_bytes() / 2**20) < 0.1 * resident_bytes() / 2**20
    assert resident_bytes(2**22 + 12345) == 0  # no such process
