"""Wire codec: length-prefixed binary frames with a version byte and a CRC32C.

Who does what: the shells (server.py, client.py) cut the byte stream into frames with
`frame_length` and `decode_frame` and write `encode_frame(message)`; nothing else in the
broker sees bytes from the network. docs/protocol.md describes the same layout.

Frame (all integers big-endian):

    u32 length   bytes after this field: 6 + len(payload), at most MAX_FRAME_BYTES
    u8  version  WIRE_VERSION
    u8  kind     which message (KINDS)
    u32 crc      CRC32C of the payload
    payload      the message's fields in the order LAYOUT lists them

The layout is written out here, field by field, for each kind of message: it does not
follow the order in which messages.py declares the fields, so reordering or adding a
field there cannot change the bytes. A field missing from LAYOUT (or listed but gone)
fails at import. Any change to LAYOUT is a new WIRE_VERSION, and
tests/reference/test_frames.py pins the bytes of one frame of each kind.

Field types: I64 -> i64, BOOL -> u8 (0 or 1), STR -> u16 length + UTF-8,
BYTES -> u32 length + bytes, MESSAGES -> u32 count + each Message's fields (MESSAGE).
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from typing import Any

import crc32c

from noloss.reference import messages as m

WIRE_VERSION = 2
HEADER = struct.Struct(">IBBI")
"""length, version, kind, crc: the fixed part of every frame."""
LENGTH = struct.Struct(">I")
MAX_FRAME_BYTES = 4 * 1024 * 1024 + 64 * 1024
"""Largest frame accepted: a 4 MiB body (RocketMQ maxMessageSize) plus room for headers."""
_AFTER_LENGTH = struct.Struct(">BBI")
MIN_FRAME_LENGTH = _AFTER_LENGTH.size

KINDS: dict[int, type[m.Wire]] = {
    1: m.SendRequest,
    2: m.SendReply,
    3: m.SendBackRequest,
    4: m.PullRequest,
    5: m.PullReply,
    6: m.CommitOffsetRequest,
    7: m.QueryOffsetRequest,
    8: m.OffsetReply,
    9: m.HaReport,
    10: m.HaData,
    11: m.HaHello,
    12: m.HaTruncate,
    13: m.ConsumerOffsetsRequest,
    14: m.ConsumerOffsetsReply,
}
_KIND_OF: dict[type[Any], int] = {cls: kind for kind, cls in KINDS.items()}

_I64 = struct.Struct(">q")
_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")

class FrameError(Exception):
    """A frame that cannot be accepted; the message is the one-line reason."""


class _Reader:
    """Reads fields from a payload, raising FrameError instead of IndexError/struct.error.

    One method per field type, each reading in place (unpack_from, one slice per string
    or bytes field): they are the decoders of the layouts below, called once per field
    of every frame received."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _short(self, wanted: int) -> FrameError:
        return FrameError(f"payload ends early: wanted {wanted} bytes at {self.pos} of {len(self.data)}")

    def _int(self, fmt: struct.Struct) -> int:
        end = self.pos + fmt.size
        if end > len(self.data):
            raise self._short(fmt.size)
        value: int = fmt.unpack_from(self.data, self.pos)[0]
        self.pos = end
        return value

    def i64(self) -> int:
        return self._int(_I64)

    def _sized(self, prefix: struct.Struct) -> bytes:
        """A length (`prefix`), then that many bytes."""
        start = self.pos + prefix.size
        if start > len(self.data):
            raise self._short(prefix.size)
        end = start + prefix.unpack_from(self.data, self.pos)[0]
        if end > len(self.data):
            self.pos = start
            raise self._short(end - start)
        self.pos = end
        return self.data[start:end]

    def raw(self) -> bytes:
        """A u32 length, then that many bytes."""
        return self._sized(_U32)

    def text(self) -> str:
        """A u16 length, then that many bytes of UTF-8."""
        try:
            return self._sized(_U16).decode()
        except UnicodeDecodeError as error:
            raise FrameError(f"string is not UTF-8: {error.reason}") from None

    def flag(self) -> bool:
        if self.pos + 1 > len(self.data):
            raise self._short(1)
        value = self.data[self.pos]
        self.pos += 1
        if value > 1:
            raise FrameError(f"bool field holds {value}")
        return value == 1

    def count(self) -> int:
        """A u32 count of the list items that follow."""
        return self._int(_U32)


Encoder = Callable[[bytearray, Any], None]
Decoder = Callable[[_Reader], Any]


def _put_str(out: bytearray, value: str) -> None:
    raw = value.encode()
    if len(raw) > 0xFFFF:
        raise FrameError(f"string of {len(raw)} bytes is longer than 65535")
    out += _U16.pack(len(raw)) + raw


I64: tuple[Encoder, Decoder] = (lambda out, v: out.extend(_I64.pack(v)), _Reader.i64)
BOOL: tuple[Encoder, Decoder] = (lambda out, v: out.append(1 if v else 0), _Reader.flag)
STR: tuple[Encoder, Decoder] = (_put_str, _Reader.text)
BYTES: tuple[Encoder, Decoder] = (lambda out, v: out.extend(_U32.pack(len(v)) + v), _Reader.raw)

Layout = tuple[tuple[str, tuple[Encoder, Decoder]], ...]

MESSAGE: Layout = (
    ("topic", STR),
    ("queue_offset", I64),
    ("commit_offset", I64),
    ("key", STR),
    ("body", BYTES),
    ("reconsume_times", I64),
    ("origin_topic", STR),
)


def _record(cls: type[Any], layout: Layout) -> tuple[Encoder, Decoder]:
    """The encoder and decoder of `cls` laid out as `layout` says (fields by name)."""
    names = [name for name, _ in layout]
    declared = [field.name for field in dataclasses.fields(cls)]
    if sorted(names) != sorted(declared):
        raise TypeError(f"wire layout of {cls.__name__} lists {names}, the class has {declared}")

    # Read in wire order, construct in declaration order (positional: cheaper than keywords).
    getters = [get for _, (_, get) in layout]
    slots = [declared.index(name) for name in names]

    def encode(out: bytearray, value: Any) -> None:
        for name, (put, _) in layout:
            put(out, getattr(value, name))

    def decode(reader: _Reader) -> Any:
        values: list[Any] = [None] * len(slots)
        for slot, get in zip(slots, getters):
            values[slot] = get(reader)
        return cls(*values)

    def decode_in_order(reader: _Reader) -> Any:
        return cls(*[get(reader) for get in getters])

    # Most messages list their fields on the wire as they declare them: no reordering.
    return encode, decode_in_order if slots == sorted(slots) else decode


def _list_of(item: tuple[Encoder, Decoder]) -> tuple[Encoder, Decoder]:
    put_item, get_item = item

    def encode(out: bytearray, values: Any) -> None:
        out += _U32.pack(len(values))
        for value in values:
            put_item(out, value)

    def decode(reader: _Reader) -> Any:
        count = reader.count()
        # Each item takes at least one byte: refuse counts the payload cannot hold.
        if count > len(reader.data) - reader.pos:
            raise FrameError(f"list of {count} items cannot fit in the payload")
        return tuple(get_item(reader) for _ in range(count))

    return encode, decode


MESSAGES = _list_of(_record(m.Message, MESSAGE))

LAYOUT: dict[type[Any], Layout] = {
    m.SendRequest: (("request_id", I64), ("topic", STR), ("key", STR), ("body", BYTES), ("oneway", BOOL)),
    m.SendReply: (("request_id", I64), ("status", STR), ("msg_id", STR), ("queue_offset", I64), ("detail", STR)),
    m.SendBackRequest: (
        ("request_id", I64),
        ("group", STR),
        ("origin_topic", STR),
        ("key", STR),
        ("body", BYTES),
        ("reconsume_times", I64),
        ("max_reconsume_times", I64),
    ),
    m.PullRequest: (("request_id", I64), ("topic", STR), ("queue_offset", I64), ("max_count", I64), ("suspend_ms", I64)),
    m.PullReply: (("request_id", I64), ("status", STR), ("next_offset", I64), ("messages", MESSAGES), ("detail", STR)),
    m.CommitOffsetRequest: (("request_id", I64), ("group", STR), ("topic", STR), ("offset", I64)),
    m.QueryOffsetRequest: (("request_id", I64), ("group", STR), ("topic", STR)),
    m.OffsetReply: (("request_id", I64), ("status", STR), ("offset", I64), ("detail", STR)),
    m.HaReport: (("stored_offset", I64), ("flushed_offset", I64)),
    m.HaData: (("offset", I64), ("data", BYTES)),
    m.HaHello: (("stored_offset", I64), ("flushed_offset", I64), ("last_record_offset", I64), ("last_record_crc", I64)),
    m.HaTruncate: (("offset", I64),),
    m.ConsumerOffsetsRequest: (("request_id", I64),),
    m.ConsumerOffsetsReply: (("request_id", I64), ("offsets", BYTES)),
}
"""Every message's fields in wire order. Changing it changes the bytes: bump WIRE_VERSION."""

_CODECS: dict[int, tuple[Encoder, Decoder]] = {kind: _record(cls, LAYOUT[cls]) for kind, cls in KINDS.items()}


def encode_frame(message: m.Wire) -> bytes:
    """The whole frame for `message`, length prefix included."""
    kind = _KIND_OF[type(message)]
    payload = bytearray()
    _CODECS[kind][0](payload, message)
    length = MIN_FRAME_LENGTH + len(payload)
    if length > MAX_FRAME_BYTES:
        raise FrameError(f"frame of {length} bytes exceeds the limit of {MAX_FRAME_BYTES}")
    return HEADER.pack(length, WIRE_VERSION, kind, crc32c.crc32c(payload)) + payload


def frame_length(data: bytes, pos: int = 0) -> int:
    """Check the 4-byte length prefix at `data[pos:]` and return how many bytes follow it."""
    (length,) = LENGTH.unpack_from(data, pos)
    if length > MAX_FRAME_BYTES:
        raise FrameError(f"frame of {length} bytes exceeds the limit of {MAX_FRAME_BYTES}")
    if length < MIN_FRAME_LENGTH:
        raise FrameError(f"frame of {length} bytes is shorter than its header")
    return int(length)


def decode_frame(body: bytes) -> m.Wire:
    """Decode the bytes after a length prefix (see `frame_length`) into one message."""
    if len(body) < MIN_FRAME_LENGTH:
        raise FrameError(f"frame of {len(body)} bytes is shorter than its header")
    version, kind, crc = _AFTER_LENGTH.unpack_from(body)
    if version != WIRE_VERSION:
        raise FrameError(f"unsupported wire version {version} (this broker speaks {WIRE_VERSION})")
    codec = _CODECS.get(kind)
    if codec is None:
        raise FrameError(f"unknown frame kind {kind}")
    payload = body[MIN_FRAME_LENGTH:]
    if crc32c.crc32c(payload) != crc:
        raise FrameError(f"CRC mismatch in a {KINDS[kind].__name__} frame")
    reader = _Reader(payload)
    message: m.Wire = codec[1](reader)
    if reader.pos != len(payload):
        raise FrameError(f"{len(payload) - reader.pos} stray bytes after a {KINDS[kind].__name__}")
    return message


class FrameBuffer:
    """Cuts a byte stream into messages; used by every shell's connection handler.

    Frames are cut straight from the bytes received when nothing is held back (the hot
    path: each read holds whole frames). The start of a frame split across reads is held
    back, and copied out once, when the frame is complete (not once per piece: a 1 MiB
    HaData arrives in many)."""

    def __init__(self) -> None:
        self._held = bytearray()
        self._needed = LENGTH.size
        """How many bytes `_held` must reach before its first frame is complete."""

    def feed(self, data: bytes) -> list[m.Wire]:
        """Add received bytes; return every complete message. Raises FrameError on the
        first bad frame, after which the connection must be closed."""
        if self._held:
            self._held += data
            if len(self._held) < self._needed:
                return []
            data = bytes(self._held)
            self._held.clear()
        out: list[m.Wire] = []
        pos = 0
        self._needed = LENGTH.size
        while len(data) - pos >= LENGTH.size:
            end = pos + LENGTH.size + frame_length(data, pos)
            if len(data) < end:
                self._needed = end - pos
                break
            out.append(decode_frame(data[pos + LENGTH.size : end]))
            pos = end
        if pos < len(data):
            self._held += data[pos:]
        return out
