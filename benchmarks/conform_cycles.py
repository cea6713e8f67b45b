"""Many fault cycles on real processes: `noloss conform` on the reference broker, one run per
fault kind, each run injecting CYCLES faults of its kind, with both judgements.

Run: .venv/bin/python benchmarks/conform_cycles.py [--preset NAME] [--set K=V ...]
         [--faults master-crash,slave-crash,...] [--cycles 100] [--interval 1.0] [--producers 8]
         [--out DIR]

Prints, per fault kind: the faults injected, messages sent / acknowledged / lost /
duplicated / unexpected / recovered, the trace-check verdict, the distinct projections
trace-check had to explore, how long the judging took, and the wall time; and the
machine's load (two cores are shared with other work: read figures beside it). A failing
run's history stays under --out. Not a test: the slow tier runs a short version
(tests/conformance/test_conform_slow.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from noloss.conformance.faults import parse_faults  # noqa: E402
from noloss.conformance.inject.net import proxies  # noqa: E402
from noloss.conformance.report import verdict  # noqa: E402
from noloss.conformance.run import RunSpec, run  # noqa: E402
from noloss.conformance.targets import reference  # noqa: E402
from noloss.spec.rocketmq.config import preset  # noqa: E402
from noloss.conformance.rocketmq.rules import ROCKETMQ_RULES  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="sync-flush-async-master")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--faults", default="master-crash,slave-crash,consumer-crash,slave-disk-loss")
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between faults")
    parser.add_argument("--down", type=float, default=0.3, help="seconds a node stays down")
    parser.add_argument("--producers", type=int, default=8)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    config = preset(args.preset).with_settings(dict(item.split("=", 1) for item in args.settings))
    out = Path(args.out or tempfile.mkdtemp(prefix="conform-cycles-"))
    print(f"preset {args.preset} {' '.join(args.settings)}; {args.cycles} cycles per fault kind, one every {args.interval}s; {args.producers} producers")
    print(f"{'fault':<16}{'faults':>7}{'sent':>9}{'acked':>9}{'lost':>6}{'dup':>6}{'unexp':>6}{'recov':>6}{'proj':>6}{'judge s':>9}{'wall s':>8}  trace-check")
    failed = False
    for kind in parse_faults(args.faults, ROCKETMQ_RULES.faults, ROCKETMQ_RULES.renamed):
        # A disk loss is permanent: one per run.
        cycles = 1 if kind in ROCKETMQ_RULES.faults.permanent else args.cycles
        spec = RunSpec(args.preset, config, (kind,), args.producers, 10**9, 10**6, args.interval, args.down, cycles, rules=ROCKETMQ_RULES)
        start = time.monotonic()
        # The links go through the TCP proxy for the network faults only, as `noloss conform` does.
        result = run(spec, kind, reference.factory(config), out / kind, proxies, progress=False)
        wall = time.monotonic() - start
        if result.counts is None:
            print(f"{kind:<16} unavailable: {result.unavailable}")
            continue
        c = result.counts
        print(
            f"{kind:<16}{result.faults_injected:>7}{c.sent:>9}{c.acknowledged:>9}{c.lost:>6}{c.duplicated:>6}{c.unexpected:>6}{c.recovered:>6}"
            f"{result.distinct_projections:>6}{result.judge_s:>9.1f}{wall:>8.0f}  {verdict(result)}" + (f"  {result.history}" if result.history else "")
        )
        failed |= not result.ok
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
