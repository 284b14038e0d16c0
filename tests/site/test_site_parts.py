"""The site's parts that need no browser: page names, diff colouring, charts, log tails, spec versions,
and what ``trib site`` does with its output directory and with data it cannot read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tributary.build.records import BuildRecord, Outcome, write_records
from tributary.config import load_project
from tributary.errors import TribError
from tributary.site import write_site
from tributary.site.charts import BAR_SPACE, bar_chart
from tributary.site.collect import log_tail, spec_version
from tributary.site.diffs import clip, diff_lines
from tributary.site.model import page_slug
from tributary.site.writer import MARKER

SPEC = """\
%global srcname demo
%global commit 0123456789abcdef0123456789abcdef01234567
%global shortcommit %(c=%{commit}; echo ${c:0:7})
Name:           %{srcname}
Epoch:          2
Version:        1.4^git%{shortcommit}
Release:        7%{?dist}
Summary:        A demo
License:        MIT

%description
Version: 9.9

%changelog
* Thu Jan 01 2026 Dev <dev@example.invalid> - 1.4-7
- First
"""


def test_page_names_are_the_names_unless_a_name_could_escape_or_needs_quoting() -> None:
    assert page_slug("perl-Greet") == "perl-Greet" and page_slug("gcc-c++") == "gcc-c++"
    for hostile in ("../etc/passwd", "a/b", ".hidden", "x y", "<script>", "a" * 200):
        slug = page_slug(hostile)
        assert slug.startswith("x-") and len(slug) == 22 and slug == page_slug(hostile)
    assert page_slug("a/b") != page_slug("a/c")


def test_diff_lines_are_told_apart_even_when_a_removed_line_starts_with_dashes() -> None:
    text = ("--- a/x.spec\n+++ b/x.spec\n@@ -1,3 +1,3 @@\n context\n---removed dashes\n+++added pluses\n"
            "\\ No newline at end of file\nrename a/p -> b/q\n")
    assert [kind for kind, _ in diff_lines(text)] == ["file", "file", "hunk", "ctx", "del", "add", "note", "file"]
    assert diff_lines("") == []


def test_a_diff_too_long_for_a_page_is_cut_at_a_line_and_says_how_much_is_left() -> None:
    assert clip("a\nb\n", 10) == ("a\nb\n", 0)
    assert clip("aaaa\nbbbb\ncccc\n", 10) == ("aaaa\nbbbb\n", 1)
    assert clip("aaaa\nbbbb\ncccc", 7) == ("aaaa\n", 2)
    assert clip("a" * 50, 10) == ("", 1)


def test_a_chart_scales_bars_to_the_largest_and_says_its_numbers() -> None:
    chart = bar_chart("c", "Overlays by category", {"azl-pruning": 4, "upstream-backport": 1, "none": 0},
                      tones={"none": "muted"})
    assert [bar.width for bar in chart.bars] == [BAR_SPACE, BAR_SPACE // 4, 0]
    assert [bar.tone for bar in chart.bars] == ["accent", "accent", "muted"]
    assert chart.summary == "Overlays by category: azl-pruning 4, upstream-backport 1, none 0"
    assert bar_chart("e", "Empty", {}).summary == "Empty: none"


def test_a_log_tail_is_its_last_lines_without_control_characters(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_bytes(b"".join(b"line %d\n" % n for n in range(1, 20001)) + b"\x1b[31mred\x07 \xff end")
    tail, lines = log_tail(log, 3)
    assert tail == "line 19999\nline 20000\n[31mred \ufffd end" and lines == 20001


def test_a_spec_version_is_read_from_its_preamble_running_its_shell_only_when_needed(tmp_path: Path) -> None:
    assert spec_version(SPEC, tmp_path, {}) == ("2:1.4^git0123456", "7")
    plain = SPEC.replace("^git%{shortcommit}", "")
    assert spec_version(plain, tmp_path, {"dist": ".tx1"}) == ("2:1.4", "7.tx1")


@pytest.fixture
def small_project(make_project) -> Path:
    return make_project({
        "azldev.toml": """
            [project]
            description = "Small Linux"

            [components.demo]
            spec = { type = "local", path = "demo/demo.spec", reason = "ours" }
            """,
        "demo/demo.spec": SPEC,
    })


def test_only_an_empty_directory_or_an_earlier_site_is_replaced(small_project: Path, tmp_path: Path) -> None:
    project = load_project(small_project)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(TribError, match="not empty and holds no site written by 'trib site'"):
        write_site(project, precious, jobs=1)
    assert [p.name for p in precious.iterdir()] == ["notes.txt"]
    site = tmp_path / "site"
    first = write_site(project, site, jobs=1)
    assert first.components == 1 and (site / MARKER).is_file() and (site / "components" / "demo.html").is_file()
    (site / "stale.html").write_text("from an older site")
    write_site(project, site, jobs=1)
    assert not (site / "stale.html").exists() and (site / "index.html").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site")]  # no staging directory left


def test_the_cli_writes_the_site_and_reports_it(small_project: Path, tmp_path: Path, trib) -> None:
    result = trib("-C", str(small_project), "-O", "json", "site", "-o", str(tmp_path / "web"))
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["site"] == str(tmp_path / "web") and data["components"] == 1 and data["problems"] == []
    default = trib("-C", str(small_project), "site")
    assert default.code == 0 and default.out.strip() == str(small_project / "out" / "site" / "index.html")
    index = json.loads((small_project / "out" / "site" / "index.json").read_text())
    [demo] = index["components"]
    assert (demo["name"], demo["build"], demo["fullFork"]) == ("demo", "not built", True)


def test_a_component_whose_sources_are_gone_still_gets_its_page(make_project, tmp_path: Path) -> None:
    root = make_project({
        "azldev.toml": """
            [components.lost]
            spec = { type = "local", path = "lost/lost.spec", reason = "ours" }

            [[components.lost.overlays]]
            type = "spec-add-tag"
            tag = "Provides"
            value = "found"
            description = "A change whose sources are missing."
            """,
    })
    result = write_site(load_project(root), tmp_path / "site", jobs=1)
    assert len(result.problems) == 1 and "lost: the overlays' diffs are not shown" in result.problems[0]
    page = (tmp_path / "site" / "components" / "lost.html").read_text()
    assert "The diffs cannot be shown" in page and "A change whose sources are missing." in page
    assert "the overlays&#39; diffs are not shown" in (tmp_path / "site" / "index.html").read_text()


def test_a_huge_overlay_leaves_its_page_well_under_a_megabyte(make_project, tmp_path: Path) -> None:
    """An overlay adding a 3 MB file: the page shows the start of its diff and says how much is left."""
    root = make_project({
        "azldev.toml": """
            [components.big]
            spec = { type = "local", path = "big/big.spec", reason = "ours" }

            [[components.big.overlays]]
            type = "file-add"
            file = "data.txt"
            source = "data.txt"
            description = "Ship a large data file."

            [[components.big.overlays]]
            type = "spec-add-tag"
            tag = "Source1"
            value = "data.txt"
            description = "Name it."
            """,
        "big/big.spec": SPEC.replace("Release:        7%{?dist}", "Release:        7%{?dist}\nSource0: big.tar.gz"),
    })
    (root / "data.txt").write_text("".join(f"line {n} of the large data file\n" for n in range(100_000)))
    write_site(load_project(root), tmp_path / "site", jobs=1)
    page = (tmp_path / "site" / "components" / "big.html")
    assert page.stat().st_size < 400_000
    text = page.read_text()
    assert "+line 0 of the large data file" in text and "more lines not shown here" in text



def test_failed_and_skipped_builds_are_shown_with_what_a_skipped_one_waited_for(make_project, tmp_path: Path) -> None:
    plain = SPEC.replace("%global shortcommit %(c=%{commit}; echo ${c:0:7})\n", "").replace("git%{shortcommit}", "")
    root = make_project({
        "azldev.toml": "".join(f'[components.{name}]\nspec = {{ type = "local", path = "{name}/{name}.spec", '
                               f'reason = "ours" }}\n' for name in ("app", "base")),
        "app/app.spec": plain.replace("%{srcname}", "app"),
        "base/base.spec": plain.replace("%{srcname}", "base"),
    })
    project = load_project(root)
    log = project.log_dir / "base.log"
    log.parent.mkdir(parents=True)
    log.write_text("+ make\nerror: base.c:3: expected ';'\n")
    write_records(project.work_dir, [
        BuildRecord("base", Outcome.FAILED, 4.0, 1_800_000_000, log=log, error="rpmbuild exited 1"),
        BuildRecord("app", Outcome.SKIPPED, 0.0, 1_800_000_001, blocked_by=("base", "ghost")),
    ])
    site = tmp_path / "site"
    write_site(project, site, jobs=1)
    app = (site / "components" / "app.html").read_text()
    # What it waited for links to that component's page; a name the project does not have gets no link.
    assert '<dt>Waited for</dt><dd><a href="base.html">base</a>, ghost</dd>' in app
    assert "it did not run" in app
    base = (site / "components" / "base.html").read_text()
    assert "rpmbuild exited 1" in base and "error: base.c:3: expected &#39;;&#39;" in base
    assert (site / "logs" / "base.log.txt").read_bytes() == log.read_bytes()
    index = json.loads((site / "index.json").read_text())
    assert {c["name"]: c["build"] for c in index["components"]} == {"app": "skipped", "base": "failed"}
    assert index["counts"]["builds"] == {"built": 0, "cached": 0, "failed": 1, "skipped": 1, "not built": 0}
    home = (site / "index.html").read_text()
    assert '<a href="components.html#build=failed">1 failed</a>' in home
    assert '<a href="components.html#build=skipped">1 skipped</a>' in home
