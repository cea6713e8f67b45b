"""`noloss report --out DIR`: a static site that works offline; every link resolves; the
sequence diagram is inline SVG drawn from the steps; the user's source files are shown."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

import pytest

from noloss.cli import main
from tests.site_links import broken_links, read_page

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SMALL = ("--presets", "oneway,strict", "--scenarios", "none,net-drop", "--jobs", "1", "--quiet")


def report(tmp_path: Path, *argv: str) -> tuple[int, Path]:
    site = tmp_path / "site"
    code = main(["report", "--out", str(site), *argv])
    return code, site


def test_the_site_has_a_grid_and_a_page_per_counterexample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, site = report(tmp_path, *SMALL)
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[0] == "oneway: LOSES an acknowledged message under net-drop; survives no fault"
    assert broken_links(site) == []
    index = (site / "index.html").read_text()
    # One list item per verdict, however long (the terminal's wrapping is not the page's).
    assert index.count("<li>oneway: ") == 1 and index.count("<li>strict: ") == 1
    # The grid: a row per preset, a column per scenario, the worst verdict's colour.
    assert re.search(r'<th><a href="configuration.html#oneway">oneway</a></th><td class="holds"', index)
    assert '<td class="loss" title="NoAckedLoss: VIOLATED (2 steps)' in index
    page = site / "counterexamples" / "oneway__net-drop__NoAckedLoss.html"
    text = page.read_text()
    svg = text[text.index("<svg") : text.index("</svg>")]
    assert ">1. send m0</text>" in svg and ">2. FAULT drop m0</text>" in svg
    assert "noloss check --preset oneway --faults &#x27;net-drop*1&#x27; --max-faults 1 --messages 2" in text
    assert "<li>network: [] -&gt; [request m0 #1]</li>" in text
    assert "What prevents it" in text and "<code>strict</code>" in text
    assert "<script" not in "".join(path.read_text() for path in site.rglob("*.html"))


def test_the_site_shows_your_source_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broker = EXAMPLES / "2m-2s-async" / "broker-a.properties"
    code, site = report(tmp_path, "--broker-conf", str(broker), "--scenarios", "master-power-loss", "--jobs", "1", "--quiet")
    assert code == 1 and broken_links(site) == []
    configuration = (site / "configuration.html").read_text()
    assert 'id="your-config"' in configuration
    first = broker.read_text().splitlines()[0]
    assert f'<span class="lineno">  1</span>  {escape(first)}' in configuration
    pages = list((site / "counterexamples").glob("*.html"))
    assert pages and all("--broker-conf" in page.read_text() for page in pages)


def test_broken_links_are_found(tmp_path: Path) -> None:
    """The link checker itself can fail: a missing page, a missing id, a CDN."""
    (tmp_path / "a.html").write_text('<a href="b.html">b</a><a href="a.html#x">x</a><script src="https://cdn.example/x.js">')
    assert broken_links(tmp_path) == [
        "a.html: b.html (no such file)",
        "a.html: a.html#x (no such id)",
        "a.html: external https://cdn.example/x.js",
    ]
    assert read_page(tmp_path / "a.html").references[0] == "b.html"
