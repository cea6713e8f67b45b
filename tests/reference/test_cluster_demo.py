"""README's failover demo, as written: start a cluster, produce, consume some, kill -9 the
master, keep consuming from the slave, start the master again with the command the cluster
prints. And `consume --count N` commits exactly N; no broker reachable is exit 4."""

from __future__ import annotations

import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from noloss.cli import main

NOLOSS = [sys.executable, "-m", "noloss"]


class Cluster:
    """`noloss cluster` in the background; its stdout lines arrive on a queue."""

    def __init__(self, data_dir: Path) -> None:
        argv = [*NOLOSS, "cluster", "--preset", "strict", "--data-dir", str(data_dir), "--master-port", "0", "--slave-port", "0"]
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.master, self.master_pid = self._node("master ")
        self.slave, _ = self._node("slave  ")
        assert self.line() == "Ctrl-C stops both."

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def line(self, timeout: float = 30) -> str:
        return self.lines.get(timeout=timeout)

    def _node(self, prefix: str) -> tuple[str, int]:
        line = self.line()
        assert line.startswith(prefix), line
        return line.split()[1], int(line.split()[-1])


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(tmp_path / "noloss")
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.send_signal(signal.SIGINT)
            running.process.wait(timeout=20)


def noloss(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    return code, capsys.readouterr().out.splitlines()


@pytest.mark.slow
def test_the_failover_demo_works_as_written(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    both = f"{cluster.master},{cluster.slave}"
    code, lines = noloss(capsys, "produce", "--broker", cluster.master, "one", "two", "three")
    assert code == 0 and [line.split()[0] for line in lines] == ["SEND_OK"] * 3
    code, lines = noloss(capsys, "consume", "--broker", both, "--group", "demo", "--count", "1")
    assert (code, lines) == (0, ["TopicTest#0 one"])

    os.kill(cluster.master_pid, signal.SIGKILL)
    assert cluster.line() == (
        f"master {cluster.master} (pid {cluster.master_pid}) killed by SIGKILL; the slave keeps serving {cluster.slave}"
    )
    restart = cluster.line()
    assert restart.startswith("  start it again: noloss broker --role SYNC_MASTER ")
    assert cluster.process.poll() is None  # the cluster, and its slave, keep running

    # The slave serves the rest (its copy of the group's offset may lag: at least once).
    code, lines = noloss(capsys, "consume", "--broker", both, "--group", "demo", "--idle", "2")
    assert code == 0 and {"TopicTest#1 two", "TopicTest#2 three"} <= set(lines)

    argv = shlex.split(restart.removeprefix("  start it again: "))
    assert argv[0] == "noloss" and argv[argv.index("--port") + 1] == cluster.master.rsplit(":", 1)[1]
    master = subprocess.Popen([*NOLOSS, *argv[1:]], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert master.stdout is not None and " listening on " in master.stdout.readline()
        # Stored at once; SLAVE_NOT_AVAILABLE until the slave has reconnected, then SEND_OK.
        code, lines = noloss(capsys, "produce", "--broker", cluster.master, "four")
        assert code == 0 and lines[0].split()[0] in ("SEND_OK", "SLAVE_NOT_AVAILABLE") and lines[0].endswith("queue_offset=3")
        deadline = time.monotonic() + 20
        while lines[0].split()[0] != "SEND_OK" and time.monotonic() < deadline:
            time.sleep(0.5)
            code, lines = noloss(capsys, "produce", "--broker", cluster.master, "again")
        assert code == 0 and lines[0].startswith("SEND_OK ")
    finally:
        master.send_signal(signal.SIGTERM)
        master.wait(timeout=20)


def test_consume_count_commits_exactly_n_and_escapes_control_characters(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    noloss(capsys, "produce", "--broker", cluster.master, *[f"m{i}" for i in range(5)])
    code, lines = noloss(capsys, "consume", "--broker", cluster.master, "--group", "g", "--count", "2")
    assert (code, lines) == (0, ["TopicTest#0 m0", "TopicTest#1 m1"])
    # The next consumer of the group starts exactly after them: nothing skipped, nothing again.
    code, lines = noloss(capsys, "consume", "--broker", cluster.master, "--group", "g", "--count", "2")
    assert (code, lines) == (0, ["TopicTest#2 m2", "TopicTest#3 m3"])
    # A body is data: an escape sequence in it must not rewrite the terminal, a newline must
    # not split its line.
    noloss(capsys, "produce", "--broker", cluster.master, "\x1b]0;owned\x07title", "two\nlines")
    code, lines = noloss(capsys, "consume", "--broker", cluster.master, "--group", "g", "--count", "3")
    assert (code, lines) == (0, ["TopicTest#4 m4", "TopicTest#5 \\x1b]0;owned\\x07title", "TopicTest#6 two\\nlines"])


def test_an_unreachable_broker_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
        code = main(["consume", "--broker", address, "--idle", "1"])
        out, err = capsys.readouterr()
        assert (code, out, err) == (4, "", f"noloss: error: no broker reachable at {address}\n")
        code = main(["produce", "--broker", address, "x"])
        assert code == 4 and "Traceback" not in capsys.readouterr().err


def test_a_listener_that_is_no_broker_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    # Something else on the port (here it answers HTTP): reachable, but no broker ever answers.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        address = f"127.0.0.1:{server.getsockname()[1]}"

        def answer() -> None:
            while True:
                try:
                    connection, _ = server.accept()
                except OSError:
                    return
                with connection:
                    connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

        threading.Thread(target=answer, daemon=True).start()
        code = main(["consume", "--broker", address, "--idle", "1"])
    out, err = capsys.readouterr()
    assert (code, out) == (4, "")
    assert err.splitlines()[-1] == f"noloss: error: no broker answered at {address} within 1 s"


def test_data_dir_problems_name_the_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    for data_dir, reason in ((a_file, "exists and is not a directory"), (a_file / "sub", "cannot create it: Not a directory")):
        for argv in (["broker", "--role", "ASYNC_MASTER", "--flush", "ASYNC_FLUSH", "--port", "0"], ["cluster", "--preset", "strict"]):
            code = main([*argv, "--data-dir", str(data_dir)])
            err = capsys.readouterr().err
            assert code == 2 and err.startswith("noloss: error: --data-dir ") and reason in err, err


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` read-only for this process, root included: root ignores mode bits, so as root the
    inode is made immutable (chattr +i; ext4, xfs, btrfs), which binds root too."""
    if os.geteuid() != 0:
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(0o755 if path.is_dir() else 0o644)
        return
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.fail(f"chattr +i {path}: {made.stderr.strip()} (a read-only directory for root needs a filesystem with the immutable attribute)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_data_dir_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    with read_only(locked):
        assert not os.access(locked, os.W_OK)
        for argv in (["broker", "--role", "ASYNC_MASTER", "--flush", "ASYNC_FLUSH", "--port", "0"], ["cluster", "--preset", "strict"]):
            code = main([*argv, "--data-dir", str(locked)])
            assert (code, capsys.readouterr().err) == (2, f"noloss: error: --data-dir {locked}: not writable\n")
    # A writable directory whose commit log cannot be written: the broker names the file, not the port.
    data = tmp_path / "data"
    data.mkdir()
    (data / "commitlog").write_bytes(b"")
    argv = [*NOLOSS, "broker", "--role", "ASYNC_MASTER", "--flush", "ASYNC_FLUSH", "--port", "0", "--data-dir", str(data)]
    with read_only(data / "commitlog"):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith(f"noloss: error: --data-dir {data}: {data / 'commitlog'}: "), done.stderr


@pytest.mark.slow
def test_an_oversized_body_or_a_port_in_use_is_one_line(cluster: Cluster, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["produce", "--broker", cluster.master, "small", "x" * 5_000_000])
    out, err = capsys.readouterr()
    assert code == 2 and out.startswith("SEND_OK ") and "Traceback" not in err
    assert err.startswith("noloss: error: message 2 (5,000,000 bytes): frame of ") and err.count("\n") == 1
    port = cluster.master.rsplit(":", 1)[1]
    argv = [*NOLOSS, "cluster", "--preset", "strict", "--data-dir", str(tmp_path / "second"), "--master-port", port]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"cannot serve on 127.0.0.1:{port}: " in done.stderr and "address already in use" in done.stderr
    assert done.stderr.rstrip().splitlines()[-1].startswith("noloss: error: cluster: broker did not start: ")
