"""The results table of docs/brokers.md: every real broker x configuration x fault kind
under `noloss conform`, written between the page's results markers.

    .venv/bin/python benchmarks/broker_results.py [--out DIR] [--only redis|nats|rabbitmq]

Each cell is one conformance run (4 producers, 8 s, a fault every 2 s, 2 faults). A failing
run's whole history stays under --out; what the row links is in the repository: an excerpt
of it (docs/broker-histories/LABEL.md: the events of one message that shows the failure,
with the faults around it) and the checker's counterexample for the claimed preset under
the matching spec fault (docs/counterexamples/). `--only BROKER` re-runs that broker's rows
and keeps the others'. The block records a digest of its inputs (this matrix and the
adapters' sources); tests/conformance/test_broker_results.py fails when they change and the
table was not regenerated. Prints the table, the time taken and the machine's load.
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

from noloss.conformance.evidence import counterexample, excerpt, violated, witness
from noloss.conformance.history import read_history
from noloss.conformance.inject.net import proxies
from noloss.conformance.report import verdict
from noloss.conformance.run import RunResult, RunSpec, run
from noloss.conformance.targets.base import TargetFactory
from noloss.conformance.targets.registry import NatsKind, NatsR3Kind, RabbitMQClassicKind, RabbitMQKind, RedisKind
from noloss.spec.rocketmq.config import Config, preset
from noloss.conformance.rocketmq.rules import ROCKETMQ_RULES

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "brokers.md"
EXCERPTS = REPO / "docs" / "broker-histories"
COUNTEREXAMPLES = REPO / "docs" / "counterexamples"
START, END = "<!-- results:start -->", "<!-- results:end -->"
SOURCES = ("benchmarks/broker_results.py", "conformance/inject/ports.py", "conformance/targets/base.py", "conformance/targets/kind.py", "conformance/targets/registry.py", "conformance/targets/sending.py", "conformance/targets/nodes.py", "conformance/targets/redis_streams.py", "conformance/targets/nats_client.py", "conformance/targets/nats_jetstream.py", "conformance/targets/nats_cluster.py", "conformance/targets/nats_state.py", "conformance/targets/rabbitmq.py", "conformance/targets/rabbitmq_client.py", "conformance/targets/rabbitmq_producer.py")
NET_FAULTS = ("net-drop", "net-dup")
REDIS_FAULTS = ("master-crash", "master-power-loss", "slave-crash", "slave-power-loss", "both-power-loss", "consumer-crash", "slave-disk-loss", *NET_FAULTS, "failover")
ONE_NODE_FAULTS = ("master-crash", "master-power-loss", "consumer-crash", *NET_FAULTS)
R3_FAULTS = ("master-crash", "master-power-loss", "slave-crash", "slave-power-loss", "both-power-loss", "consumer-crash", "slave-disk-loss")  # the clients dial any node: no proxy


@dataclass(frozen=True)
class Cell:
    broker: str
    tag: str  # the configuration in a word, for file names
    configuration: str  # the broker's own words
    claimed: str  # the preset it claims
    make: Callable[[Config], TargetFactory]
    faults: tuple[str, ...]


MATRIX = (
    Cell("redis", "always-wait", "appendfsync always, WAIT 1", "strict", RedisKind.factory, REDIS_FAULTS),
    Cell("redis", "always", "appendfsync always", "sync-flush-async-master", RedisKind.factory, REDIS_FAULTS),
    Cell("redis", "everysec-wait", "appendfsync everysec, WAIT 1", "async-flush-sync-master", RedisKind.factory, REDIS_FAULTS),
    Cell("redis", "everysec", "appendfsync everysec", "rocketmq-default", RedisKind.factory, REDIS_FAULTS),
    Cell("nats", "r1", "JetStream file store, R1, 2.9.10 default sync", "rocketmq-default", NatsKind.factory, ONE_NODE_FAULTS),
    Cell("nats", "r3", "JetStream file store, R3 (3 nodes), 2.9.10 default sync", "async-flush-sync-master", NatsR3Kind.factory, R3_FAULTS),
    Cell("rabbitmq", "quorum", "quorum queue, confirms", "sync-flush-async-master", RabbitMQKind.factory, ONE_NODE_FAULTS),
    Cell("rabbitmq", "classic", "durable classic queue, persistent, confirms", "sync-flush-async-master", RabbitMQClassicKind.factory, ONE_NODE_FAULTS),
)


def inputs_digest() -> str:
    """What the table depends on: the matrix and the adapters, as files."""
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update(name.encode() + b"\0" + (REPO / name).read_bytes())
    return digest.hexdigest()[:16]


def label_of(cell: Cell, kind: str) -> str:
    return f"{cell.broker}-{cell.tag}-{kind}"


def one(cell: Cell, kind: str, out: Path) -> RunResult:
    config = preset(cell.claimed)
    spec = RunSpec(cell.claimed, config, (kind,), producers=4, messages=1_000_000, duration_s=8, interval_s=2, down_s=0.3, cycles=2, quiet_s=3, rules=ROCKETMQ_RULES)
    label = label_of(cell, kind)
    return run(spec, label, cell.make(config), out / label, proxies, progress=False)


def evidence(cell: Cell, kind: str, result: RunResult) -> str:
    """Links to what shows a failing run's failure, in the repository: the history excerpt
    (written now) and the checker's counterexamples for the claimed preset."""
    if result.ok or result.history is None or result.counts is None:
        return ""
    records = read_history(result.history)
    message = witness(records, result.counts, result.judgement)
    label = label_of(cell, kind)
    links = []
    if message is not None:
        EXCERPTS.mkdir(exist_ok=True)
        lines = excerpt(records, message)
        (EXCERPTS / f"{label}.md").write_text(
            f"# {cell.broker}, {cell.configuration} (claims {cell.claimed}), {kind}\n\n"
            f"{verdict(result)}.\n\nCounts: {result.counts.acknowledged} acknowledged, {result.counts.lost} lost, "
            f"{result.counts.duplicated} duplicated, {result.counts.unexpected} unexpected.\n\n"
            f"Message {message}'s events with the faults and restarts around it, as the history's lines "
            f"(made by `benchmarks/broker_results.py --only {cell.broker}`; the whole history is kept under its --out):\n\n"
            "```\n" + "\n".join(lines) + "\n```\n"
        )
        links.append(f"[history](broker-histories/{label}.md)")
    for name in violated(result.counts):
        page = counterexample(COUNTEREXAMPLES, ROCKETMQ_RULES.faults, cell.claimed, kind, name)
        if page is not None:
            links.append(f"[{name}](counterexamples/{page.name})")
        elif kind in ROCKETMQ_RULES.faults.index:  # the spec has the fault, and no run of it that breaks the property
            links.append(f"no {name} counterexample for {cell.claimed}")
    return ", ".join(links)


def markdown_row(cell: Cell, kind: str, result: RunResult) -> str:
    if result.counts is None:
        figures = ["-"] * 4
        behaves = f"unavailable: {result.unavailable}"
    else:
        c = result.counts
        figures = [str(c.acknowledged), str(c.lost), str(c.duplicated), str(c.unexpected)]
        behaves = verdict(result)
    return "| " + " | ".join([*row_key(cell, kind), *figures, behaves, evidence(cell, kind, result)]) + " |"


def row_key(cell: Cell, kind: str) -> tuple[str, str, str, str]:
    return (cell.broker, cell.configuration, cell.claimed, kind)


def block(rows: list[str]) -> str:
    header = "| broker | configuration | claims | fault | acknowledged | lost | duplicated | unexpected | trace-check | evidence |\n|---|---|---|---|---|---|---|---|---|---|"
    return f"{START}\n<!-- inputs: {inputs_digest()} -->\n{header}\n" + "\n".join(rows) + f"\n{END}"


def recorded_rows(page: str) -> dict[tuple[str, ...], str]:
    """The rows already in the page's results block, by (broker, configuration, claims, fault)."""
    table = page.split(START, 1)[1].split(END, 1)[0]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) >= 4 and cells[0] != "broker":
            rows[tuple(cells[:4])] = line
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/noloss-broker-results")
    parser.add_argument("--only", choices=("redis", "nats", "rabbitmq"))
    args = parser.parse_args()
    out = Path(args.out)
    start = time.monotonic()
    page = PAGE.read_text()
    kept = recorded_rows(page)
    for stale in EXCERPTS.glob(f"{args.only or ''}*.md"):
        stale.unlink()  # this run writes the excerpts of its own failing rows again
    rows = []
    for cell in MATRIX:
        for kind in cell.faults:
            if args.only is not None and cell.broker != args.only:
                if row_key(cell, kind) in kept:
                    rows.append(kept[row_key(cell, kind)])
                continue
            result = one(cell, kind, out)
            rows.append(markdown_row(cell, kind, result))
            print(rows[-1], flush=True)
    before, rest = PAGE.read_text().split(START, 1)  # as it is now: the prose may have been edited meanwhile
    after = rest.split(END, 1)[1]
    PAGE.write_text(before + block(rows) + after)
    print(f"{len(rows)} runs in {time.monotonic() - start:.0f}s; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
