"""Wire codec: length-prefixed binary frames with a version byte and a CRC32C.

Who does what: the shells (server.py, client.py) cut the byte stream into frames with
`frame_length` and `decode_frame` and write `encode_frame(message)`; nothing else in the
broker sees bytes from the network. docs/protocol.md describes the same layout.

Frame (all integers big-endian):

    u32 length   bytes after this field: 6 + len(payload), at most MAX_FRAME_BYTES
    u8  version  WIRE_VERSION
    u8  kind     which message (KINDS)
    u32 crc      CRC32C of the payload
    payload      the message's fields in declaration order

Fields: int -> i64, bool -> u8, str -> u16 length + UTF-8, bytes -> u32 length + bytes,
tuple[Message, ...] -> u32 count + each Message's fields.
"""

from __future__ import annotations

import dataclasses
import struct
import typing
from collections.abc import Callable
from typing import Any

import crc32c

from reference import messages as m

WIRE_VERSION = 1
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
}
_KIND_OF: dict[type[Any], int] = {cls: kind for kind, cls in KINDS.items()}

_I64 = struct.Struct(">q")
_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")


class FrameError(Exception):
    """A frame that cannot be accepted; the message is the one-line reason."""


class _Reader:
    """Reads fields from a payload, raising FrameError instead of IndexError/struct.error."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise FrameError(f"payload ends early: wanted {n} bytes at {self.pos} of {len(self.data)}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: struct.Struct) -> int:
        value: int = fmt.unpack(self.take(fmt.size))[0]
        return value


Encoder = Callable[[bytearray, Any], None]
Decoder = Callable[[_Reader], Any]


def _put_str(out: bytearray, value: str) -> None:
    raw = value.encode()
    if len(raw) > 0xFFFF:
        raise FrameError(f"string of {len(raw)} bytes is longer than 65535")
    out += _U16.pack(len(raw)) + raw


def _get_str(reader: _Reader) -> str:
    raw = reader.take(reader.unpack(_U16))
    try:
        return raw.decode()
    except UnicodeDecodeError as error:
        raise FrameError(f"string is not UTF-8: {error.reason}") from None


def _get_bool(reader: _Reader) -> bool:
    flag = reader.take(1)[0]
    if flag > 1:
        raise FrameError(f"bool field holds {flag}")
    return flag == 1


_SCALARS: dict[Any, tuple[Encoder, Decoder]] = {
    int: (lambda out, v: out.extend(_I64.pack(v)), lambda r: r.unpack(_I64)),
    bool: (lambda out, v: out.append(1 if v else 0), _get_bool),
    str: (_put_str, _get_str),
    bytes: (lambda out, v: out.extend(_U32.pack(len(v)) + v), lambda r: r.take(r.unpack(_U32))),
}


def _codec(cls: type[Any]) -> tuple[Encoder, Decoder]:
    """Build the encoder and decoder of a message class from its field annotations."""
    fields: list[tuple[str, Encoder, Decoder]] = []
    for field in dataclasses.fields(cls):
        hint = typing.get_type_hints(cls)[field.name]
        if typing.get_origin(hint) is tuple:
            fields.append((field.name, *_tuple_codec(_codec(typing.get_args(hint)[0]))))
        else:
            fields.append((field.name, *_SCALARS[hint]))

    def encode(out: bytearray, value: Any) -> None:
        for name, put, _ in fields:
            put(out, getattr(value, name))

    def decode(reader: _Reader) -> Any:
        return cls(*(get(reader) for _, _, get in fields))

    return encode, decode


def _tuple_codec(item: tuple[Encoder, Decoder]) -> tuple[Encoder, Decoder]:
    put_item, get_item = item

    def encode(out: bytearray, values: Any) -> None:
        out += _U32.pack(len(values))
        for value in values:
            put_item(out, value)

    def decode(reader: _Reader) -> Any:
        count = reader.unpack(_U32)
        # Each item takes at least one byte: refuse counts the payload cannot hold.
        if count > len(reader.data) - reader.pos:
            raise FrameError(f"list of {count} items cannot fit in the payload")
        return tuple(get_item(reader) for _ in range(count))

    return encode, decode


_CODECS: dict[int, tuple[Encoder, Decoder]] = {kind: _codec(cls) for kind, cls in KINDS.items()}


def encode_frame(message: m.Wire) -> bytes:
    """The whole frame for `message`, length prefix included."""
    kind = _KIND_OF[type(message)]
    payload = bytearray()
    _CODECS[kind][0](payload, message)
    length = MIN_FRAME_LENGTH + len(payload)
    if length > MAX_FRAME_BYTES:
        raise FrameError(f"frame of {length} bytes exceeds the limit of {MAX_FRAME_BYTES}")
    return HEADER.pack(length, WIRE_VERSION, kind, crc32c.crc32c(payload)) + payload


def frame_length(prefix: bytes) -> int:
    """Check a 4-byte length prefix and return how many bytes follow it."""
    (length,) = LENGTH.unpack(prefix)
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
    """Cuts a byte stream into messages; used by every shell's connection handler."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[m.Wire]:
        """Add received bytes; return every complete message. Raises FrameError on the
        first bad frame, after which the connection must be closed."""
        self._buffer += data
        out: list[m.Wire] = []
        pos = 0
        while len(self._buffer) - pos >= LENGTH.size:
            length = frame_length(bytes(self._buffer[pos : pos + LENGTH.size]))
            end = pos + LENGTH.size + length
            if len(self._buffer) < end:
                break
            out.append(decode_frame(bytes(self._buffer[pos + LENGTH.size : end])))
            pos = end
        # One deletion per feed: deleting per frame would copy the buffer once per frame.
        del self._buffer[:pos]
        return out
