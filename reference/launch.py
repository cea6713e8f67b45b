"""Start broker nodes as separate processes (`noloss broker ...`) and learn their
addresses: used by `noloss cluster`, the process-level tests and the benchmark."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import IO

from reference.core import FlushType, Role
from reference.presets import ClusterSettings

READY_MARK = " listening on "


@dataclass
class BrokerProcess:
    """A running `noloss broker` and where it listens."""

    process: subprocess.Popen[bytes]
    address: str
    argv: list[str]

    def kill(self) -> None:
        """SIGKILL: the process dies at once, its page cache survives."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM and wait (SIGKILL if it does not go)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()


def broker_argv(role: Role, flush: FlushType, data_dir: str, port: int = 0, master: str | None = None, host: str = "127.0.0.1", extra: tuple[str, ...] = ()) -> list[str]:
    """The command line of one node."""
    argv = [sys.executable, "-m", "model_check.cli", "broker", "--role", role, "--flush", flush]
    argv += ["--data-dir", data_dir, "--port", str(port), "--host", host, *extra]
    return argv + (["--master", master] if master else [])


def start_broker(argv: list[str], stderr: IO[bytes] | int | None = None) -> BrokerProcess:
    """Run `argv` and wait for its "listening on HOST:PORT" line."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    if READY_MARK not in line:
        process.kill()
        process.wait()
        raise RuntimeError(f"broker did not start: {' '.join(argv[3:])} (exit {process.returncode})")
    address = line.split(READY_MARK, 1)[1].split()[0]
    return BrokerProcess(process, address, argv)


def restart(broker: BrokerProcess, stderr: IO[bytes] | int | None = None) -> BrokerProcess:
    """Start the same node again on the port it had."""
    argv = list(broker.argv)
    argv[argv.index("--port") + 1] = broker.address.rsplit(":", 1)[1]
    return start_broker(argv, stderr)


def start_cluster(
    settings: ClusterSettings, data_dir: str, master_port: int = 0, slave_port: int = 0, host: str = "127.0.0.1", extra: tuple[str, ...] = (), stderr: IO[bytes] | int | None = None
) -> tuple[BrokerProcess, BrokerProcess]:
    """A master, then a slave replicating from it, each in data_dir/master and data_dir/slave."""
    master = start_broker(broker_argv(settings.master_role, settings.master_flush, os.path.join(data_dir, "master"), master_port, None, host, extra), stderr)
    try:
        slave_argv = broker_argv(Role.SLAVE, settings.slave_flush, os.path.join(data_dir, "slave"), slave_port, master.address, host, extra)
        slave = start_broker(slave_argv, stderr)
    except BaseException:
        master.stop()
        raise
    return master, slave
