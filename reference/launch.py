"""Start broker nodes as separate processes (`noloss broker ...`) and learn their
addresses: used by `noloss cluster`, the process-level tests and the benchmark.

A node started here exits when the process that started it dies, however it dies
(SIGKILL included): it inherits the read end of a pipe whose only write end this
process holds (`--parent-pipe`), and stops cleanly when the pipe reports end-of-file,
which the kernel does as soon as the write end's holder is gone. (Linux's
PR_SET_PDEATHSIG would tie the node to the *thread* that forked it instead, so a node
started from a worker thread would die with that thread; the pipe has no such catch and
works on any POSIX system.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import IO

from noloss.reference.core import FlushType, Role
from noloss.reference.presets import ClusterSettings

READY_MARK = " listening on "


@dataclass
class BrokerProcess:
    """A running `noloss broker` and where it listens."""

    process: subprocess.Popen[bytes]
    address: str
    argv: list[str]
    lifeline: int = -1
    """Our end of the pipe the node watches: closing it (or dying) stops the node."""

    def kill(self) -> float:
        """SIGKILL: the process dies at once, its page cache survives. Returns the
        time.monotonic() at which it was killed: from then on it acts on nothing."""
        killed = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            killed = time.monotonic()
        self.process.wait()
        self._release()
        return killed

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM and wait (SIGKILL if it does not go)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._release()

    def _release(self) -> None:
        if self.lifeline >= 0:
            os.close(self.lifeline)
            self.lifeline = -1


def broker_argv(role: Role, flush: FlushType, data_dir: str, port: int = 0, master: str | None = None, host: str = "127.0.0.1", extra: tuple[str, ...] = ()) -> list[str]:
    """The command line of one node."""
    argv = [sys.executable, "-m", "noloss", "broker", "--role", role, "--flush", flush]
    argv += ["--data-dir", data_dir, "--port", str(port), "--host", host, *extra]
    return argv + (["--master", master] if master else [])


def start_broker(argv: list[str], stderr: IO[bytes] | int | None = None) -> BrokerProcess:
    """Run `argv` and wait for its "listening on HOST:PORT" line. The node exits when
    this process dies (see the module's docstring)."""
    watched, lifeline = os.pipe()
    os.set_inheritable(watched, True)
    try:
        process = subprocess.Popen(
            [*argv, "--parent-pipe", str(watched)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            pass_fds=(watched,),
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    except BaseException:
        os.close(lifeline)
        raise
    finally:
        os.close(watched)
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    if READY_MARK not in line:
        process.kill()
        process.wait()
        os.close(lifeline)
        raise RuntimeError(f"broker did not start: {' '.join(argv[3:])} (exit {process.returncode})")
    address = line.split(READY_MARK, 1)[1].split()[0]
    return BrokerProcess(process, address, argv, lifeline)


def restart(broker: BrokerProcess, stderr: IO[bytes] | int | None = None) -> BrokerProcess:
    """Start the same node again on the port it had."""
    argv = list(broker.argv)
    argv[argv.index("--port") + 1] = broker.address.rsplit(":", 1)[1]
    return start_broker(argv, stderr)


def start_cluster(
    settings: ClusterSettings, data_dir: str, master_port: int = 0, slave_port: int = 0, host: str = "127.0.0.1", extra: tuple[str, ...] = (), stderr: IO[bytes] | int | None = None
) -> tuple[BrokerProcess, BrokerProcess]:
    """A master, then a slave replicating from it, each in data_dir/master and data_dir/slave."""
    extra = settings.options() + extra
    master = start_broker(broker_argv(settings.master_role, settings.master_flush, os.path.join(data_dir, "master"), master_port, None, host, extra), stderr)
    try:
        slave_argv = broker_argv(Role.SLAVE, settings.slave_flush, os.path.join(data_dir, "slave"), slave_port, master.address, host, extra)
        slave = start_broker(slave_argv, stderr)
    except BaseException:
        master.stop()
        raise
    return master, slave
