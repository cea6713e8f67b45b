"""Start-up time of the real brokers' nodes on this machine: what decides whether a
replicated setting (NATS R3, a 3-node RabbitMQ cluster) fits a conformance run, which
restarts nodes several times a run.

    .venv/bin/python benchmarks/cluster_start.py [--rounds 3]

Measured, each from exec to ready:
* `nats R1`: one `nats-server -js` until its R1 file stream is created (the target's start);
* `nats R3`: three `nats-server -js` clustered on loopback routes until an R3 file stream
  is created (a JetStream meta leader elected, the stream's Raft group placed on all three:
  the R3 target's start);
* `rabbitmq 1 node`: one node until it accepts AMQP and its quorum queue is declared (the
  target's start);
* `rabbitmq 3 boots`: three nodes booted at once until all accept AMQP (the boots a
  3-node cluster needs before `join_cluster`, which is not measured).
Prints each figure with the machine's load average. Not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from noloss.conformance.targets import nats_cluster, nats_jetstream, rabbitmq
from noloss.conformance.targets.base import Target
from noloss.spec.rocketmq.config import preset


def _start_time(target: Target) -> float:
    """Seconds for `target.start()` (the target is closed after)."""
    start = time.monotonic()
    try:
        target.start()
        return time.monotonic() - start
    finally:
        target.close()


def nats_r1(directory: Path) -> float:
    return _start_time(nats_jetstream.NatsTarget(preset("rocketmq-default"), directory))


def nats_r3(directory: Path) -> float:
    return _start_time(nats_cluster.NatsClusterTarget(preset("async-flush-sync-master"), directory))


def rabbitmq_one(directory: Path) -> float:
    return _start_time(rabbitmq.RabbitTarget(preset("sync-flush-async-master"), directory))


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
