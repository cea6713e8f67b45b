"""The derived state codec: round trips, canonical encodings, and shapes it was never told about."""

from __future__ import annotations

from typing import NamedTuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noloss.model_check.codec import component_codec, derive_codec, interning_codec
from noloss.spec.state import State

STATE_CODEC = derive_codec(State)
small = st.integers(min_value=0, max_value=15)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.from_type(State))
def test_any_state_round_trips(state: State) -> None:
    decoded = STATE_CODEC.decode(STATE_CODEC.encode(state))
    assert decoded == state
    assert repr(decoded) == repr(state)  # bools come back as bools, None as None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.from_type(State), st.from_type(State))
def test_encodings_are_equal_exactly_when_states_are(first: State, second: State) -> None:
    assert (STATE_CODEC.encode(first) == STATE_CODEC.encode(second)) == (first == second)
    rebuilt = STATE_CODEC.decode(STATE_CODEC.encode(first))  # equal, made of other objects
    assert STATE_CODEC.encode(rebuilt) == STATE_CODEC.encode(first)
    changed = first._replace(failures=first.failures + 1)
    assert STATE_CODEC.encode(changed) != STATE_CODEC.encode(first)


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


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.from_type(Renamed))
def test_a_new_shape_gets_its_codec_derived(value: Renamed) -> None:
    codec = derive_codec(Renamed)
    assert codec.decode(codec.encode(value)) == value
    assert repr(codec.decode(codec.encode(value))) == repr(value)


def test_small_values_pack_two_to_a_byte_and_large_ones_still_fit() -> None:
    codec = derive_codec(Inner)
    assert codec.encode(Inner(True, 3)) == bytes([0x11, 0x30])  # marker 1, then 1, 3, padding
    assert codec.encode(Inner(False, 200)) == bytes([1, 0, 200])  # one byte per value
    large = Inner(True, -(2**70))
    assert codec.encode(large)[0] == 2 and codec.decode(codec.encode(large)) == large  # varints


@given(st.lists(st.one_of(st.integers(), st.text()), min_size=1))
def test_the_fallback_codec_is_canonical(values: list[object]) -> None:
    codec = interning_codec()
    for value in values:
        assert codec.decode(codec.encode(value)) == value
        # Equal values built separately (not the same object) encode the same.
        assert codec.encode(value) == codec.encode(type(value)(value))  # type: ignore[call-arg]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.from_type(State), min_size=1, max_size=3))
def test_the_per_component_codec_round_trips_and_is_canonical(states: list[State]) -> None:
    codec = component_codec(State)
    keys = [codec.encode(state) for state in states]
    for state, key in zip(states, keys):
        assert repr(codec.decode(key)) == repr(state)
        assert codec.encode(STATE_CODEC.decode(STATE_CODEC.encode(state))) == key  # other objects, same bytes
    for first, first_key in zip(states, keys):
        for second, second_key in zip(states, keys):
            assert (first_key == second_key) == (first == second)


def test_the_per_component_codec_widens_its_ids_as_tables_grow() -> None:
    codec = component_codec(Inner)
    narrow = codec.encode(Inner(True, 0))
    for number in range(1, 300):  # 300 distinct numbers: ids past one byte
        codec.encode(Inner(False, number))
    wide = codec.encode(Inner(True, 299))
    assert len(narrow) == 3 and len(wide) == 5
    assert codec.encode(Inner(True, 0)) == narrow  # a state met early keeps its bytes
    assert codec.decode(wide) == Inner(True, 299)
