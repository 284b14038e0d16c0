"""The example distribution's website, opened in a real headless Chromium over file://.

The example is the session's build (``published``), given here its own output directory: its
packages published signed, SBOMs and signed provenance written, two images built and tested (the VM
disk booted under qemu), packages and images audited, as ``make demo`` does. Then ``trib site`` writes
the site, and every page type is loaded, clicked, checked for links and by axe-core.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from site_kit import PAGE_TYPES, axe_serious, broken_links, open_page

from tributary.build.records import read_record
from tributary.cli.app import main
from tributary.config import Project, load_project
from tributary.repo.publish import built_rpms, publish
from tributary.sbom.write import write_component
from tributary.tools.createrepo import read_primary

SCREENSHOTS_VARIABLE = "TRIB_SITE_SCREENSHOTS"
"""A directory to put the README's screenshots in (docs/images when refreshing them)."""


@dataclass(frozen=True)
class ExampleSite:
    project: Project
    args: list[str]
    site: Path
    screenshots: Path


def _trib(*args: str) -> None:
    code = main(list(args))
    assert code == 0, f"trib {' '.join(args)} exited {code}"


@pytest.fixture(scope="module")
def example_site(published, signing_key, test_kernel, tmp_path_factory) -> ExampleSite:
    """The example with everything a release records, in an output directory of its own, and its site."""
    base = tmp_path_factory.mktemp("site-example")
    source = published.project
    out = base / "out"
    for directory in ("rpms", "srpms"):
        shutil.copytree(source.output_dir / directory, out / directory)
    (base / "work").mkdir()
    for directory in ("build-records", "build-cache"):
        (base / "work" / directory).symlink_to(source.work_dir / directory)
    override = base / "dirs.toml"
    override.write_text(f'[project]\noutput-dir = "{out}"\nwork-dir = "{base}/work"\n')
    extra = [source.root.parent / "mirror.toml", override]
    project = load_project(source.root, extra_files=extra)
    publish(project, built_rpms(project), signing=signing_key)
    for name in project.component_names:
        record = read_record(project.work_dir, name)
        assert record is not None, name
        outputs = [out / path.relative_to(source.output_dir) for path in record.outputs]
        write_component(project, name, outputs, key=signing_key)
    args = ["-C", str(source.root), *(a for path in extra for a in ("--config-file", str(path)))]
    _trib(*args, "image", "build", "container-base")
    _trib(*args, "image", "test", "container-base")
    _trib(*args, "image", "build", "vm-base", "--format", "raw")
    _trib(*args, "image", "test", "vm-base", "--kernel", str(test_kernel))
    _trib(*args, "audit", "rpms", "-a", "--report", str(out / "reports" / "audit-rpms.json"))
    for image in ("container-base", "vm-base"):
        _trib(*args, "audit", "image", image, "--report", str(out / "reports" / f"audit-{image}.json"))
    site = base / "site"
    _trib(*args, "site", "-o", str(site))
    return ExampleSite(project, args, site, tmp_path_factory.getbasetemp() / "site-screenshots")


@pytest.fixture
def context(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    try:
        yield context
    finally:
        context.close()


def test_every_page_type_loads_without_a_console_error_and_is_photographed(example_site, context) -> None:
    example_site.screenshots.mkdir(exist_ok=True)
    readme = Path(os.environ[SCREENSHOTS_VARIABLE]) if os.environ.get(SCREENSHOTS_VARIABLE) else None
    for kind, page_path in PAGE_TYPES.items():
        opened = open_page(context, example_site.site / page_path)
        assert opened.problems == [], f"{page_path}: {opened.problems}"
        assert opened.page.locator("h1").count() == 1
        shot = example_site.screenshots / f"{kind}.png"
        opened.page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        if readme is not None and kind in ("home", "component"):
            readme.mkdir(parents=True, exist_ok=True)
            opened.page.screenshot(path=str(readme / f"site-{kind}.png"))
        opened.page.close()


def test_typing_greet_in_the_filter_shows_greets_rows_and_hides_the_others(example_site, context) -> None:
    opened = open_page(context, example_site.site / "components.html")
    page = opened.page
    rows = page.locator("#rows tr")
    names = example_site.project.component_names
    assert rows.count() == len(names)
    assert page.locator("#rows tr:visible").count() == len(names)
    page.locator("#filter").press_sequentially("greet")
    visible = page.locator("#rows tr:visible td:first-child a").all_inner_texts()
    wanted = [name for name in names if "greet" in name.lower()]
    assert sorted(visible) == sorted(wanted) and "greet" in visible and "filesystem" not in visible
    assert page.locator("#count").inner_text() == \
        f"Showing {len(wanted)} of {len(wanted)} matching components ({len(names)} in all)."
    assert page.locator("#rows tr:has-text('filesystem')").is_hidden()
    # Sorting by the number of changes puts the most changed component first.
    page.locator("#filter").fill("")
    page.locator("th:has-text('Changes') button").click()
    page.locator("th:has-text('Changes') button").click()
    assert page.locator("th:has-text('Changes')").get_attribute("aria-sort") == "descending"
    first = page.locator("#rows tr").first.locator("td").nth(5).inner_text()
    assert first.startswith("8 overlays")
    assert opened.problems == []


def test_every_local_link_resolves(example_site, context) -> None:
    # Links the table's script makes, as the browser sees them.
    opened = open_page(context, example_site.site / "components.html")
    made = opened.page.eval_on_selector_all("#rows a", "links => links.map(a => a.getAttribute('href'))")
    assert len(made) == len(example_site.project.component_names)
    assert broken_links(example_site.site, {"components.html": made}) == []
    assert (example_site.site / "logs" / "greet.log.txt").is_file()


def test_axe_finds_no_serious_or_critical_violation_on_any_page_type(example_site, context) -> None:
    for page_path in PAGE_TYPES.values():
        opened = open_page(context, example_site.site / page_path)
        assert axe_serious(opened.page) == [], page_path
        opened.page.close()


def test_a_component_page_shows_each_overlay_its_diff_build_packages_provenance_and_audit(example_site,
                                                                                          context) -> None:
    page = open_page(context, example_site.site / "components" / "greet.html").page
    overlays = page.locator("section.overlay")
    assert overlays.count() == 5
    first = overlays.first
    assert "Greet 'Tributary' by default, the distribution's branding." in first.inner_text()
    assert "azl-branding-policy" in first.inner_text() and "needs-upstream-hook" in first.inner_text()
    assert first.locator("a", has_text="bug").get_attribute("href") == "https://example.org/greet/issues/12"
    # The diff each overlay causes, coloured by line kind: #2 adds the Provides tag.
    added = overlays.nth(1).locator("pre.diff .d-add").all_inner_texts()
    assert added == ["+Provides: hello = %{version}-%{release}"]
    assert page.locator(".d-add").first.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(230, 255, 236)"
    # The build: its log's end and a link to all of it.
    log = page.locator("pre.log").inner_text()
    record = read_record(example_site.project.work_dir, "greet")
    assert record is not None and record.log is not None
    assert log.splitlines()[-1] == record.log.read_text().splitlines()[-1]
    whole = page.locator("a", has_text="the whole log").get_attribute("href")
    assert (example_site.site / "components" / whole).resolve().read_bytes() == record.log.read_bytes()
    # Packages with the sha256 their channel publishes.
    channel = example_site.project.output_dir / "repo" / "rpm-base"
    published = {Path(p.location).name: p.checksum for p in read_primary(channel)}
    rpm = next(name for name in published if name.startswith("greet-1.1"))
    row = page.locator("#packages table tr", has_text=rpm)
    assert published[rpm] in row.inner_text() and "rpm-base" in row.inner_text()
    # SBOM downloads, and provenance checked against the published key.
    spdx = page.locator("a", has_text="SPDX 2.3").get_attribute("href")
    assert json.loads((example_site.site / "components" / spdx).resolve().read_text())["spdxVersion"] == "SPDX-2.3"
    provenance = page.locator("#sbom p", has_text="Provenance").inner_text()
    assert "verified" in provenance and "repo/rpm-base/RPM-GPG-KEY-tribex" in provenance
    # The ELF audit: greet's one program, every check, and its verdict.
    audit = page.locator("#audit table tr", has_text="/usr/bin/greet")
    assert audit.count() == 1 and "pie" in page.locator("#audit table th").all_inner_texts()


def test_image_pages_show_formats_test_and_audit(example_site, context) -> None:
    page = open_page(context, example_site.site / "images" / "vm-base.html").page
    manifest = json.loads((example_site.project.output_dir / "images/vm-base/manifest.json").read_text())
    formats = page.locator("#formats table").inner_text()
    assert manifest["formats"][0]["sha256"] in formats and "raw" in formats
    test = page.locator("#test table").inner_text()
    assert "boots the raw disk" in test and "'Tributary Example Linux' up and powered off" in test
    assert page.locator("#test p .badge").inner_text() == "passed"
    assert "sbom-rpmdb" in page.locator("#audit table").inner_text()
    listing = open_page(context, example_site.site / "images.html").page.locator("table").inner_text()
    assert "container-base" in listing and "not built" in listing  # wsl and the distroless one are not built here


def test_index_json_describes_the_site_for_scripts(example_site) -> None:
    index = json.loads((example_site.site / "index.json").read_text())
    assert index["distribution"]["distro"] == "tribex" and index["distribution"]["version"] == "1.0"
    by_name = {c["name"]: c for c in index["components"]}
    assert sorted(by_name) == example_site.project.component_names
    assert by_name["greet"]["overlays"] == 5 and by_name["greet"]["build"] == "built"
    assert (example_site.site / by_name["greet"]["page"]).is_file()
    rpms = {r["file"]: r for r in by_name["greet"]["rpms"]}
    assert all(r["sha256"] and len(r["sha256"]) == 64 for r in rpms.values())
    assert {a["kind"] for a in index["audits"]} == {"rpms", "image"} and all(a["passed"] for a in index["audits"])
    assert index["counts"]["builds"]["built"] == len(by_name)


def test_the_same_inputs_give_the_same_site_byte_for_byte(example_site, tmp_path) -> None:
    again = tmp_path / "again"
    _trib(*example_site.args, "-q", "site", "-o", str(again), "-j", "1")

    def digests(root: Path) -> dict[str, str]:
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file()}

    assert digests(again) == digests(example_site.site)
