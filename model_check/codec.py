"""Compact state encodings: one process's per-field tables, and the code generated on them.

The explorer keeps millions of states; as nested NamedTuples each costs about a kilobyte of
Python objects, as one bytes object a dozen. The codec is not written per field: `components`
reads the top-level fields of the state class (a NamedTuple; any other state is one field,
itself) and generates, for exactly that shape, an encoder, a decoder, the partitioned
explorer's `place` (key and owner) and `translate` (another process's key in this one's ids).
A field added to or renamed in the state needs no change here.

Each field's distinct values are interned in a table of their own, and a state's key is the
run of its fields' ids, one, two or four bytes each (the narrowest that holds the largest;
the first byte says which). Equal states have equal keys within one process, so the bytes
serve as the key of the seen-set.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Codec(Generic[S]):
    """A pair of inverse functions between states and their bytes."""

    encode: Callable[[S], bytes]
    decode: Callable[[bytes], S]
    source: str  # the generated code, for a reader


_WIDTHS = ((256, 1, "B"), (1 << 16, 2, "H"), (1 << 32, 3, "I"))  # (ids below, marker, struct code)


@dataclass(frozen=True, slots=True)
class Components(Generic[S]):
    """One process's per-field tables for states of one shape, and the functions generated on them.

    Each top-level field of a state is interned in a table of its own; a state's key is the run
    of its fields' ids in the narrowest of 1, 2 or 4 bytes each. The fields of the states one
    model reaches take few distinct values (a few hundred masters, a few dozen producers), so
    the tables stay small while a key costs a dozen bytes, and decoding shares the tables'
    objects instead of building new ones. The ids depend on the order values are met, so a key
    means nothing to another process until `translate` maps it through that process's ids.
    """

    encode: Callable[[S], bytes]
    decode: Callable[[bytes], S]
    place: Callable[[S], tuple[bytes, int]]  # the key and the owner: one of `owners` processes
    translate: Callable[..., bytes]  # (another process's key, per field its id -> this one's id) -> key
    values: list[list[Any]]  # per field: id -> value
    intern: list[Callable[[Any], int]]  # per field: value -> id, added when new
    source: str


def stable_hash(value: object, field: int) -> int:
    """A 32-bit hash of a field's value that every process computes alike (Python's own
    `hash` is salted per process for strings); bools count as the ints they equal."""
    return zlib.crc32(repr(_plain(value)).encode(), field)


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)  # a NamedTuple's class name is not its value
    return int(value) if isinstance(value, bool) else value


def components(state_type: type[S], owners: int = 1) -> Components[S]:
    """Tables and generated functions for states of `state_type`: a NamedTuple's top-level fields,
    or the state whole for any other type. The owner `place` gives is the xor of the fields'
    stable hashes modulo `owners`, so every process places a state alike."""
    fields = _fields_of(state_type)
    count = 1 if fields is None else len(fields)
    tables: list[dict[Any, int]] = [{} for _ in range(count)]
    values: list[list[Any]] = [[] for _ in range(count)]
    hashes: list[list[int]] = [[] for _ in range(count)]
    names: dict[str, object] = {"new": tuple.__new__, "cls": state_type, "owners": owners}
    interns: list[Callable[[Any], int]] = []
    for index in range(count):
        add = _adder(tables[index], values[index], hashes[index] if owners > 1 else None, index)
        names.update({f"get{index}": tables[index].get, f"add{index}": add, f"v{index}": values[index], f"h{index}": hashes[index]})
        interns.append(_interner(tables[index].get, add))
    for _, marker, code in _WIDTHS:
        names[f"pack{marker}"] = struct.Struct(f"<B{count}{code}").pack
        names[f"unpack{marker}"] = struct.Struct(f"<{count}{code}").unpack_from
    ids = [f"i{index}" for index in range(count)]
    mapped = [f"j{index}" for index in range(count)]
    fields_line = "    f0 = state" if fields is None else f"    {', '.join(f'f{index}' for index in range(count))}, = state"
    interned = [
        line
        for index in range(count)
        for line in (f"    i{index} = get{index}(f{index})", f"    if i{index} is None:", f"        i{index} = add{index}(f{index})")
    ]
    owner = f"({' ^ '.join(f'h{index}[i{index}]' for index in range(count))}) % owners" if owners > 1 else "0"
    state = "v0[i0]" if fields is None else f"new(cls, ({', '.join(f'v{index}[i{index}]' for index in range(count))},))"
    source = "\n".join(
        [
            "def encode(state):",
            fields_line,
            *interned,
            *_packing(ids, ""),
            "",
            "def place(state):",
            fields_line,
            *interned,
            f"    owner = {owner}",
            *_packing(ids, ", owner"),
            "",
            "def decode(data):",
            *_unpacking("data", ids),
            f"    return {state}",
            "",
            f"def translate(key, {', '.join(f'm{index}' for index in range(count))}):",
            *_unpacking("key", ids),
            *(f"    j{index} = m{index}[i{index}]" for index in range(count)),
            *_packing(mapped, ""),
        ]
    )
    exec(compile(source, f"<component codec of {state_type.__qualname__}>", "exec"), names)
    return Components(
        names["encode"], names["decode"], names["place"], names["translate"], values, interns, source  # type: ignore[arg-type]
    )


def _packing(ids: list[str], suffix: str) -> list[str]:
    """Lines that return the key of `ids` (followed by `suffix`) in the narrowest width."""
    lines = [f"    top = max({', '.join(ids)})" if len(ids) > 1 else f"    top = {ids[0]}"]
    for below, marker, _ in _WIDTHS:
        lines += [f"    if top < {below}:", f"        return pack{marker}({marker}, {', '.join(ids)}){suffix}"]
    return lines + ["    raise OverflowError('more than 2**32 distinct values of one field')"]


def _unpacking(data: str, ids: list[str]) -> list[str]:
    lines = [f"    marker = {data}[0]"]
    for _, marker, _ in _WIDTHS:
        lines += [f"    if marker == {marker}:", f"        {', '.join(ids)}, = unpack{marker}({data}, 1)"]
    return lines


def _adder(table: dict[Any, int], values: list[Any], hashes: list[int] | None, field: int) -> Callable[[Any], int]:
    def add(value: Any) -> int:
        ident = table[value] = len(values)
        values.append(value)
        if hashes is not None:
            hashes.append(stable_hash(value, field))
        return ident

    return add


def _interner(get: Callable[[Any], int | None], add: Callable[[Any], int]) -> Callable[[Any], int]:
    def intern(value: Any) -> int:
        ident = get(value)
        return add(value) if ident is None else ident

    return intern


def codec_for(example: S) -> Codec[S]:
    """The per-field codec of states like `example`, for one process."""
    made = components(type(example))
    return Codec(made.encode, made.decode, made.source)


def _fields_of(hint: Any) -> list[str] | None:
    """A NamedTuple class's field names; None for anything else."""
    if isinstance(hint, type) and issubclass(hint, tuple) and hasattr(hint, "_fields"):
        return list(hint._fields)
    return None
