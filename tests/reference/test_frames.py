"""The wire codec: round trips, and every kind of bad frame is refused with a reason."""

from __future__ import annotations

import struct

import pytest

from noloss.reference import frames
from noloss.reference import messages as m

SAMPLES: list[m.Wire] = [
    m.SendRequest(1, "TopicTest", "k1", b"hello", False),
    m.SendReply(2, "SEND_OK", "00000000000000A0", 7, ""),
    m.SendBackRequest(3, "g", "TopicTest", "", b"\x00\xff", 2, 16),
    m.PullRequest(4, "TopicTest", 10, 32, 1000),
    m.PullReply(5, "FOUND", 2, (m.Message("t", 0, 0, "k", b"x", 0, ""), m.Message("t", 1, 60, "", b"", 3, "o")), ""),
    m.CommitOffsetRequest(6, "g", "t", -1),
    m.QueryOffsetRequest(7, "g", "t"),
    m.OffsetReply(8, "OK", 12, "ünïcode"),
    m.HaReport(100, 50),
    m.HaData(100, b"records"),
    m.HaHello(100, 50, 60, 0xDEADBEEF),
    m.HaTruncate(60),
    m.ConsumerOffsetsRequest(9),
    m.ConsumerOffsetsReply(9, b'[["g", "t", 3]]'),
]


PINNED = [
    ("SendRequest", "000000270201c70266ce00000000000000010009546f7069635465737400026b310000000568656c6c6f00"),
    ("SendReply", "0000003302023ae9f41b0000000000000002000753454e445f4f4b00103030303030303030303030303030413000000000000000070000"),
    ("SendBackRequest", "00000034020339a46f4400000000000000030001670009546f7069635465737400000000000200ff00000000000000020000000000000010"),
    ("PullRequest", "0000003102044f96dd3d00000000000000040009546f70696354657374000000000000000a000000000000002000000000000003e8"),
    ("PullReply", "0000006c020574e0e72b00000000000000050005464f554e440000000000000002000000020001740000000000000000000000000000000000016b0000000178000000000000000000000001740000000000000001000000000000003c000000000000000000000000000300016f0000"),
    ("CommitOffsetRequest", "0000001c020609c1077a0000000000000006000167000174ffffffffffffffff"),
    ("QueryOffsetRequest", "00000014020793bc40170000000000000007000167000174"),
    ("OffsetReply", "000000250208b0119c2a000000000000000800024f4b000000000000000c0009c3bc6ec3af636f6465"),
    ("HaReport", "00000016020976b27fac00000000000000640000000000000032"),
    ("HaData", "00000019020a4342942e0000000000000064000000077265636f726473"),
    ("HaHello", "00000026020b84edc21c00000000000000640000000000000032000000000000003c00000000deadbeef"),
    ("HaTruncate", "0000000e020cf18834eb000000000000003c"),
    ("ConsumerOffsetsRequest", "0000000e020df49a69460000000000000009"),
    ("ConsumerOffsetsReply", "00000021020e76d1c24500000000000000090000000f5b5b2267222c202274222c20335d5d"),
]
"""The bytes of each sample, as WIRE_VERSION 2 lays them out. A change here is a change
of the wire format: it needs a new WIRE_VERSION and docs/protocol.md to follow."""


@pytest.mark.parametrize(("message", "pinned"), list(zip(SAMPLES, PINNED)), ids=lambda s: type(s).__name__)
def test_each_kind_of_frame_has_pinned_bytes(message: m.Wire, pinned: tuple[str, str]) -> None:
    name, hex_bytes = pinned
    assert type(message).__name__ == name
    assert frames.encode_frame(message).hex() == hex_bytes
    assert frames.FrameBuffer().feed(bytes.fromhex(hex_bytes)) == [message]


def test_every_kind_has_a_sample_and_a_layout_must_name_every_field() -> None:
    assert sorted(type(s).__name__ for s in SAMPLES) == sorted(cls.__name__ for cls in frames.KINDS.values())
    with pytest.raises(TypeError, match="wire layout of HaReport lists"):
        frames._record(m.HaReport, (("flushed_offset", frames.I64),))


def test_a_layout_in_another_order_than_the_declaration_decodes_each_field_into_its_place() -> None:
    encode, decode = frames._record(m.HaReport, (("flushed_offset", frames.I64), ("stored_offset", frames.I64)))
    payload = bytearray()
    encode(payload, m.HaReport(stored_offset=7, flushed_offset=3))
    assert bytes(payload) == struct.pack(">qq", 3, 7)
    assert decode(frames._Reader(bytes(payload))) == m.HaReport(stored_offset=7, flushed_offset=3)


@pytest.mark.parametrize("message", SAMPLES, ids=lambda s: type(s).__name__)
def test_round_trip(message: m.Wire) -> None:
    encoded = frames.encode_frame(message)
    assert frames.FrameBuffer().feed(encoded) == [message]


def test_buffer_cuts_a_stream_at_any_split() -> None:
    stream = b"".join(frames.encode_frame(s) for s in SAMPLES)
    for split in (1, 3, 4, 5, 17, len(stream) - 1):
        buffer = frames.FrameBuffer()
        assert buffer.feed(stream[:split]) + buffer.feed(stream[split:]) == SAMPLES


def test_buffer_cuts_a_stream_fed_a_byte_at_a_time() -> None:
    # Every frame arrives in pieces, the held bytes short of it until its last byte.
    stream = b"".join(frames.encode_frame(s) for s in SAMPLES)
    buffer = frames.FrameBuffer()
    got = [message for i in range(len(stream)) for message in buffer.feed(stream[i : i + 1])]
    assert got == SAMPLES


def _reason(data: bytes) -> str:
    with pytest.raises(frames.FrameError) as caught:
        frames.FrameBuffer().feed(data)
    return str(caught.value)


def test_oversized_frame_is_refused_from_its_prefix_alone() -> None:
    assert "exceeds the limit" in _reason(struct.pack(">I", frames.MAX_FRAME_BYTES + 1))


def test_short_frame_is_refused() -> None:
    assert "shorter than its header" in _reason(struct.pack(">I", 2) + b"\x01\x01")


def test_unknown_kind_bad_version_and_crc() -> None:
    good = bytearray(frames.encode_frame(SAMPLES[0]))
    unknown = bytearray(good)
    unknown[5] = 99
    assert "unknown frame kind 99" in _reason(bytes(unknown))
    version = bytearray(good)
    version[4] = 7
    assert "unsupported wire version 7" in _reason(bytes(version))
    flipped = bytearray(good)
    flipped[-1] ^= 0x40
    assert "CRC mismatch" in _reason(bytes(flipped))


def test_payload_that_ends_early_or_has_stray_bytes() -> None:
    import crc32c

    def frame(kind: int, payload: bytes) -> bytes:
        return frames.HEADER.pack(6 + len(payload), frames.WIRE_VERSION, kind, crc32c.crc32c(payload)) + payload

    assert "payload ends early" in _reason(frame(9, b"\x00" * 3))
    assert "stray bytes" in _reason(frame(9, b"\x00" * 17))
    assert "cannot fit" in _reason(frame(5, struct.pack(">qHsqI", 1, 1, b"F", 0, 1_000_000)))
    assert "not UTF-8" in _reason(frame(7, struct.pack(">qH", 1, 1) + b"\xff" + struct.pack(">H", 0)))
