"""Benchmark: ``trib site`` for an Azure-Linux-sized distribution, and its components table in Chromium.

The tree is render_scale.py's synthetic distribution (about 7,600 local-spec components, 233 overlays
over 97 of them in Azure Linux's mix, build options and disabled checks), committed to git and
rendered (not timed here: render_scale.py measures that). Nothing is built: the site shows every
component's page, the per-overlay diffs of each changed component (replayed from its sources), the
table and index.json. Measured:

1. ``trib -O json site -o DIR`` as a user runs it (Python start-up included), twice into two
   directories: the wall time of each, and whether the two sites are identical byte for byte;
2. the largest page (HTML) and the largest file of any kind (the table's data scripts included);
3. unless ``--no-browser``: the components page in headless Chromium (Debian's, through Playwright)
   over file://, timed inside the page: from navigation to the table ready (its first 500 rows shown),
   one filter keystroke (a two-letter name fragment; the matches counted, the first 500 shown) and
   "Show all" (all 7,600 rows laid out), each until the layout is done.

Targets on 2 cores: the site in <= 30 s, no page over 1 MB (1,000,000 bytes).

    python benchmarks/site_scale.py [--json] [--components N] [--jobs N] [--keep DIR] [--no-browser]
                                    [--profile N]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import pstats
import sys
from pathlib import Path
from typing import Any

from _common import Target, git_commit_all, machine, report, scratch_dir, timed, trib_json, tributary_commit
from render_scale import AZURE_COMPONENTS, generate, render_all

from tributary.config import load_project

PAGE_LIMIT = 1_000_000
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def digests(root: Path) -> dict[str, str]:
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()}


def sizes(root: Path) -> dict[str, Any]:
    files = [(path.stat().st_size, path.relative_to(root).as_posix()) for path in root.rglob("*") if path.is_file()]
    pages = [entry for entry in files if entry[1].endswith(".html")]
    largest_page, largest_file = max(pages), max(files)
    return {"files": len(files), "pages": len(pages), "total_mb": round(sum(s for s, _ in files) / 1e6, 1),
            "largest_page_bytes": largest_page[0], "largest_page": largest_page[1],
            "largest_file_bytes": largest_file[0], "largest_file": largest_file[1]}


def browser_timings(site: Path, fragment: str) -> dict[str, Any]:
    """The table's build and one filter keystroke, timed inside headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page()
            page.goto((site / "components.html").as_uri(), wait_until="load")
            page.wait_for_selector("#components[data-ready]", state="attached")
            ready_ms = page.evaluate("performance.now()")
            rows = page.locator("#rows tr").count()
            # One keystroke's worth of filtering, and then every match shown: each until laid out.
            filter_ms, matched = page.evaluate(
                """fragment => {
                    const input = document.getElementById("filter");
                    const start = performance.now();
                    input.value = fragment;
                    input.dispatchEvent(new Event("input"));
                    void document.body.offsetHeight;
                    return [performance.now() - start, document.getElementById("count").textContent];
                }""", fragment)
            all_ms = page.evaluate(
                """() => {
                    const input = document.getElementById("filter");
                    input.value = "";
                    input.dispatchEvent(new Event("input"));
                    const start = performance.now();
                    document.getElementById("every").click();
                    void document.body.offsetHeight;
                    return performance.now() - start;
                }""")
            shown_all = page.locator("#rows tr").count()
        finally:
            browser.close()
    return {"table_ready_ms": round(ready_ms), "table_rows_at_first": rows, "filter_ms": round(filter_ms, 1),
            "filter_fragment": fragment, "filter_count": matched, "show_all_ms": round(all_ms),
            "show_all_rows": shown_all}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--components", type=int, default=AZURE_COMPONENTS,
                        help="distribution size (default %(default)s)")
    parser.add_argument("--jobs", type=int, default=2, help="processes for render and site (default %(default)s)")
    parser.add_argument("--keep", type=Path, help="write the tree (and the sites) here and keep them")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium measurement")
    parser.add_argument("--profile", type=int, metavar="N",
                        help="instead of measuring, write the site in-process (one process) under cProfile; print "
                             "the top N functions")
    args = parser.parse_args()
    commit = tributary_commit()
    load_average = os.getloadavg()[0]
    with scratch_dir(args.keep, "trib-bench-site-") as root:
        generate_s, facts = timed(lambda: generate(root, args.components))
        git_commit_all(root, "synthetic distribution", ignore=("/build/", "/specs/", "/out/"))
        project = load_project(root)
        render_s, outcomes = render_all(project, project.component_names, args.jobs)
        failed = [o.component for o in outcomes if o.status != "ok"]
        if failed:
            raise SystemExit(f"{len(failed)} components did not render, e.g. {failed[:5]}")
        if args.profile:
            from tributary.site import write_site

            profiler = cProfile.Profile()
            profiler.runcall(write_site, project, root / "out" / "site-profile", jobs=1)
            stream = io.StringIO()
            pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(args.profile)
            print(stream.getvalue())
            return 0
        first, second = root / "out" / "site", root / "out" / "site-again"
        site_s, written = trib_json("-C", str(root), "-O", "json", "site", "-o", str(first), "-j", str(args.jobs))
        again_s, _ = trib_json("-C", str(root), "-O", "json", "site", "-o", str(second), "-j", str(args.jobs))
        identical = digests(first) == digests(second)
        result: dict[str, Any] = {
            "components": facts["components"],
            "overlays": facts["overlays"],
            "overlay_components": facts["overlay_components"],
            "site_s": round(site_s, 2),
            "site_again_s": round(again_s, 2),
            "identical": identical,
            **sizes(first),
            "problems": len(written["problems"]),
        }
        if not args.no_browser and CHROMIUM.is_file():
            result.update(browser_timings(first, "li"))
        result.update({
            "jobs": args.jobs,
            "render_s": round(render_s, 1),
            "generate_s": round(generate_s, 1),
            "tributary_commit": commit,
            **machine(),
            "loadavg_1m_at_start": round(load_average, 2),
        })
    targets = [Target("site_s", 30.0), Target("largest_page_bytes", PAGE_LIMIT)]
    notes = ["site_s is `trib -O json site` end to end (Python start-up included); render_s is not part of it",
             "targets are for the full size (7600 components) on 2 cores"]
    report(result, targets, as_json=args.json, notes=notes)
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
