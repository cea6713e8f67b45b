"""Screenshot of the report's index for the docs: docs/report-index.png.

    .venv/bin/python scripts/report_screenshot.py [--out docs/report-index.png]

Builds `noloss report` for every preset under each single fault in a temporary directory and
photographs index.html in headless Chromium (/usr/bin/chromium, through Playwright).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from noloss.cli import main as noloss  # noqa: E402
from tests.browser_tools import chromium  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/report-index.png")
    parser.add_argument("--jobs", default="2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        site = Path(directory) / "site"
        noloss(["report", "--out", str(site), "--jobs", args.jobs, "--quiet"])
        with chromium() as browser:
            # The top of the page: the verdict lines and the grid (the list of counterexamples below
            # them is long).
            page = browser.new_page(viewport={"width": 1600, "height": 1250})
            page.goto((site / "index.html").as_uri())
            page.screenshot(path=args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
