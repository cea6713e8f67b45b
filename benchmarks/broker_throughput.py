"""Throughput and send latency of the reference broker, beside the disk's fsync rate and
beside Redis.

Run: .venv/bin/python benchmarks/broker_throughput.py [--seconds 3] [--data-dir DIR] [--side-by-side-only]
(the Redis comparison needs the `bench` extra: pip install -e '.[bench]', and redis-server)

For each setting (ASYNC_FLUSH+ASYNC_MASTER, SYNC_FLUSH+ASYNC_MASTER, strict) it
starts a master and a slave as processes on loopback and drives them with 1 and with 32
concurrent producers (each its own connection, sync sends, 1 KiB bodies) for a fixed
time, then prints messages/s, p50/p99 send latency, and how many
messages the master stored per fsync of its log. The limit beside them is what a
plain loop writing 1 KiB and fsyncing sustains on the same disk: SYNC_FLUSH beats it
only by sharing fsyncs between waiting sends (group commit). Not a test: figures depend
on the machine; all processes run on it together (broker, slave and clients).

Side by side, in the same run: a SYNC_FLUSH master (alone, no slave) and our own
redis-server with `appendonly yes` + `appendfsync always` (every write fsynced before
the reply, as SYNC_FLUSH), each driven by CLIENTS connections sending 1 KiB bodies
(SendRequest / XADD) for the same time, twice in turn, by three kinds of client:

* the libraries: the broker by our AsyncProducer, Redis by redis-py (one asyncio
  process each time);
* the same lean client for both (lean_clients.py: one process, raw Protocols, a
  pre-encoded request, each connection waiting for its reply before the next send, as
  redis-benchmark does without -P): the ratio of these two rows compares the servers;
* redis-benchmark (C), Redis only: what Redis reaches when its client costs nothing
  in Python.

Printed per row: the rate; `x peer`, the ratio to Redis driven by the same kind of
client; `x C`, the ratio to Redis under redis-benchmark; the master's fsyncs and
messages per fsync, and the share of the time it spent in fdatasync (near 1.0: the disk
is the limit); and the CPU time the server and the client processes used per second of
wall time (near 1.0: CPU-bound; well below: waiting, for the disk or the other side) and
per message. The load average is printed too: the machine may be shared, and the clients
and servers share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import lean_clients  # noqa: E402
from noloss.reference import event_loop  # noqa: E402
from noloss.reference.client import AsyncProducer, SendStatus, parse_address  # noqa: E402
from noloss.reference.core import FlushType, Role  # noqa: E402
from noloss.reference.launch import broker_argv, start_broker, start_cluster  # noqa: E402
from noloss.reference.presets import PRESETS  # noqa: E402

SETTINGS = [
    ("ASYNC_FLUSH+ASYNC_MASTER", "rocketmq-default"),
    ("SYNC_FLUSH+ASYNC_MASTER", "sync-flush-async-master"),
    ("strict", "strict"),
]
BODY = b"x" * 1024
CLIENTS = 32
BROKER_REQUEST = lean_clients.broker_request("TopicTest", BODY)


def fsync_rate(directory: str, seconds: float) -> float:
    """fsyncs per second of a loop that appends 1 KiB and fsyncs."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    count, start = 0, time.perf_counter()
    try:
        while time.perf_counter() - start < seconds:
            os.write(fd, BODY)
            os.fsync(fd)
            count += 1
    finally:
        os.close(fd)
        os.unlink(path)
    return count / (time.perf_counter() - start)


async def drive(address: str, producers: int, seconds: float) -> tuple[int, list[float]]:
    """Run `producers` concurrent sync senders for `seconds`; return sends and latencies."""
    clients = [AsyncProducer(address, send_timeout_ms=30_000) for _ in range(producers)]
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def sender(client: AsyncProducer) -> None:
        while time.perf_counter() < stop:
            began = time.perf_counter()
            result = await client.send("TopicTest", BODY)
            latencies.append(time.perf_counter() - began)
            if result.status != SendStatus.SEND_OK:
                raise RuntimeError(f"unexpected {result.status}")

    await asyncio.gather(*(sender(c) for c in clients))
    for client in clients:
        await client.close()
    return len(latencies), latencies


def master_fsyncs(log_path: str) -> int:
    """The master's fsync count, from the line it logs when it stops."""
    return master_stopping(log_path)[0]


def master_stopping(log_path: str) -> tuple[int, float | None]:
    """The master's fsync count and the seconds it spent in them (None from a broker
    that does not say), from the line it logs when it stops."""
    with open(log_path) as log:
        for line in log:
            said = STOPPING.search(line)
            if said is not None:
                return int(said[1]), float(said[2]) if said[2] is not None else None
    return 0, None


STOPPING = re.compile(r"master INFO stopping: (\d+) log fsyncs(?: \(([\d.]+) s in fsync\))?")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time process `pid` has used (all its threads)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def client_cpu() -> float:
    """CPU time this process (the benchmark's clients) has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


LIBRARY, LEAN, C_CLIENT = "library", "lean", "redis-benchmark"
"""The kinds of client (see the module's docstring); the library is AsyncProducer or redis-py."""


@dataclass
class Row:
    """One server under CLIENTS clients of one kind for a while."""

    server: str
    client: str
    sent: int
    wall: float
    server_cpu: float
    client_cpu: float | None
    """None: the client ran in another process (redis-benchmark), not measured."""
    fsyncs: int | None = None
    fsync_seconds: float | None = None
    """Wall time the master spent in its log fsyncs."""

    @property
    def rate(self) -> float:
        return self.sent / self.wall

    def line(self, turn: int, peer_rate: float | None, c_rate: float | None) -> str:
        def ratio(other: float | None) -> str:
            return f"{self.rate / other:>7.2f}" if other else f"{'':>7}"

        def cpu(seconds: float | None) -> str:
            if seconds is None or not self.sent:
                return f"{'':>16}"
            return f"{seconds / self.wall:>8.2f}{seconds / self.sent * 1e6:>8.0f}"

        fsyncs = f"{self.fsyncs:>8}{self.sent / max(1, self.fsyncs):>11.1f}" if self.fsyncs is not None else f"{'':>19}"
        in_fsync = f"{self.fsync_seconds / self.wall:>9.2f}" if self.fsync_seconds is not None else f"{'':>9}"
        return f"{turn:<5}{self.server:<27}{self.client:<16}{self.rate:>9,.0f}{ratio(peer_rate)}{ratio(c_rate)}{fsyncs}{in_fsync}{cpu(self.server_cpu)}{cpu(self.client_cpu)}"


def measure(server: str, client: str, pid: int, run: Callable[[], int], in_process: bool = True) -> Row:
    """Run the clients (`run` returns how many messages they sent), timing wall and CPU;
    the clients' CPU is this process's unless they run in another (`in_process` False)."""
    server_cpu, own_cpu, started = cpu_seconds(pid), client_cpu(), time.perf_counter()
    sent = run()
    wall = time.perf_counter() - started
    return Row(server, client, sent, wall, cpu_seconds(pid) - server_cpu, client_cpu() - own_cpu if in_process else None)


def broker_side(root: str, name: str, loop: str, seconds: float) -> list[Row]:
    """A SYNC_FLUSH master alone, on event loop `loop`, under CLIENTS producers: our
    AsyncProducers, then the lean clients (a fresh master each time)."""
    runs: list[tuple[str, Callable[[str], int]]] = [
        (LIBRARY, lambda address: event_loop.run(drive(address, CLIENTS, seconds))[0]),
        (LEAN, lambda address: event_loop.run(lean_clients.drive(*parse_address(address), BROKER_REQUEST, lean_clients.broker_reply, CLIENTS, seconds))),
    ]
    rows = []
    for client, run in runs:
        data_dir = os.path.join(root, f"{name}-{client}")
        log_path = data_dir + ".log"
        with open(log_path, "wb") as log:
            master = start_broker(broker_argv(Role.ASYNC_MASTER, FlushType.SYNC_FLUSH, data_dir, extra=("--event-loop", loop)), log)
        try:
            row = measure(f"broker SYNC_FLUSH, {loop}", client, master.process.pid, lambda: run(master.address))
        finally:
            master.stop()
        row.fsyncs, row.fsync_seconds = master_stopping(log_path)
        rows.append(row)
    return rows


def redis_side(root: str, name: str, seconds: float) -> list[Row]:
    """Our own Redis (appendfsync always) under CLIENTS XADD clients: redis-py, the lean
    clients, then redis-benchmark (C) if it is installed."""
    from redis_peer import STREAM, c_client_xadd, drive_xadd, has_c_client, private_redis

    request = lean_clients.redis_request(STREAM, BODY)
    with private_redis(os.path.join(root, name)) as (port, pid):
        rows = [measure("redis always", LIBRARY, pid, lambda: event_loop.run(drive_xadd(port, CLIENTS, BODY, seconds))[0])]
        rows.append(measure("redis always", LEAN, pid, lambda: event_loop.run(lean_clients.drive("127.0.0.1", port, request, lean_clients.redis_reply, CLIENTS, seconds))))
        if has_c_client():
            # About as long as the other runs; its client CPU is another process's, not counted.
            requests = max(1000, int(rows[-1].rate * seconds * 1.5))
            rows.append(measure("redis always", C_CLIENT, pid, lambda: c_client_xadd(port, CLIENTS, BODY, requests), in_process=False))
    return rows


def side_by_side(root: str, seconds: float) -> None:
    """The broker on each event loop and Redis, each under each kind of client, in turn, twice."""
    loops = ["asyncio", "uvloop"] if event_loop.available() else ["asyncio"]
    print(f"\nside by side: {CLIENTS} clients ({event_loop.resolve('auto')} loop for Python clients), {len(BODY)} B bodies, every write fsynced before its reply")
    print(f"({load()})")
    print(f"{'turn':<5}{'server':<27}{'client':<16}{'msgs/s':>9}{'x peer':>7}{'x C':>7}{'fsyncs':>8}{'msgs/fsync':>11}{'in fsync':>9}{'srv cpu':>8}{'us/msg':>8}{'cli cpu':>8}{'us/msg':>8}")
    for turn in (1, 2):
        rows = [row for loop in loops for row in broker_side(root, f"broker-{loop}-{turn}", loop, seconds)]
        rows += redis_side(root, f"redis-{turn}", seconds)
        redis_rate = {row.client: row.rate for row in rows if row.server == "redis always"}
        for row in rows:
            peer = redis_rate.get(row.client) if row.client != C_CLIENT else None
            print(row.line(turn, peer, redis_rate.get(C_CLIENT)), flush=True)
    print(f"({load()}; x peer: to Redis under the same kind of client; x C: to Redis under redis-benchmark;")
    print(" in fsync: the share of the wall time the master spent in its log fsyncs (near 1.0: disk-bound);")
    print(" cpu columns: CPU seconds per wall second, and per message)")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--data-dir", default=None, help="where the brokers keep their logs (default: a temp dir)")
    parser.add_argument("--side-by-side-only", action="store_true", help="only the comparison with Redis")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.data_dir) as root:
        limit = fsync_rate(root, args.seconds)
        if args.side_by_side_only:
            print(f"disk limit: {limit:,.0f} fsyncs/s (1 KiB write + fsync loop)")
            side_by_side(root, args.seconds)
            return 0
        print(f"disk limit: {limit:,.0f} fsyncs/s (1 KiB write + fsync loop)")
        print(f"{'setting':<26}{'producers':>10}{'msgs/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'x fsync':>9}{'msgs/fsync':>11}")
        for label, preset in SETTINGS:
            for producers in (1, 32):
                data_dir = os.path.join(root, f"{preset}-{producers}")
                log_path = os.path.join(root, f"{preset}-{producers}.log")
                with open(log_path, "wb") as log:
                    master, slave = start_cluster(PRESETS[preset], data_dir, stderr=log)
                try:
                    time.sleep(0.3)  # let the slave connect before SYNC_MASTER sends
                    started = time.perf_counter()
                    sent, latencies = asyncio.run(drive(master.address, producers, args.seconds))
                    rate = sent / (time.perf_counter() - started)
                finally:
                    slave.stop()
                    master.stop()
                p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
                per_fsync = sent / max(1, master_fsyncs(log_path))
                print(f"{label:<26}{producers:>10}{rate:>10,.0f}{p50:>9.2f}{p99:>9.2f}{rate / limit:>9.2f}{per_fsync:>11.1f}", flush=True)
        side_by_side(root, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
