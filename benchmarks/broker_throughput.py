"""Throughput and send latency of the reference broker, beside the disk's fsync rate.

Run: .venv/bin/python benchmarks/broker_throughput.py [--seconds 3] [--data-dir DIR]

For each setting (ASYNC_FLUSH+ASYNC_MASTER, SYNC_FLUSH+ASYNC_MASTER, seed-strict) it
starts a master and a slave as processes on loopback and drives them with 1 and with 32
concurrent producers (each its own connection, sync sends, 1 KiB bodies) for a fixed
time, then prints messages/s, p50/p99 send latency, and how many
messages the master stored per fsync of its log. The limit beside them is what a
plain loop writing 1 KiB and fsyncing sustains on the same disk: SYNC_FLUSH beats it
only by sharing fsyncs between waiting sends (group commit). Not a test: figures depend
on the machine; all processes run on it together (broker, slave and clients).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from reference.client import AsyncProducer, SendStatus  # noqa: E402
from reference.launch import start_cluster  # noqa: E402
from reference.presets import PRESETS  # noqa: E402

SETTINGS = [
    ("ASYNC_FLUSH+ASYNC_MASTER", "rocketmq-default"),
    ("SYNC_FLUSH+ASYNC_MASTER", "sync-flush-async-master"),
    ("seed-strict", "seed-strict"),
]
BODY = b"x" * 1024


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
    clients = [AsyncProducer(address) for _ in range(producers)]
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
    with open(log_path) as log:
        for line in log:
            if "master INFO stopping:" in line:
                return int(line.split("stopping: ")[1].split()[0])
    return 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--data-dir", default=None, help="where the brokers keep their logs (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.data_dir) as root:
        limit = fsync_rate(root, args.seconds)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
