"""The wire codec: round trips, and every kind of bad frame is refused with a reason."""

from __future__ import annotations

import struct

import pytest

from reference import frames
from reference import messages as m

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
]


@pytest.mark.parametrize("message", SAMPLES, ids=lambda s: type(s).__name__)
def test_round_trip(message: m.Wire) -> None:
    encoded = frames.encode_frame(message)
    assert frames.FrameBuffer().feed(encoded) == [message]


def test_buffer_cuts_a_stream_at_any_split() -> None:
    stream = b"".join(frames.encode_frame(s) for s in SAMPLES)
    for split in (1, 3, 4, 5, 17, len(stream) - 1):
        buffer = frames.FrameBuffer()
        assert buffer.feed(stream[:split]) + buffer.feed(stream[split:]) == SAMPLES


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
        return frames.HEADER.pack(6 + len(payload), 1, kind, crc32c.crc32c(payload)) + payload

    assert "payload ends early" in _reason(frame(9, b"\x00" * 3))
    assert "stray bytes" in _reason(frame(9, b"\x00" * 17))
    assert "cannot fit" in _reason(frame(5, struct.pack(">qHsqI", 1, 1, b"F", 0, 1_000_000)))
    assert "not UTF-8" in _reason(frame(7, struct.pack(">qH", 1, 1) + b"\xff" + struct.pack(">H", 0)))
