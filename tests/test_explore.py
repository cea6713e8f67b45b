"""The checker on toy models: BFS order, complete enumeration, shortest paths, bounds."""

from __future__ import annotations

from typing import Any

from noloss.model_check.explore import Exploration, explore
from tests.toys import BinaryClock, SmallGraph


def states_of(result: Exploration[Any, Any]) -> list[Any]:
    return [result.state(node) for node in range(result.stats.states)]


def test_binary_clock_enumerates_both_states() -> None:
    result = explore(BinaryClock())
    assert states_of(result) == [0, 1]
    assert (result.stats.states, result.stats.transitions, result.stats.depth) == (2, 2, 1)
    assert result.stats.complete
    assert result.first_violation == {}
    assert result.first_witness == {"reaches 1": 1}
    assert set(result.graph().edges()) == {(0, 1), (1, 0)}


def test_small_graph_bfs_order_and_reachable_set() -> None:
    result = explore(SmallGraph())
    # Discovery order is BFS order: level 0, then level 1 in action order, and so on.
    assert states_of(result) == ["a", "b", "c", "d", "e", "f"]
    assert "g" not in states_of(result)  # unreachable states are never enumerated
    assert result.stats.transitions == 7  # every edge out of a reachable node, once
    assert result.stats.depth == 3
    assert result.graph().number_of_edges() == 7


def test_small_graph_shortest_counterexample() -> None:
    result = explore(SmallGraph())
    node = result.first_violation["never f"]
    assert result.path_to(node) == [("a->b", "b"), ("b->d", "d"), ("d->f", "f")]
    assert "never g" not in result.first_violation
    assert set(result.first_witness) == {"sometimes e"}


def test_edges_carry_their_action() -> None:
    result = explore(SmallGraph())
    labels = {
        (result.state(u), result.state(v)): result.actions[data["a"]] for u, v, data in result.graph().edges(data=True)
    }
    assert labels[("c", "e")] == "c->e"
    assert labels[("e", "a")] == "e->a"


def test_state_bound_marks_the_run_incomplete() -> None:
    result = explore(SmallGraph(), max_states=3)
    assert result.stats.states == 3
    assert not result.stats.complete


def test_depth_bound_marks_the_run_incomplete() -> None:
    result = explore(SmallGraph(), max_depth=1)
    assert states_of(result) == ["a", "b", "c"]
    assert not result.stats.complete
    assert "never f" not in result.first_violation
