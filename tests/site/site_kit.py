"""What the site tests share: pages opened in the real Chromium with their console watched, axe-core
run in them, and every local link of a written site followed on disk."""

from __future__ import annotations

import html.parser
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from axe_playwright_python.base import AXE_FILE_PATH

# Every kind of page a site has, and one example of each (the example distribution's).
PAGE_TYPES = {
    "home": "index.html",
    "components": "components.html",
    "component": "components/greet.html",
    "images": "images.html",
    "image": "images/vm-base.html",
    "changes": "changes.html",
    "audit": "audit.html",
}


@dataclass
class OpenedPage:
    page: Any
    problems: list[str] = field(default_factory=list)
    """Console errors and warnings, uncaught exceptions and failed loads, as they happened."""


def open_page(context: Any, path: Path) -> OpenedPage:
    """Open ``path`` by ``file://`` in a new tab of ``context`` and wait until it and its scripts ran."""
    page = context.new_page()
    opened = OpenedPage(page)
    page.on("console", lambda message: opened.problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: opened.problems.append(f"uncaught: {error}"))
    page.on("requestfailed", lambda request: opened.problems.append(f"failed to load {request.url}"))
    page.goto(path.absolute().as_uri(), wait_until="load")
    return opened


def axe_serious(page: Any) -> list[str]:
    """axe-core's violations of impact serious or critical, every rule enabled, one line each."""
    page.evaluate(AXE_FILE_PATH.read_text())
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)
            if name == "id" and value:
                self.ids.add(value)


def parse_page(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text())
    return parser


def broken_links(site: Path, extra: dict[str, list[str]] | None = None) -> list[str]:
    """Every local link of every page (plus ``extra``: page -> links its scripts made) whose file, or
    whose fragment's element, is not in the site. Links leaving the site (http, data:) are not followed."""
    pages = {path.relative_to(site).as_posix(): parse_page(path) for path in sorted(site.rglob("*.html"))}
    broken = []
    for name, parsed in pages.items():
        for link in parsed.links + (extra or {}).get(name, []):
            parts = urlsplit(link)
            if parts.scheme or parts.netloc:
                continue
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), unquote(parts.path))) \
                if parts.path else name
            if target.startswith("../") or not (site / target).is_file():
                broken.append(f"{name}: {link} (no {target})")
            elif (parts.fragment and "=" not in parts.fragment  # "build=failed": the table's filter, not an anchor
                  and target.endswith(".html") and parts.fragment not in pages[target].ids):
                broken.append(f"{name}: {link} (no id {parts.fragment!r} in {target})")
    return broken
