"""The per-field state codec: round trips, canonical keys, shapes it was never told about, and
two processes' tables agreeing on owners and translating each other's keys."""

from __future__ import annotations

import pickle
from typing import NamedTuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noloss.model_check.codec import codec_for, components, stable_hash
from noloss.spec.rocketmq.state import State

SLOW_DATA = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def copied(value: object) -> object:
    """An equal value built of other objects (a table must not key on identity)."""
    return pickle.loads(pickle.dumps(value))


@SLOW_DATA
@given(st.lists(st.from_type(State), min_size=1, max_size=4))
def test_states_round_trip_and_equal_states_have_equal_keys(states: list[State]) -> None:
    codec = codec_for(states[0])
    keys = [codec.encode(state) for state in states]
    for state, key in zip(states, keys):
        assert repr(codec.decode(key)) == repr(state)  # bools come back as bools, None as None
        assert codec.encode(copied(state)) == key  # type: ignore[arg-type]
    for first, first_key in zip(states, keys):
        for second, second_key in zip(states, keys):
            assert (first_key == second_key) == (first == second)
    changed = states[0]._replace(failures=states[0].failures + 1)
    assert codec.encode(changed) != keys[0]


class Inner(NamedTuple):
    flag: bool
    number: int


class Renamed(NamedTuple):
    """A shape the codec module has never seen: nesting, optionals, tuples of tuples."""

    head: int
    rows: tuple[tuple[int, ...], ...]
    maybe: Inner | None
    inners: tuple[Inner, ...]
    tail: bool


@given(st.lists(st.from_type(Renamed), min_size=1, max_size=4))
def test_a_new_shape_gets_its_codec_generated(values: list[Renamed]) -> None:
    codec = codec_for(values[0])
    for value in values:
        assert repr(codec.decode(codec.encode(value))) == repr(value)
        assert codec.encode(copied(value)) == codec.encode(value)  # type: ignore[arg-type]


@given(st.lists(st.one_of(st.integers(), st.text()), min_size=1))
def test_a_state_of_no_namedtuple_shape_is_one_field(values: list[object]) -> None:
    codec = codec_for(values[0])
    for value in values:
        assert codec.decode(codec.encode(value)) == value
        assert codec.encode(copied(value)) == codec.encode(value)


def test_ids_widen_as_a_table_grows_and_old_keys_stay() -> None:
    codec = codec_for(Inner(True, 0))
    narrow = codec.encode(Inner(True, 0))
    for number in range(1, 300):  # 300 distinct numbers: ids past one byte
        codec.encode(Inner(False, number))
    wide = codec.encode(Inner(True, 299))
    assert len(narrow) == 3 and len(wide) == 5
    assert codec.encode(Inner(True, 0)) == narrow  # a state met early keeps its bytes
    assert codec.decode(wide) == Inner(True, 299)


@SLOW_DATA
@given(st.lists(st.from_type(State), min_size=1, max_size=4))
def test_two_processes_tables_place_a_state_alike_and_translate_each_others_keys(states: list[State]) -> None:
    """Two workers meet the same states in opposite orders: their ids differ, their owners do not."""
    first, second = components(State, owners=3), components(State, owners=3)
    placed = [first.place(state) for state in states]
    for state, (_, owner) in zip(reversed(states), reversed(placed)):
        assert second.place(copied(state))[1] == owner  # type: ignore[arg-type]
    ids = [list(map(intern, values)) for intern, values in zip(second.intern, first.values)]
    for state, (key, _) in zip(states, placed):
        assert second.translate(key, *ids) == second.encode(state)
        assert repr(second.decode(second.translate(key, *ids))) == repr(state)


def test_the_stable_hash_takes_a_bool_for_the_int_it_equals() -> None:
    """A table keeps whichever of True and 1 it met first; both must place a state alike."""
    assert stable_hash(Inner(True, 1), 0) == stable_hash((1, True), 0) == stable_hash((1, 1), 0)
    assert stable_hash((1, 1), 0) != stable_hash((1, 1), 1)  # the field number counts
