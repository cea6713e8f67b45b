"""Links and resources of a static site, read with the standard library's HTML parser."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []  # href and src values
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.references.append(value)
            if name == "id" and value is not None:
                self.ids.add(value)


def read_page(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def broken_links(site: Path) -> list[str]:
    """Every href/src of every page that does not resolve to a file (and #id) inside the site,
    and every reference that would leave the machine."""
    broken = []
    for path in sorted(site.rglob("*.html")):
        for reference in read_page(path).references:
            parts = urlsplit(reference)
            if parts.scheme or parts.netloc:
                broken.append(f"{path.relative_to(site)}: external {reference}")
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if not target.is_file() or site.resolve() not in target.parents:
                broken.append(f"{path.relative_to(site)}: {reference} (no such file)")
            elif parts.fragment and parts.fragment not in read_page(target).ids:
                broken.append(f"{path.relative_to(site)}: {reference} (no such id)")
    return broken
