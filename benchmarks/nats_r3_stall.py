"""The NATS R3 `slave-kill` cell of docs/brokers.md, with the stream and the durable consumer
inspected after the drain, before the nodes stop: are acknowledged messages the run counts
as lost gone from the stream, or is delivery stalled?

    .venv/bin/python benchmarks/nats_r3_stall.py [--runs 3] [--wait 20] [--out DIR]

Each run is the cell's (4 producers, 8 s, two kills of both followers 2 s apart). After its
drain, and `--wait` seconds more, prints one JSON line: the stream's state, the durable
consumer's (delivered and ack-floor stream sequences, pending, pull requests waiting: the
run's consumer is stopped by then), how many messages a new ordered consumer reads back,
what a new pull subscription on the same durable gets, and how long after the last restart
of the followers the nodes' logs show the durable consumer's new leader; then the run's
counts. Ends with the time taken and the load.

What it found (docs/brokers.md): the stall was the durable consumer without a leader
(2.6-10.6 s after the followers restart), not nats-py; the run now waits for it
(`Target.serving`) before its drain, and counts a message the stream still holds for the
consumer as undelivered, not lost (`Target.held`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from noloss.conformance.run import RunSpec, run
from noloss.conformance.targets import nats_cluster
from noloss.conformance.targets.nats_client import STREAM, SUBJECT, connect
from noloss.conformance.workload import GROUP
from noloss.spec.rocketmq.config import preset
from noloss.conformance.rocketmq.rules import ROCKETMQ_RULES

CLAIMED = "async-flush-sync-master"


async def inspect(addresses: str) -> dict[str, Any]:
    client = await connect(addresses)
    try:
        js = client.jetstream()
        info = await js.stream_info(STREAM)
        found: dict[str, Any] = {"stream": {"messages": info.state.messages, "first_seq": info.state.first_seq, "last_seq": info.state.last_seq}}
        consumer = await js.consumer_info(STREAM, GROUP)
        found["consumer"] = {
            "delivered_stream_seq": consumer.delivered.stream_seq if consumer.delivered else None,
            "ack_floor_stream_seq": consumer.ack_floor.stream_seq if consumer.ack_floor else None,
            "num_pending": consumer.num_pending,
            "num_ack_pending": consumer.num_ack_pending,
            "num_waiting": consumer.num_waiting,
        }
        ordered = await js.subscribe(SUBJECT, ordered_consumer=True, stream=STREAM)
        read = 0
        while read < (info.state.messages or 0):
            try:
                await ordered.next_msg(timeout=2)
            except Exception:  # nats-py's timeout: nothing more to read
                break
            read += 1
        found["read_back"] = read
        try:
            pull = await js.pull_subscribe(SUBJECT, durable=GROUP, stream=STREAM)
            found["new_pull_on_durable"] = [m.metadata.sequence.stream for m in await pull.fetch(50, timeout=5)][:5]
        except Exception as error:  # a stuck consumer answers nothing: say what came back
            found["new_pull_on_durable"] = repr(error)
        return found
    finally:
        await client.close()


def leader_elected_after(logs: list[Path], restarted: float) -> float | None:
    """Seconds from `restarted` (wall clock) to the first "new consumer leader" line for the
    durable consumer in the nodes' logs after it, if any."""
    times = []
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if f"new consumer leader for '$G > {STREAM} > {GROUP}'" in line:
                stamp = " ".join(line.split()[1:3])  # [pid] 2026/12/07 02:18:25.618661 [INF] ...
                at = datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()
                if at >= restarted:
                    times.append(at - restarted)
    return round(min(times), 2) if times else None


class InspectedCluster(nats_cluster.NatsClusterTarget):
    """The R3 target, inspected before its nodes stop."""

    wait_s = 0.0
    restarted = 0.0

    def restart(self, node: str) -> None:
        super().restart(node)
        self.restarted = time.time()

    def close(self) -> None:
        time.sleep(self.wait_s)
        found = asyncio.run(inspect(self._addresses()))
        found["consumer_leader_after_last_restart_s"] = leader_elected_after(sorted(self._nodes.root.glob("n*.log")), self.restarted)
        print(json.dumps(found), flush=True)
        super().close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--wait", type=float, default=20.0)
    parser.add_argument("--out", default="/tmp/noloss-nats-r3-stall")
    args = parser.parse_args()
    InspectedCluster.wait_s = args.wait
    config = preset(CLAIMED)
    spec = RunSpec(CLAIMED, config, ("slave-crash",), producers=4, messages=1_000_000, duration_s=8, interval_s=2, down_s=0.3, cycles=2, quiet_s=3, rules=ROCKETMQ_RULES)
    start = time.monotonic()
    for number in range(args.runs):
        result = run(spec, "nats-r3-slave-kill", lambda root, power_loss: InspectedCluster(config, root, power_loss), Path(args.out) / str(number), progress=False)
        if result.counts is None:
            print(f"run {number + 1}: unavailable: {result.unavailable}")
            continue
        counts = result.counts
        print(f"run {number + 1}: {counts.acknowledged} acknowledged, {counts.lost} counted lost, {result.faults_injected} faults", flush=True)
    print(f"{time.monotonic() - start:.0f}s; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
