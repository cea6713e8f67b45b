"""A real broker process: bad input closes only the offending connection, recovery after
a torn or corrupted tail, and the clients' statuses, retries, retry topic and DLQ."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import crc32c
import pytest
from conftest import Brokers

from noloss.cli import main
from noloss.reference import frames
from noloss.reference.client import BrokerError, ConsumeStatus, Consumer, Message, Producer, SendFailed, SendStatus
from noloss.reference.core import FlushType, Role


def _raw_exchange(address: str, data: bytes) -> bytes:
    """Send raw bytes; return all the broker sends back until it closes the connection
    (a reset, when the broker closed before reading everything, counts as closing)."""
    host, port = address.rsplit(":", 1)
    received = b""
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        try:
            sock.sendall(data)
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return received


def _frame(version: int, kind: int, payload: bytes, crc: int | None = None) -> bytes:
    crc = crc32c.crc32c(payload) if crc is None else crc
    return struct.pack(">IBBI", 6 + len(payload), version, kind, crc) + payload


def _consume_all(addresses: str, group: str, topic: str, want: int, timeout_s: float = 20) -> list[Message]:
    got: list[Message] = []

    def handler(message: Message) -> ConsumeStatus:
        got.append(message)
        return ConsumeStatus.CONSUME_SUCCESS

    consumer = Consumer(group, topic, handler, addresses.split(","), pull_batch_size=256)
    consumer.start()
    deadline = time.monotonic() + timeout_s
    while len(got) < want and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)  # room for a wrong extra message to show up
    consumer.shutdown()
    return got


def test_bad_frames_close_only_their_connection(brokers: Brokers) -> None:
    master = brokers.master()
    producer = Producer(master.address)
    try:
        assert producer.send("TopicTest", b"before").status == SendStatus.SEND_OK
        good = _frame(frames.WIRE_VERSION, 1, b"")
        bad_inputs = {
            "unsupported wire version 9": _frame(9, 1, b"x"),
            "exceeds the limit": struct.pack(">I", frames.MAX_FRAME_BYTES + 1) + b"\x01" * 64,
            "unknown frame kind 77": _frame(frames.WIRE_VERSION, 77, b""),
            "CRC mismatch": _frame(frames.WIRE_VERSION, 1, b"abc", crc=123),
            "payload ends early": good,
            "shorter than its header": struct.pack(">I", 1) + b"\x01",
        }
        for reason, data in bad_inputs.items():
            assert _raw_exchange(master.address, data) == b"", reason
            # The producer's connection, open all along, is untouched.
            assert producer.send("TopicTest", reason.encode()).status == SendStatus.SEND_OK
        with pytest.raises(BrokerError, match="TOPIC_NOT_EXIST"):
            producer.send("NoSuchTopic", b"x")
        with pytest.raises(BrokerError, match="MESSAGE_ILLEGAL"):
            producer.send("TopicTest", b"x" * (4 * 1024 * 1024 + 1))
        assert producer.send("TopicTest", b"after").status == SendStatus.SEND_OK
    finally:
        producer.shutdown()
    log = brokers.log_of()
    for reason in bad_inputs:
        (line,) = [line for line in log.splitlines() if reason in line]
        assert "closing connection" in line
    bodies = [x.body for x in _consume_all(master.address, "g", "TopicTest", 8)]
    assert bodies == [b"before", *[r.encode() for r in bad_inputs], b"after"]


def test_command_line_bad_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["broker", "--role", "SYNC_MASTER", "--flush", "SYNC_FLUSH", "--data-dir", str(tmp_path), "--port", "abc"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == "noloss: error: argument --port: not a port number: 'abc' (0-65535)\n"
    assert main(["broker", "--role", "SLAVE", "--flush", "SYNC_FLUSH", "--data-dir", str(tmp_path), "--port", "0"]) == 2
    assert "--master HOST:PORT is required" in capsys.readouterr().err
    assert main(["broker", "--role", "SLAVE", "--flush", "SYNC_FLUSH", "--data-dir", str(tmp_path), "--port", "0", "--master", "host:x"]) == 2
    assert capsys.readouterr().err == "noloss: error: --master: address 'host:x' has no valid port (1-65535)\n"
    assert main(["broker", "--role", "SYNC_MASTER", "--flush", "SYNC_FLUSH", "--data-dir", str(tmp_path), "--port", "0", "--rocketmq-version", "6.0"]) == 2
    assert capsys.readouterr().err.startswith("noloss: error: --rocketmq-version: unknown release '6.0': allowed 4.9.3, ")
    assert main(["broker", "--role", "SYNC_MASTER", "--flush", "SYNC_FLUSH", "--data-dir", str(tmp_path), "--port", "0", "--in-sync-replicas", "0"]) == 2
    assert capsys.readouterr().err == "noloss: error: --in-sync-replicas: 0 is below 1\n"
    assert main(["produce", "--broker", "nowhere", "x"]) == 2


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_restart_after_a_damaged_tail_above_the_checkpoint_keeps_every_earlier_record(brokers: Brokers, damage: str) -> None:
    # A long checkpoint interval: the clean stop checkpoints the first ten records, and
    # the next ten stay above the checkpoint until the SIGKILL.
    master = brokers.master(extra=("--checkpoint-interval-ms", "600000"))
    producer = Producer(master.address)
    offsets = [int(producer.send("TopicTest", b"m%02d" % i).msg_id, 16) for i in range(10)]
    producer.shutdown()
    master.stop()
    master = brokers.restart(master)
    producer = Producer(master.address)
    offsets += [int(producer.send("TopicTest", b"m%02d" % i).msg_id, 16) for i in range(10, 20)]
    producer.shutdown()
    master.kill()
    path = brokers.root / "master" / "commitlog"
    size = path.stat().st_size
    if damage == "truncate":
        os.truncate(path, offsets[-1] + 10)
        dropped = 10
    else:
        data = bytearray(path.read_bytes())
        data[offsets[-1] + 40] ^= 0x10
        path.write_bytes(bytes(data))
        dropped = size - offsets[-1]
    master = brokers.restart(master)
    assert f"scanned from offset {offsets[10]}; dropped {dropped} bytes of torn/corrupt tail at offset {offsets[-1]}" in brokers.log_of()
    bodies = [x.body for x in _consume_all(master.address, "g", "TopicTest", 19)]
    assert bodies == [b"m%02d" % i for i in range(19)]


def test_a_damaged_record_below_the_checkpoint_stops_the_broker_and_keeps_the_file(brokers: Brokers) -> None:
    master = brokers.master()
    producer = Producer(master.address)
    offsets = [int(producer.send("TopicTest", b"m%02d" % i).msg_id, 16) for i in range(20)]
    producer.shutdown()
    master.stop()  # a clean stop checkpoints all twenty
    path = brokers.root / "master" / "commitlog"
    data = bytearray(path.read_bytes())
    data[offsets[7] + 40] ^= 0x01  # one bit of record 7 of 20
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="exit 2"):
        brokers.restart(master)
    errors = [line for line in brokers.log_of().splitlines() if line.startswith("noloss: error:")]
    assert errors == [
        f"noloss: error: {path}: damaged record at byte offset {offsets[7]} (CRC mismatch), "
        f"below the {len(data)} bytes the checkpoint says were fsynced; refusing to start"
    ]
    assert path.read_bytes() == bytes(data)


def test_failed_messages_go_to_retry_then_dlq_and_exceptions_count_as_failures(brokers: Brokers) -> None:
    master = brokers.master()
    producer = Producer(master.address)
    producer.send("TopicTest", b"ok", key="good")
    producer.send("TopicTest", b"bad", key="bad")
    producer.shutdown()
    calls: list[tuple[str, int]] = []

    def handler(message: Message) -> ConsumeStatus:
        calls.append((message.key, message.reconsume_times))
        if message.key == "good":
            return ConsumeStatus.CONSUME_SUCCESS
        if message.reconsume_times % 2:
            raise RuntimeError("business logic failed")
        return ConsumeStatus.RECONSUME_LATER

    consumer = Consumer("g", "TopicTest", handler, master.address, max_reconsume_times=3)
    consumer.start()
    deadline = time.monotonic() + 10
    while len(calls) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    consumer.shutdown()
    assert sorted(calls) == [("bad", 0), ("bad", 1), ("bad", 2), ("bad", 3), ("good", 0)]
    dead = _consume_all(master.address, "dlq-reader", "%DLQ%g", 1)
    assert [(x.key, x.body, x.origin_topic, x.reconsume_times) for x in dead] == [("bad", b"bad", "TopicTest", 4)]


def test_sync_send_retries_network_errors_but_returns_statuses(brokers: Brokers) -> None:
    master = brokers.master(Role.SYNC_MASTER, FlushType.SYNC_FLUSH)
    producer = Producer(master.address)
    try:
        # No slave: stored but SLAVE_NOT_AVAILABLE, handed back, not retried (stored once).
        first = producer.send("TopicTest", b"a")
        second = producer.send("TopicTest", b"b")
        assert (first.status, first.queue_offset, second.queue_offset) == (SendStatus.SLAVE_NOT_AVAILABLE, 0, 1)
        master.kill()
        started = time.monotonic()
        with pytest.raises(SendFailed, match="after 3 attempts"):
            producer.send("TopicTest", b"c")
        assert time.monotonic() - started < 3
    finally:
        producer.shutdown()


def test_committed_offsets_survive_a_broker_restart(brokers: Brokers) -> None:
    master = brokers.master()
    producer = Producer(master.address)
    for i in range(5):
        producer.send("TopicTest", b"%d" % i)
    producer.shutdown()
    assert len(_consume_all(master.address, "g", "TopicTest", 5)) == 5
    master.stop()  # a clean stop persists offsets at once
    master = brokers.restart(master)
    producer = Producer(master.address)
    producer.send("TopicTest", b"new")
    producer.shutdown()
    assert [x.body for x in _consume_all(master.address, "g", "TopicTest", 1)] == [b"new"]


def test_consumers_read_from_the_slave_while_the_master_is_down(brokers: Brokers) -> None:
    master, slave = brokers.cluster("strict")
    producer = Producer(master.address)
    deadline = time.monotonic() + 10
    # The slave may still be connecting: resend until SEND_OK, as a careful producer does.
    while producer.send("TopicTest", b"0").status != SendStatus.SEND_OK and time.monotonic() < deadline:
        time.sleep(0.05)
    assert {producer.send("TopicTest", b"%d" % i).status for i in range(1, 10)} == {SendStatus.SEND_OK}
    producer.shutdown()
    master.kill()
    bodies = [x.body for x in _consume_all(f"{master.address},{slave.address}", "g", "TopicTest", 10)]
    assert set(bodies) == {b"%d" % i for i in range(10)}  # "0" maybe more than once
    assert bodies[-9:] == [b"%d" % i for i in range(1, 10)]


def test_starting_a_broker_imports_no_graph_or_array_library() -> None:
    """`python -m noloss broker` runs at every restart of a conformance run; numpy, scipy and
    networkx (the checker's liveness pass and exports) would add about 0.35 s to each."""
    probe = "import sys, noloss.cli; print(sorted(m for m in ('numpy', 'scipy', 'networkx') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
