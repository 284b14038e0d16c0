"""Descriptions, spec text and build logs are untrusted input: on the pages and in the table's rows they
are text, never markup. Each payload would set ``window.__pwned`` if a page ever ran it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from site_kit import open_page

from tributary.build.records import BuildRecord, Outcome, write_records
from tributary.config import load_project
from tributary.site import write_site

DESCRIPTION = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
ERROR = 'rpmbuild failed: <img src=x onerror="window.__pwned = 3">'
LOG = ["+ make", "<script>window.__pwned = 4</script>", '<svg onload="window.__pwned = 5"></svg>',
       'error: "><img src=y onerror=window.__pwned=6>']
REASON = "<b onmouseover=window.__pwned=7>forked</b>"
SPEC = """\
Name:           payload
Version:        1.0
Release:        1%{?dist}
Summary:        A package whose every text is hostile
License:        MIT

%description
<script>window.__pwned = 8</script>

%install
mkdir -p %{buildroot}/usr/share/payload

%files
/usr/share/payload

%changelog
* Thu Jan 01 2026 Dev <dev@example.invalid> - 1.0-1
- First
"""


@pytest.fixture
def hostile_site(make_project, tmp_path: Path) -> Path:
    """A project (nothing built, nothing rendered) whose overlay, fork reason and failed build log carry
    payloads, and its site."""
    root = make_project({
        "azldev.toml": f"""
            [project]
            description = "Payload Linux"

            [components.payload]
            spec = {{ type = "local", path = "payload/payload.spec", reason = {json.dumps(REASON)} }}

            [[components.payload.overlays]]
            type = "spec-append-lines"
            section = "%install"
            lines = ["# <script>window.__pwned = 9</script>"]
            description = {json.dumps(DESCRIPTION)}
            metadata = {{ category = "azl-compatibility", upstream-status = "inapplicable" }}

            [components.plain]
            spec = {{ type = "local", path = "plain/plain.spec", reason = "a plain one" }}
            """,
        "payload/payload.spec": SPEC,
        "plain/plain.spec": SPEC.replace("payload", "plain"),
    })
    project = load_project(root)
    log = project.log_dir / "payload.log"
    log.parent.mkdir(parents=True)
    log.write_text("\n".join(LOG) + "\n")
    write_records(project.work_dir, [BuildRecord("payload", Outcome.FAILED, 2.5, 1_800_000_000, log=log, error=ERROR)])
    site = tmp_path / "site"
    write_site(project, site, jobs=1)
    return site


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "escaping-alone"])
def test_payloads_stay_text_on_the_component_page_and_in_the_table(hostile_site, chromium, bypass_csp) -> None:
    # The pages forbid inline scripts (Content-Security-Policy); with that turned off, escaping alone
    # must still keep every payload inert.
    context = chromium.new_context(bypass_csp=bypass_csp)
    try:
        page = open_page(context, hostile_site / "components" / "payload.html").page
        text = page.locator("main").inner_text()
        for payload in (DESCRIPTION, ERROR.split(": ", 1)[1], *LOG[1:], REASON):
            assert payload in text
        assert "# <script>window.__pwned = 9</script>" in page.locator("section.overlay pre.diff").inner_text()
        _assert_inert(page)

        table = open_page(context, hostile_site / "components.html").page
        row = table.locator("#rows tr", has_text="payload")
        cells = row.inner_text()
        assert DESCRIPTION in cells and 'onerror="window.__pwned = 3"' in cells
        assert row.locator("td.changes").get_attribute("title") == DESCRIPTION
        _assert_inert(table)
    finally:
        context.close()


def _assert_inert(page) -> None:
    assert page.evaluate("window.__pwned") is None
    assert page.locator("main img, main svg:not(.chart), main b, main script:not([src])").count() == 0
    scripts = page.eval_on_selector_all("script", "nodes => nodes.map(n => n.getAttribute('src'))")
    assert all(src and src.endswith(".js") for src in scripts)


def test_index_json_carries_the_payloads_as_plain_strings(hostile_site) -> None:
    index = json.loads((hostile_site / "index.json").read_text())
    [payload] = [c for c in index["components"] if c["name"] == "payload"]
    assert payload["build"] == "failed" and payload["fullFork"] is True
    data = (hostile_site / "data" / "components-1.js").read_text()
    assert "<script>" in data and "</script>" in data  # raw in the data; the script inserts it as text


def test_a_build_record_naming_a_file_outside_the_log_directory_publishes_nothing(make_project, tmp_path) -> None:
    root = make_project({"azldev.toml": '[components.x]\nspec = { type = "local", path = "x/x.spec", reason = "r" }\n',
                         "x/x.spec": SPEC.replace("payload", "x")})
    project = load_project(root)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the web\n")
    write_records(project.work_dir, [BuildRecord("x", Outcome.FAILED, 1.0, 1_800_000_000, log=secret, error="e")])
    result = write_site(project, tmp_path / "site", jobs=1)
    assert any("names a log outside" in problem for problem in result.problems)
    assert not list((tmp_path / "site").rglob("*.log.txt"))
    assert "not for the web" not in (tmp_path / "site" / "components" / "x.html").read_text()



def test_the_site_works_from_a_static_web_server_too(hostile_site, chromium, http_server) -> None:
    """Served over HTTP (any static host), as from file://: pages, styles and the table's scripts load
    under the pages' Content-Security-Policy, with no console error, and the payloads stay inert."""
    shutil.copytree(hostile_site, http_server.root / "site")
    context = chromium.new_context()
    try:
        problems: list[str] = []
        page = context.new_page()
        page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning")
                else None)
        page.on("requestfailed", lambda request: problems.append(f"failed to load {request.url}"))
        page.goto(f"{http_server.url}/site/components.html", wait_until="load")
        assert page.locator("#rows tr").count() == 2
        page.locator("#filter").press_sequentially("plain")
        assert page.locator("#rows tr:visible td:first-child a").all_inner_texts() == ["plain"]
        page.locator("#rows tr:visible td:first-child a").click()
        page.wait_for_url("**/components/plain.html")
        assert page.locator("link[rel=stylesheet]").evaluate("l => l.sheet.cssRules.length") > 0
        page.goto(f"{http_server.url}/site/components/payload.html", wait_until="load")
        assert DESCRIPTION in page.locator("main").inner_text()
        _assert_inert(page)
        assert problems == []
        assert {"/site/data/components-1.js", "/site/static/table.js"} <= set(http_server.requests)
    finally:
        context.close()
