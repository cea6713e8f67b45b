"""Generate docs/matrix.md, docs/counterexamples/ and docs/findings.md from the checker.

    python -m noloss.cli.docs_gen [--docs DIR] [--jobs N]

docs/matrix.md is exactly `noloss matrix --format markdown` (a test regenerates it and fails
when the committed file is stale); docs/counterexamples/ holds each distinct violation as
numbered steps, a Mermaid diagram and a paragraph on what prevents it (noloss/cli/matrix_render.py,
with RocketMQ's own words from spec/rocketmq/explain.py).
It is `noloss matrix --out docs` without the JSON. docs/findings.md is
spec/rocketmq/findings.py's page, for RocketMQ operators.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from noloss.spec.rocketmq.findings import findings_markdown
from noloss.model_check.matrix import run_matrix
from noloss.cli.matrix_render import write_out
from noloss.spec.rocketmq.faults import DEFAULT_SCENARIOS
from noloss.spec.rocketmq.config import PRESETS
from noloss.spec.rocketmq.protocol import ROCKETMQ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/matrix.md and docs/counterexamples/.")
    parser.add_argument("--docs", default="docs")
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args(argv)
    matrix = run_matrix(ROCKETMQ, list(PRESETS), list(DEFAULT_SCENARIOS), jobs=args.jobs, progress=True)
    written = write_out(matrix, Path(args.docs), with_json=False)
    findings = Path(args.docs) / "findings.md"
    findings.write_text(findings_markdown())
    written.append(findings)
    print(f"wrote {len(written)} files under {args.docs}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
