"""How often a master's power cut loses an acknowledged message under SYNC_FLUSH: the race
the checker predicts for RocketMQ <= 5.2's write-position dispatch (a consumer reads an
entry not yet flushed, the cut rewinds the queue, a later acknowledged message is stored
at that position, behind the consumer's offset), measured on the reference broker's real
processes with its data on the power-loss filesystem.

Run: .venv/bin/python benchmarks/power_race.py [--cycles 20] [--preset sync-flush-async-master]
         [--set KEY=VALUE ...] [--producers 4] [--interval 1.0] [--out DIR]

Each cycle is one conformance run (conformance/run.py) with one power cut of the master:
start on empty data directories, send for `--interval` seconds, cut, restart, send on,
drain, judge. Presets and --set are those of `noloss conform` (so the same measurement
runs with --set rocketmqVersion=5.3, where the broker dispatches only up to the flushed
position). Prints one line per cycle (acknowledged, lost, how many losses the judge
explains as the rewound-queue race, the trace-check verdict), then the totals: cycles that
lost an acknowledged message, cycles whose judgement failed, and the load average (two
cores shared with other work: read the figures beside it). A cycle that lost or failed
keeps its history under --out. Exit 0 when every cycle ran, 2 for bad input or when power
loss is unavailable here (the one-line reason is printed). Not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from noloss.cli.check import add_model_arguments, config_from  # noqa: E402
from noloss.cli.conform import claimed_name  # noqa: E402
from noloss.cli.errors import UsageError  # noqa: E402
from noloss.conformance.report import first_unexplained, verdict  # noqa: E402
from noloss.conformance.run import RunResult, RunSpec, run  # noqa: E402
from noloss.conformance.targets import reference  # noqa: E402
from noloss.conformance.targets.kind import TargetOptions  # noqa: E402
from noloss.conformance.targets.registry import ReferenceKind  # noqa: E402
from noloss.spec.rocketmq.config import ConfigError  # noqa: E402
from noloss.conformance.rocketmq.rules import ROCKETMQ_RULES  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_model_arguments(parser)
    parser.set_defaults(preset="sync-flush-async-master")
    parser.add_argument("--cycles", type=int, default=20, help="power cuts, one run each (default 20)")
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds of sending before the cut, and after it")
    parser.add_argument("--down", type=float, default=0.3, help="seconds the master stays down")
    parser.add_argument("--out", default=None, help="where the runs go (default: a new temporary directory)")
    args = parser.parse_args()
    try:
        if args.cycles < 1 or args.producers < 1:
            raise UsageError("--cycles and --producers must be positive")
        config = config_from(args)
        ReferenceKind.check(config, TargetOptions())
    except (UsageError, ConfigError) as error:
        print(f"power_race: {error}", file=sys.stderr)
        return 2
    out = Path(args.out or tempfile.mkdtemp(prefix="power-race-"))
    spec = RunSpec(claimed_name(args.preset, config), config, ("master-power-loss",), args.producers, 10**9, 10**6, args.interval, args.down, cycles=1, rules=ROCKETMQ_RULES)
    print(f"claimed {spec.claimed}; {args.cycles} cycles of one master power cut; {args.producers} producers; out {out}")
    print(f"{'cycle':>5}{'acked':>8}{'lost':>6}{'race':>6}{'wall s':>8}  trace-check")
    losing, failing, lost_in_all, race_in_all = 0, 0, 0, 0
    start = time.monotonic()
    for cycle in range(1, args.cycles + 1):
        began = time.monotonic()
        result = run(spec, f"cycle {cycle}", reference.factory(config), out / f"cycle-{cycle:03d}", progress=False)
        if result.counts is None or result.judgement is None:
            print(f"power_race: {result.unavailable}", file=sys.stderr)
            return 2
        counts, judgement = result.counts, result.judgement
        race = len(judgement.shared)
        losing += counts.lost > 0
        failing += not judgement.ok
        lost_in_all += counts.lost
        race_in_all += race
        print(f"{cycle:>5}{counts.acknowledged:>8}{counts.lost:>6}{race:>6}{time.monotonic() - began:>8.1f}  {verdict(result)}{_where(result)}")
    print(
        f"{args.cycles} power cuts: {losing} lost an acknowledged message ({lost_in_all} messages, {race_in_all} explained "
        f"as lost behind a rewound queue); {failing} judgement(s) failed; {time.monotonic() - start:.0f} s"
    )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    return 0


def _where(result: RunResult) -> str:
    where = first_unexplained(result)
    if where is not None:
        return f"\n       first unexplained event: {where}"
    return f"  {result.history}" if result.history is not None else ""


if __name__ == "__main__":
    sys.exit(main())
