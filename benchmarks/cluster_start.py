"""Start-up time of the real brokers' nodes on this machine: what decides whether a
replicated setting (NATS R3, a 3-node RabbitMQ cluster) fits a conformance run, which
restarts nodes several times a run.

    .venv/bin/python benchmarks/cluster_start.py [--rounds 3]

Measured, each from exec to ready:
* `nats R1`: one `nats-server -js` until its R1 file stream is created (the target's start);
* `nats R3`: three `nats-server -js` clustered on loopback routes until an R3 file stream
  is created (a JetStream meta leader elected, the stream's Raft group placed on all three);
* `rabbitmq 1 node`: one node until it accepts AMQP and its quorum queue is declared (the
  target's start);
* `rabbitmq 3 boots`: three nodes booted at once until all accept AMQP (the boots a
  3-node cluster needs before `join_cluster`, which is not measured).
Prints each figure with the machine's load average. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import nats
import nats.errors
import nats.js.errors
from nats.js.api import StorageType

from noloss.conformance.targets import nats_jetstream, rabbitmq
from noloss.conformance.targets.nodes import free_port, listening, wait_until
from noloss.spec.config import preset


def nats_r1(directory: Path) -> float:
    target = nats_jetstream.NatsTarget(preset("rocketmq-default"), directory)
    start = time.monotonic()
    try:
        target.start()
        return time.monotonic() - start
    finally:
        target.close()


async def _create_r3_stream(port: int, timeout_s: float = 120.0) -> None:
    client = await nats.connect(f"nats://127.0.0.1:{port}", connect_timeout=2)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                await client.jetstream().add_stream(name="R3", subjects=["r3"], storage=StorageType.FILE, num_replicas=3)
                return
            except (nats.js.errors.Error, nats.errors.NoRespondersError, nats.errors.TimeoutError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await client.close()


def nats_r3(directory: Path) -> float:
    clients = [free_port() for _ in range(3)]
    routes = [free_port() for _ in range(3)]
    route_urls = ",".join(f"nats-route://127.0.0.1:{port}" for port in routes)
    processes = []
    start = time.monotonic()
    try:
        for n in range(3):
            data = directory / f"n{n}"
            data.mkdir()
            argv = ["nats-server", "-a", "127.0.0.1", "-p", str(clients[n]), "-js", "-sd", str(data), "-n", f"n{n}", "--cluster_name", "noloss", "--cluster", f"nats://127.0.0.1:{routes[n]}", "--routes", route_urls]
            with open(directory / f"n{n}.log", "wb") as log:
                processes.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))
        for port in clients:
            wait_until(lambda: listening(port), "nats-server did not start", 60)
        asyncio.run(_create_r3_stream(clients[0]))
        return time.monotonic() - start
    finally:
        for process in processes:
            process.kill()
            process.wait()


def rabbitmq_one(directory: Path) -> float:
    target = rabbitmq.RabbitTarget(preset("sync-flush-async-master"), directory)
    start = time.monotonic()
    try:
        target.start()
        return time.monotonic() - start
    finally:
        target.close()


def rabbitmq_three_boots(directory: Path) -> float:
    targets = [rabbitmq.RabbitTarget(preset("sync-flush-async-master"), directory / f"n{n}") for n in range(3)]
    errors: list[BaseException] = []

    def boot(target: rabbitmq.RabbitTarget) -> None:
        try:
            target.start()
        except BaseException as error:  # reported below, after every boot has ended
            errors.append(error)

    threads = [threading.Thread(target=boot, args=(t,)) for t in targets]
    start = time.monotonic()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return time.monotonic() - start
    finally:
        for target in targets:
            target.close()


MEASURES: dict[str, tuple[str, Callable[[Path], float]]] = {
    "nats R1": ("nats-server", nats_r1),
    "nats R3": ("nats-server", nats_r3),
    "rabbitmq 1 node": (rabbitmq.SERVER, rabbitmq_one),
    "rabbitmq 3 boots": (rabbitmq.SERVER, rabbitmq_three_boots),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=tuple(MEASURES))
    args = parser.parse_args()
    for name, (binary, measure) in MEASURES.items():
        if args.only is not None and name != args.only:
            continue
        if shutil.which(binary) is None:
            print(f"{name}: {binary} is not installed")
            continue
        figures = []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="noloss-cluster-start-") as directory:
                figures.append(measure(Path(directory)))
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{name}: median {statistics.median(figures):.1f}s (min {min(figures):.1f}, max {max(figures):.1f}, {args.rounds} rounds); load average {load}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
