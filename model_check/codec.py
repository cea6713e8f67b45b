"""Compact state encodings: a NamedTuple state <-> bytes, derived from the state's type hints.

The explorer keeps millions of states; as nested NamedTuples each costs about a kilobyte of
Python objects, as one bytes object a few dozen bytes. The codec is not written per field:
`derive_codec` walks the field annotations of the state class (NamedTuples of ints and
bools, `tuple[X, ...]`, `X | None`) and generates an encoder and a decoder for exactly that
shape, so a field added to or renamed in the state needs no change here.

Layout: the fields in declaration order, depth first, as a flat run of small ints: an int or
bool is one value, `X | None` is a 0/1 tag then X, `tuple[X, ...]` its length then its items.
The run starts with a marker value 1 and is stored in the tightest form that holds it:
  - every value below 16 (the usual case): two values per byte (first byte 0x10-0x1f);
  - every value in 0..255: one byte per value (first byte 1);
  - otherwise: a first byte 2, then zigzag varints.
Equal states have equal encodings, so the bytes serve as the key of the seen-set.
"""

from __future__ import annotations

import itertools
import struct
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

S = TypeVar("S")

_BYTES = 1  # first byte: one byte per value (and the marker value every run starts with)
_VARINT = 2  # first byte: zigzag varints
_LOW16 = bytes(range(16))
_TO_HEX = bytes.maketrans(bytes(range(16)), b"0123456789abcdef")
_FROM_HEX = bytes.maketrans(b"0123456789abcdef", bytes(range(16)))


@dataclass(frozen=True, slots=True)
class Codec(Generic[S]):
    """A pair of inverse functions between states and their bytes."""

    encode: Callable[[S], bytes]
    decode: Callable[[bytes], S]
    source: str  # the generated code (for a reader; empty for the fallback codec)


def _packed(values: list[int]) -> bytes:
    """The tightest of the three forms (the first value is the marker 1)."""
    try:
        run = bytes(values)
    except ValueError:  # a value outside 0..255
        return _zigzag_varints(values[1:])
    if run.translate(None, _LOW16):  # some value is 16 or more
        return run
    digits = run.translate(_TO_HEX).decode("ascii")
    return bytes.fromhex(digits if len(digits) % 2 == 0 else digits + "0")


def _zigzag_varints(values: list[int]) -> bytes:
    out = bytearray([_VARINT])
    for value in values:
        number = value * 2 if value >= 0 else -value * 2 - 1
        while number >= 0x80:
            out.append((number & 0x7F) | 0x80)
            number >>= 7
        out.append(number)
    return bytes(out)


def _values_of(data: bytes) -> tuple[Sequence[int], int]:
    """The run of values and where it starts after the marker (bytes index to ints as they are)."""
    first = data[0]
    if first == _BYTES:
        return data, 1
    if first != _VARINT:
        return data.hex().encode("ascii").translate(_FROM_HEX), 1
    values: list[int] = []
    number = shift = 0
    for byte in memoryview(data)[1:]:
        number |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            values.append(number >> 1 if number % 2 == 0 else -((number + 1) >> 1))
            number = shift = 0
    return values, 0


class _Generator:
    """Writes the encoder's expression and the decoder's lines for one annotated type."""

    def __init__(self) -> None:
        self.decoder: list[str] = []
        self.names: dict[str, object] = {}
        self.counter = 0
        self.offset = 0  # values read since `i` last moved

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}{self.counter}"

    def constant(self, value: object) -> str:
        name = f"K{len(self.names)}"
        self.names[name] = value
        return name

    def encode(self, expr: str, hint: Any) -> list[str]:
        """The items of a list display that spell out the value `expr` of type `hint`.

        One list display for the whole state: unpacking (`*x`) runs in the interpreter's
        loop, where a call to list.extend per part would cost a method call each.
        """
        if hint is int or hint is bool:
            return [expr]
        if _is_flat(hint):
            return [f"*{expr}"]  # a bool is an int: no conversion needed
        fields = _fields_of(hint)
        if fields is not None:
            return [item for position, (_, field_hint) in enumerate(fields) for item in self.encode(f"{expr}[{position}]", field_hint)]
        item = _tuple_item(hint)
        if item is not None:
            if item is int:
                return [f"len({expr})", f"*{expr}"]
            if _is_flat(item):
                return [f"len({expr})", f"*chain({expr})"]
            element = self.fresh("x")
            value = self.fresh("y")
            inner = ", ".join(self.encode(element, item))
            return [f"len({expr})", f"*[{value} for {element} in {expr} for {value} in ({inner},)]"]
        inner_hint = _optional_of(hint)
        if inner_hint is not None:
            inner = ", ".join(self.encode(expr, inner_hint))
            return [f"*((0,) if {expr} is None else (1, {inner}))"]
        raise TypeError(f"no codec can be derived for the type {hint!r}")

    def decode(self, target: str, hint: Any, indent: str) -> None:
        """Lines that set `target` to the value of type `hint` at `d[i + self.offset]`.

        Fixed-width parts only advance `self.offset` (a constant folded into the indexes);
        `i` itself moves only where a length or a tag decides what follows (`flush`).
        """
        lines = self.decoder
        if hint is int:
            lines.append(f"{indent}{target} = {self.take(1)}")
            return
        if hint is bool:
            lines.append(f"{indent}{target} = {self.take(1)} == 1")
            return
        fields = _fields_of(hint)
        if fields is not None:
            cls = self.constant(hint)
            if all(field_hint is int for _, field_hint in fields):
                width = len(fields)
                start = self.offset
                self.offset += width
                lines.append(f"{indent}{target} = new({cls}, d[i + {start}:i + {self.offset}])")
                return
            parts = []
            for name, field_hint in fields:
                part = self.fresh(f"f_{name}_")
                self.decode(part, field_hint, indent)
                parts.append(part)
            lines.append(f"{indent}{target} = new({cls}, ({', '.join(parts)},))")
            return
        item = _tuple_item(hint)
        if item is not None:
            count = self.leading("n", indent)
            if item is int:
                lines += [f"{indent}{target} = tuple(d[i:i + {count}])", f"{indent}i += {count}"]
                return
            items = self.fresh("items")
            element = self.fresh("x")
            lines += [f"{indent}{items} = []", f"{indent}for _ in range({count}):"]
            self.decode(element, item, indent + "    ")
            self.flush(indent + "    ")
            lines += [f"{indent}    {items}.append({element})", f"{indent}{target} = tuple({items})"]
            return
        inner = _optional_of(hint)
        if inner is not None:
            tag = self.leading("tag", indent)
            lines += [f"{indent}if {tag} == 0:", f"{indent}    {target} = None", f"{indent}else:"]
            self.decode(target, inner, indent + "    ")
            self.flush(indent + "    ")
            return
        raise TypeError(f"no codec can be derived for the type {hint!r}")

    def leading(self, stem: str, indent: str) -> str:
        """A variable set to the next value (a length or a tag), with `i` moved past it."""
        name = self.fresh(stem)
        self.decoder.append(f"{indent}{name} = {self.take(1)}")
        self.flush(indent)
        return name

    def take(self, width: int) -> str:
        """The index expression of the next value; advances the pending offset by `width`."""
        expr = f"d[i + {self.offset}]" if self.offset else "d[i]"
        self.offset += width
        return expr

    def flush(self, indent: str) -> None:
        """Move `i` by the pending offset."""
        if self.offset:
            self.decoder.append(f"{indent}i += {self.offset}")
            self.offset = 0

def _fields_of(hint: Any) -> list[tuple[str, Any]] | None:
    """A NamedTuple class's (field, resolved annotation) pairs; None for anything else."""
    if isinstance(hint, type) and issubclass(hint, tuple) and hasattr(hint, "_fields"):
        hints = typing.get_type_hints(hint)
        return [(name, hints[name]) for name in hint._fields]
    return None


def _is_flat(hint: Any) -> bool:
    """A NamedTuple whose fields are all ints or bools: encoded by extending with it whole."""
    fields = _fields_of(hint)
    return fields is not None and all(field_hint in (int, bool) for _, field_hint in fields)


def _tuple_item(hint: Any) -> Any:
    """X for `tuple[X, ...]`; None for anything else."""
    arguments = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and len(arguments) == 2 and arguments[1] is Ellipsis:
        return arguments[0]
    return None


def _optional_of(hint: Any) -> Any:
    """X for `X | None`; None for anything else."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        others = [argument for argument in typing.get_args(hint) if argument is not type(None)]
        if len(others) == 1 and len(typing.get_args(hint)) == 2:
            return others[0]
    return None


def derive_codec(state_type: type[S]) -> Codec[S]:
    """Generate the codec of a NamedTuple state class from its (nested) field annotations."""
    generator = _Generator()
    items = generator.encode("state", state_type)
    generator.decode("state", state_type, "    ")
    generator.flush("    ")
    source = "\n".join(
        [
            "def encode(state):",
            f"    return packed([1, {', '.join(items)}])",
            "",
            "def decode(data):",
            "    d, i = values_of(data)",
            *generator.decoder,
            "    return state",
        ]
    )
    namespace: dict[str, object] = {
        **generator.names,
        "new": tuple.__new__,
        "packed": _packed,
        "chain": itertools.chain.from_iterable,
        "values_of": _values_of,
    }
    exec(compile(source, f"<codec of {state_type.__qualname__}>", "exec"), namespace)
    return Codec(namespace["encode"], namespace["decode"], source)  # type: ignore[arg-type]


def interning_codec() -> Codec[Any]:
    """For states of no derivable shape (toy models' ints and strings): each distinct state is
    kept once as an object and encoded as its index. Canonical, unlike marshal or pickle,
    whose bytes depend on object identity (interned strings, shared references)."""
    index: dict[Any, int] = {}
    states: list[Any] = []

    def encode(state: Any) -> bytes:
        number = index.get(state)
        if number is None:
            number = index[state] = len(states)
            states.append(state)
        return number.to_bytes(8, "little")

    def decode(data: bytes) -> Any:
        return states[int.from_bytes(data, "little")]

    return Codec(encode, decode, "")


_WIDTHS = ((256, 1, "B"), (1 << 16, 2, "H"), (1 << 32, 3, "I"))  # (ids below, marker, struct code)


def component_codec(state_type: type[S]) -> Codec[S]:
    """A codec for one process: each top-level field of the state is interned in a table of its
    own, and a state is the run of its fields' ids in the narrowest of 1, 2 or 4 bytes each.

    The fields of the states one model reaches take few distinct values (a few hundred masters,
    a few dozen producers), so the tables stay small while each state costs a dozen bytes, and
    decoding shares the tables' objects instead of building new ones. The ids depend on the order
    states are met, so the bytes mean nothing to another process: the partitioned explorer, whose
    workers exchange encodings, uses `derive_codec`.
    """
    fields = _fields_of(state_type)
    if fields is None:
        raise TypeError(f"{state_type!r} is not a NamedTuple")
    count = len(fields)
    tables: list[dict[object, int]] = [{} for _ in range(count)]
    values: list[list[object]] = [[] for _ in range(count)]
    names: dict[str, object] = {"new": tuple.__new__, "cls": state_type}
    for index in range(count):
        names[f"get{index}"] = tables[index].get
        names[f"add{index}"] = _adder(tables[index], values[index])
        names[f"v{index}"] = values[index]
    ids = ", ".join(f"i{index}" for index in range(count))
    lines = ["def encode(state):", f"    {', '.join(f'f{index}' for index in range(count))}, = state"]
    for index in range(count):
        lines += [f"    i{index} = get{index}(f{index})", f"    if i{index} is None:", f"        i{index} = add{index}(f{index})"]
    lines.append(f"    top = max({ids})")
    for below, marker, code in _WIDTHS:
        names[f"pack{marker}"] = struct.Struct(f"<B{count}{code}").pack
        names[f"unpack{marker}"] = struct.Struct(f"<{count}{code}").unpack_from
        lines += [f"    if top < {below}:", f"        return pack{marker}({marker}, {ids})"]
    lines += ["    raise OverflowError('more than 2**32 distinct values of one field')", ""]
    lines += ["def decode(data):", "    marker = data[0]"]
    for _, marker, _ in _WIDTHS:
        lines += [f"    if marker == {marker}:", f"        {ids}, = unpack{marker}(data, 1)"]
    lines.append(f"    return new(cls, ({', '.join(f'v{index}[i{index}]' for index in range(count))},))")
    source = "\n".join(lines)
    exec(compile(source, f"<component codec of {state_type.__qualname__}>", "exec"), names)
    return Codec(names["encode"], names["decode"], source)  # type: ignore[arg-type]


def _adder(table: dict[object, int], values: list[object]) -> Callable[[object], int]:
    def add(value: object) -> int:
        ident = table[value] = len(values)
        values.append(value)
        return ident

    return add


def codec_for(example: S, portable: bool = True) -> Codec[S]:
    """The codec of a NamedTuple state: derived from its type (`portable`: the same bytes in
    every process) or per component (smaller and faster, for one process); the interning
    codec for anything else."""
    if _fields_of(type(example)) is not None:
        return derive_codec(type(example)) if portable else component_codec(type(example))
    return interning_codec()
