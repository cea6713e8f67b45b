"""The report in headless Chromium: every page loads with no console error, no failed or
outside request, and every link the browser sees resolves to a page of the site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from noloss.cli import main
from tests.browser_tools import CHROMIUM, chromium

# No skip when the browser is missing: that would hide an untested report. scripts/setup-tests
# installs Debian's chromium.
pytestmark = pytest.mark.slow


def page_problems(browser: Any, path: Path) -> list[str]:
    """Console errors and warnings, script errors, failed or outside requests, dead links."""
    problems: list[str] = []
    page = browser.new_page()
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    page.on("request", lambda request: None if request.url.startswith("file://") else problems.append(f"outside: {request.url}"))
    response = page.goto(path.as_uri())
    if response is None or not response.ok:
        problems.append(f"{path.name} did not load")
    for link in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
        address, _, fragment = link.partition("#")
        target = Path(address.removeprefix("file://"))
        if not target.is_file():
            problems.append(f"link to missing {link}")
        elif fragment:
            other = browser.new_page()
            other.goto(link)
            if other.locator(f"[id='{fragment}']").count() != 1:
                problems.append(f"link to missing id {link}")
            other.close()
    page.close()
    return problems


def test_every_page_loads_cleanly_and_every_link_resolves(tmp_path: Path) -> None:
    assert CHROMIUM.exists(), f"no {CHROMIUM}: run scripts/setup-tests (it installs Debian's chromium)"
    site = tmp_path / "site"
    argv = ["report", "--out", str(site), "--presets", "oneway,strict", "--scenarios", "none,net-drop,master-power-loss"]
    assert main([*argv, "--jobs", "2", "--quiet"]) == 1
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 5
    with chromium() as browser:
        assert {path.name: page_problems(browser, path) for path in pages} == {path.name: [] for path in pages}
        # The diagram is drawn with a real size.
        page = browser.new_page()
        page.goto((site / "counterexamples" / "strict__master-power-loss__NoAckedLoss.html").as_uri())
        box = page.locator("svg.sequence").bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 400
        # The checks can fail: a script error, a missing image, a dead link, an outside request.
        bad = site / "bad.html"
        bad.write_text('<script>missing()</script><img src="none.png"><a href="gone.html">x</a><img src="http://192.0.2.1/x.png">')
        found = " | ".join(page_problems(browser, bad))
        for expected in ("page error: ", "failed: file://", "link to missing file://", "outside: http://192.0.2.1/x.png"):
            assert expected in found
