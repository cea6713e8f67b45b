"""The results table of docs/brokers.md: every real broker x configuration x fault kind
under `noloss conform`, written between the page's results markers.

    .venv/bin/python benchmarks/broker_results.py [--out DIR] [--only redis|nats|rabbitmq]

Each cell is one conformance run (4 producers, 8 s, a fault every 2 s, 2 faults); a failing
run's history stays under --out (default /tmp/noloss-broker-results) and the row names it.
The block records a digest of its inputs (this matrix and the adapters' sources);
tests/conformance/test_broker_results.py fails when they change and the table was not
regenerated. Prints the table, the time taken and the machine's load.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from noloss.conformance.report import verdict
from noloss.conformance.run import RunResult, RunSpec, TargetFactory, run
from noloss.conformance.targets import nats_jetstream, rabbitmq, redis_streams
from noloss.spec.config import Config, preset

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "brokers.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
SOURCES = ("benchmarks/broker_results.py", "conformance/targets/nodes.py", "conformance/targets/redis_streams.py", "conformance/targets/nats_jetstream.py", "conformance/targets/rabbitmq.py")
TWO_NODE_FAULTS = ("kill", "power-loss", "slave-kill", "both-power-loss", "consumer-crash")
ONE_NODE_FAULTS = ("kill", "power-loss", "consumer-crash")


@dataclass(frozen=True)
class Cell:
    broker: str
    configuration: str  # the broker's own words
    claimed: str  # the preset it claims
    make: Callable[[Config], TargetFactory]
    faults: tuple[str, ...]


MATRIX = (
    Cell("redis", "appendfsync always, WAIT 1", "strict", redis_streams.factory, TWO_NODE_FAULTS),
    Cell("redis", "appendfsync always", "sync-flush-async-master", redis_streams.factory, TWO_NODE_FAULTS),
    Cell("redis", "appendfsync everysec, WAIT 1", "async-flush-sync-master", redis_streams.factory, TWO_NODE_FAULTS),
    Cell("redis", "appendfsync everysec", "rocketmq-default", redis_streams.factory, TWO_NODE_FAULTS),
    Cell("nats", "JetStream file store, R1, 2.9.10 default sync", "rocketmq-default", nats_jetstream.factory, ONE_NODE_FAULTS),
    Cell("rabbitmq", "quorum queue, confirms", "sync-flush-async-master", lambda c: rabbitmq.factory(c, "quorum"), ONE_NODE_FAULTS),
    Cell("rabbitmq", "durable classic queue, persistent, confirms", "sync-flush-async-master", lambda c: rabbitmq.factory(c, "classic"), ONE_NODE_FAULTS),
)


def inputs_digest() -> str:
    """What the table depends on: the matrix and the adapters, as files."""
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update(name.encode() + b"\0" + (REPO / name).read_bytes())
    return digest.hexdigest()[:16]


def one(cell: Cell, kind: str, out: Path) -> RunResult:
    config = preset(cell.claimed)
    spec = RunSpec(cell.claimed, config, (kind,), producers=4, messages=1_000_000, duration_s=8, interval_s=2, down_s=0.3, cycles=2, quiet_s=3)
    label = f"{cell.broker}-{cell.claimed}-{kind}"
    return run(spec, label, cell.make(config), out / label, progress=False)


def markdown_row(cell: Cell, kind: str, result: RunResult) -> str:
    if result.counts is None:
        figures = ["-"] * 4
        behaves = f"unavailable: {result.unavailable}"
    else:
        c = result.counts
        figures = [str(c.acknowledged), str(c.lost), str(c.duplicated), str(c.unexpected)]
        behaves = verdict(result)
    history = f"`{result.history}`" if result.history is not None else ""
    return "| " + " | ".join([cell.broker, cell.configuration, cell.claimed, kind, *figures, behaves, history]) + " |"


def block(rows: list[str]) -> str:
    header = "| broker | configuration | claims | fault | acknowledged | lost | duplicated | unexpected | trace-check | history |\n|---|---|---|---|---|---|---|---|---|---|"
    return f"{START}\n<!-- inputs: {inputs_digest()} -->\n{header}\n" + "\n".join(rows) + f"\n{END}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/noloss-broker-results")
    parser.add_argument("--only", choices=("redis", "nats", "rabbitmq"))
    args = parser.parse_args()
    out = Path(args.out)
    start = time.monotonic()
    rows = []
    for cell in MATRIX:
        if args.only is not None and cell.broker != args.only:
            continue
        for kind in cell.faults:
            result = one(cell, kind, out)
            rows.append(markdown_row(cell, kind, result))
            print(rows[-1], flush=True)
    page = PAGE.read_text()
    before, rest = page.split(START, 1)
    after = rest.split(END, 1)[1]
    PAGE.write_text(before + block(rows) + after)
    print(f"{len(rows)} runs in {time.monotonic() - start:.0f}s; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
