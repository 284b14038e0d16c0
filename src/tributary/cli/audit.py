"""``trib audit``: the release gate on hardening, SELinux, sysctls, set-id files, FIPS and the SBOM."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from tributary.cli import common
from tributary.cli.comp import AllOpt, GroupOpt, NamesArg, selected
from tributary.cli.output import Column, OutputFormat, emit_rows
from tributary.errors import CheckFailed, TribError
from tributary.fsutil import atomic_write

app = typer.Typer(help="Audit built packages and images against the project's [audit] policy.", no_args_is_help=True)

BaselineOpt = Annotated[
    Path | None,
    typer.Option(
        "--baseline",
        help="An earlier release's --report JSON: list (and fail on) checks that held there and no longer do.",
    ),
]
ReportOpt = Annotated[
    Path | None,
    typer.Option("--report", help="Also write the full report as JSON to this file (keep it for the next --baseline)."),
]
DateOpt = Annotated[
    str | None, typer.Option("--date", help="Audit as of this day (YYYY-MM-DD), for waiver expiry; default today.")
]
AllFindingsOpt = Annotated[
    bool, typer.Option("--all", help="Show passing findings too (JSON always has every finding).")
]


@app.command("rpms")
def rpms(
    ctx: typer.Context,
    names: NamesArg = None,
    all_components: AllOpt = False,
    group: GroupOpt = None,
    baseline: BaselineOpt = None,
    report_file: ReportOpt = None,
    on: DateOpt = None,
    show_all: AllFindingsOpt = False,
) -> None:
    """Check every ELF file in the built RPMs: PIE, full RELRO, stack protector, FORTIFY, NX stack,
    CET (IBT and SHSTK) and RPATH/RUNPATH inside system directories.

    The table has one row per file and one column per check (ok, FAIL, WARN, waived, - for n/a);
    failures are listed with their evidence. Waivers and required checks come from [audit] in the
    project (docs/AUDIT.md). Exit 1 on a violation or, with --baseline, a regression.

    Examples:

      trib audit rpms -a

      trib audit rpms greet libgreet -O markdown

      trib audit rpms -a --report out/reports/audit-rpms.json --baseline releases/1.0/audit-rpms.json
    """
    from tributary.audit.rpms import audit_rpms

    project = common.project(ctx)
    everything = all_components and not names and group is None
    chosen = None if everything else selected(ctx, names, all_components, group, required=True)
    result = audit_rpms(project, chosen, today=_day(on))
    _finish(ctx, result, baseline, report_file, show_all)


@app.command("image")
def image(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The image ([images.NAME]), built with 'trib image build'.")],
    baseline: BaselineOpt = None,
    report_file: ReportOpt = None,
    on: DateOpt = None,
    show_all: AllFindingsOpt = False,
) -> None:
    """Check a built image as it ships (its WSL tarball, else its OCI layers): SELinux enforcing (and
    its policy package where [audit.images.NAME] names one), the hardening sysctls, set-id files
    against setuid-allow, world-writable files, FIPS readiness, and the rpm database against the
    SBOM embedded at /usr/share/tributary/sbom/NAME.spdx.json. Exit 1 on a violation.

    Examples:

      trib audit image container-base

      trib audit image wsl -O json

      trib audit image container-distroless --report out/reports/audit-distroless.json
    """
    from tributary.audit.image import audit_image

    project = common.project(ctx)
    result = audit_image(project, name, today=_day(on))
    _finish(ctx, result, baseline, report_file, show_all)


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise TribError(f"--date {value!r} is not a date (YYYY-MM-DD)") from error


def _finish(ctx: typer.Context, result, baseline: Path | None, report_file: Path | None, show_all: bool) -> None:
    """Compare with the baseline, write the report, print it in the chosen format, fail if it failed."""
    from tributary.audit.report import (
        load_baseline,
        markdown,
        per_file,
        regressions,
        rows,
    )

    if baseline is not None:
        result.baseline = str(baseline)
        result.regressions = regressions(result.findings, load_baseline(baseline))
    data = result.to_json()
    if report_file is not None:
        atomic_write(report_file, json.dumps(data, indent=2) + "\n")
    state = common.settings(ctx)
    if state.output == OutputFormat.json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    elif state.output == OutputFormat.markdown:
        sys.stdout.write(markdown(result))
    elif result.kind == "rpms" and state.output == OutputFormat.table:
        from tributary.config.model import AUDIT_ELF_CHECKS

        table = per_file(result)
        emit_rows(state, table, [Column("package", "Package"), Column("file", "File"),
                                 *(Column(check, check) for check in AUDIT_ELF_CHECKS)],
                  title=f"{len(table)} ELF files", empty="no ELF files in the selected RPMs")
        problems = [row for row in rows(result) if not row["status"].startswith("waived")]  # waived: in the matrix
        if problems:
            emit_rows(state, problems, _finding_columns(result.kind))
    else:
        emit_rows(state, rows(result, all_findings=show_all or state.output == OutputFormat.html),
                  _finding_columns(result.kind), title=f"audit of {result.target}",
                  empty="every check passed or does not apply")
    for finding in result.regressions:
        print(f"regression: {finding.subject or result.target}: {finding.check} held in the baseline, "
              f"now {finding.status}: {finding.evidence}", file=sys.stderr)
    if result.failed:
        failing: dict[str, list[str]] = {}
        for finding in [*result.violations, *result.regressions]:
            where = f"{finding.package}: {finding.subject}" if finding.package else (finding.subject or result.target)
            failing.setdefault(where, [])
            if finding.check not in failing[where]:
                failing[where].append(finding.check)
        for where, checks in failing.items():
            print(f"audit: {where}: {', '.join(checks)}", file=sys.stderr)
        raise CheckFailed(f"audit of {result.target}: {len(result.violations)} violation(s), "
                          f"{len(result.regressions)} regression(s)")


def _finding_columns(kind: str) -> list[Column]:
    columns = [Column("status", "Status"), Column("check", "Check")]
    if kind == "rpms":
        columns.append(Column("package", "Package"))
    return [*columns, Column("subject", "File"), Column("evidence", "Evidence")]
