"""Confirmed quorum-queue messages across a power cut, with and without the directory fsync
Ra leaves out (docs/brokers.md, "RabbitMQ quorum queue, power-loss").

    .venv/bin/python benchmarks/rabbitmq_wal_cut.py [--rounds 4] [--messages 200]

One RabbitMQ node on the power-loss filesystem, a quorum queue, no consumer. Each round
publishes `--messages` persistent messages, each confirmed, cuts the power, restarts the
node and counts the queue. Rounds alternate: first with every directory of the node fsynced
just before publishing (what ext4's journal does within seconds), then without, so the
messages go into the WAL file Ra opened at the last boot and renamed into place without
fsyncing its directory (Ra 2.2.0 `ra_log_wal:roll_over`). Prints, per round, the messages
kept and the WAL files the cut lost (from the node's cut log), the time and the load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pika
import pika.exceptions

from noloss.conformance.targets import rabbitmq
from noloss.conformance.targets.rabbitmq_client import NETWORK_ERRORS, QUEUE, parameters
from noloss.conformance.targets.rabbitmq_producer import ConfirmLink
from noloss.spec.rocketmq.config import preset

ELECTION_TIMEOUT_S = 60.0


def publish(target: rabbitmq.RabbitTarget, count: int) -> None:
    """`count` persistent messages, each confirmed (each reply waits 10 s at most)."""

    async def confirmed() -> None:
        link = await ConfirmLink.open(parameters(target.address("master")), 10)
        try:
            for _ in range(count):
                await link.publish(b"m", pika.BasicProperties(delivery_mode=2), 10)
        finally:
            await link.close(10)

    asyncio.run(confirmed())


def queue_has_leader(target: rabbitmq.RabbitTarget) -> None:
    """One confirmed probe message: after a boot the queue nacks or leaves publishes
    unanswered until it has elected its leader. RuntimeError when it never does."""
    deadline = time.monotonic() + ELECTION_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            publish(target, 1)
            return
        except (pika.exceptions.NackError, *NETWORK_ERRORS):
            time.sleep(0.5)
    raise RuntimeError(f"the quorum queue had no leader {ELECTION_TIMEOUT_S:.0f}s after the boot (see {target._nodes.root / 'log'})")


def queued(target: rabbitmq.RabbitTarget) -> int:
    connection = pika.BlockingConnection(parameters(target.address("master")))
    try:
        return int(connection.channel().queue_declare(QUEUE, passive=True).method.message_count)
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    start = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="noloss-wal-cut-"))
    target = rabbitmq.RabbitTarget(preset("sync-flush-async-master"), root, power_loss=True, queue_type="quorum")
    target.start()  # its first boot's files are made durable (RabbitTarget.start)
    try:
        queue_has_leader(target)
        for round_ in range(args.rounds):
            directories_synced = round_ % 2 == 0
            if directories_synced:
                target._nodes.settle("master")  # directories only: no file's data
            before = queued(target)
            publish(target, args.messages)
            target.power_cut("master")
            target.restart("master")
            queue_has_leader(target)
            kept = queued(target) - 1 - before  # less the probe
            cut = json.loads((root / "master.cuts.jsonl").read_text().splitlines()[-1])
            lost_wal = sorted({Path(path).name for path in cut["lost_paths"] if path.endswith(".wal")})
            print(f"round {round_ + 1}: directories fsynced before publishing: {'yes' if directories_synced else 'no '}; "
                  f"{args.messages} confirmed, {max(kept, 0)} kept after the cut; WAL files the cut lost: {', '.join(lost_wal) or 'none'}", flush=True)
    finally:
        target.close()
    print(f"{time.monotonic() - start:.0f}s; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
