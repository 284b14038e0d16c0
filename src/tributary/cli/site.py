"""``trib site``: a static website of the distribution, from what the other commands recorded."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tributary.cli import common
from tributary.cli.output import OutputFormat, emit_object


def site(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output-dir", "-o", help="Where to write it (default: <output-dir>/site).")
    ] = None,
    audit_report: Annotated[
        list[Path] | None,
        typer.Option("--audit-report", help="An audit report to show (repeatable; default: every one in "
                                            "<output-dir>/reports/)."),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Processes writing pages (default: CPU count).")] = 0,
) -> None:
    """Write a static website of the distribution: open its index.html in a browser, or serve the directory.

    Home (versions, counts, the changes by overlay category and upstream status, build health), a
    sortable, filterable table of every component, a page per component (upstream and lock, each
    overlay with its description, category, status, references and the diff it causes, the build
    with the end of its log, RPMs with sha256 and channel, SBOMs, provenance checked against the
    published key, the ELF audit), the images (formats, sizes, digests, packages, test, audit), the
    change and audit reports, and index.json. Nothing is built or rendered: the site shows what render,
    build, publish, image build/test and audit recorded. It works from file:// and from any static web
    server; the same inputs give the same bytes. A directory that is neither empty nor a site written
    by this command is never replaced.

    Examples:

      trib site                          # <output-dir>/site/index.html

      trib site -o /srv/www/distro -j 4

      trib site --audit-report releases/1.0/audit-rpms.json -O json
    """
    from tributary.cli.progress import progress_bar
    from tributary.site import write_site

    project = common.project(ctx)
    state = common.settings(ctx)
    target = output if output is not None else project.output_dir / "site"
    with progress_bar(state, "site: component pages", len(project.component_names)) as advance:

        def written(count: int) -> None:
            for _ in range(count):
                advance("")

        result = write_site(project, target, audit_reports=audit_report, jobs=jobs or None, progress=written)
    for problem in result.problems:
        print(f"note: {problem}", file=sys.stderr)
    if state.output == OutputFormat.json:
        emit_object(state, result.to_json())
    else:
        print(result.path / "index.html")
