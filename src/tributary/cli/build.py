"""``trib build``: build components in dependency order, in parallel, in a sandbox, cached."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.live import Live
from rich.table import Table

from tributary.cli import common
from tributary.cli.comp import AllOpt, GroupOpt, NamesArg, selected
from tributary.cli.output import Column, OutputFormat, emit_rows
from tributary.errors import CheckFailed, TribError

_STYLE = {
    "queued": "dim",
    "building": "yellow",
    "done": "green",
    "cached": "cyan",
    "failed": "bold red",
    "skipped": "magenta",
}


def build(
    ctx: typer.Context,
    names: NamesArg = None,
    all_components: AllOpt = False,
    group: GroupOpt = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Builds at the same time (default: CPU count).")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even what the cache says is current.")] = False,
    backend: Annotated[str, typer.Option(
        "--backend", help="native: tributary's own roots and bubblewrap (default); mock: real mock with the "
                          "project's mock config, where mock is installed.")] = "native",
) -> None:
    """Build components into SRPMs and RPMs: <output-dir>/srpms/ and <output-dir>/rpms/<arch>/.

    The buildroot comes from the distro version's mock config (mock-config-<arch>, read as mock reads
    it), tributary's TOML form, or, when none is named, the default: this host's stage-0 repository
    (made on first use), @buildsys-build and the project's own rpm-config. Roots are assembled with
    dnf and cached; each build runs the root's own rpmbuild in bubblewrap with the root as / (no
    network, an unprivileged user, a fixed build path). Components are ordered by their BuildRequires
    (a cycle is an error naming its members); what a selected component needs is built first, the
    provider of a buildroot package (the rpm-config) before everything. Unchanged builds come from the
    cache. A failure shows the end of its log (full logs in <log-dir>/<component>.log); what needs it
    is skipped, the rest goes on. Package groups with import-from-buildroot are then imported.
    Each component built (or found in the cache) gets its SBOMs and build provenance in
    <output-dir>/sbom/, the provenance signed when TRIB_GPG_KEY names a key (see trib sbom).

    Examples:

      trib build -a -j 2

      trib build greet              # and libgreet first, if it is not built yet

      trib build -a --force -O json

      trib --config-file stage1.toml build -a      # the example's bootstrap stage 1

      trib build -a --backend mock                 # on a host with mock installed
    """
    from tributary.build.distro import Backend, build_distribution

    try:
        chosen_backend = Backend(backend)
    except ValueError:
        raise TribError(f"unknown build backend {backend!r}; choose one of "
                        f"{', '.join(item.value for item in Backend)}") from None

    project = common.project(ctx)
    state = common.settings(ctx)
    chosen = selected(ctx, names, all_components, group)
    live_wanted = not (state.quiet or state.output != OutputFormat.table or os.environ.get("CI") == "true"
                       or not state.err_console.is_terminal)
    live = Live(console=state.err_console, transient=True, refresh_per_second=8) if live_wanted else None

    def show(table_of_jobs):
        if live is not None:
            live.update(_live_table(table_of_jobs))

    if live is not None:
        live.start()
    try:
        plan, jobs_table = build_distribution(project, chosen, jobs=jobs or os.cpu_count() or 1, force=force,
                                             backend=chosen_backend, on_change=show)
    finally:
        if live is not None:
            live.stop()
    rows = [job.to_json() for job in jobs_table.values()]
    sboms, sbom_failures = _write_sboms(ctx, project, jobs_table)
    for row, job in zip(rows, jobs_table.values(), strict=True):
        row["outputs"] = [str(p) for p in job.result] if isinstance(job.result, list) else []
        row["sbom"] = sboms.get(job.name, [])
    emit_rows(state, rows, [Column("component", "Component"), Column("state", "State"), Column("seconds", "Seconds"),
                            Column("blockedBy", "Skipped because")])
    if not state.quiet:
        for item in plan.buildroot.unsupported:
            print(f"note: buildroot {plan.buildroot.name}: not applied: {item}", file=sys.stderr)
    failed = [job for job in jobs_table.values() if job.state.value == "failed"]
    for job in failed:
        print(f"error: {job.error}", file=sys.stderr)
    if plan.import_error is not None:
        raise plan.import_error
    if failed or any(job.state.value == "skipped" for job in jobs_table.values()):
        raise CheckFailed(f"{len(failed)} build(s) failed")
    if sbom_failures:
        raise SbomsNotWritten(sbom_failures)


class SbomsNotWritten(TribError):
    """The builds succeeded but some SBOMs or provenance could not be written; exits as the first such error."""

    def __init__(self, failures: dict[str, TribError]):
        names = ", ".join(failures)
        super().__init__(f"SBOM or provenance not written for {len(failures)} component(s): {names}",
                         hint="the packages are built; fix the cause above and run 'trib sbom' for them")
        self.exit_code = next(iter(failures.values())).exit_code


def _write_sboms(ctx: typer.Context, project, jobs_table) -> tuple[dict[str, list[str]], dict[str, TribError]]:
    """SBOMs and provenance (signed with TRIB_GPG_KEY when set) of every component built or cached.

    A component whose documents cannot be written is warned about and returned among the failures;
    the others are still written, and the build's results are still shown.
    """
    from tributary.cli.sbom import provenance_key
    from tributary.sbom.write import write_component

    built = [job for job in jobs_table.values() if job.state.value in ("done", "cached") and job.result]
    if not built:
        return {}, {}
    failures: dict[str, TribError] = {}
    try:
        key = provenance_key()
    except TribError as error:
        for job in built:
            print(f"warning: {job.name}: sbom: {error}", file=sys.stderr)
        return {}, dict.fromkeys((job.name for job in built), error)
    state = common.settings(ctx)
    if key is None and not state.quiet:
        print("note: build provenance is unsigned (set TRIB_GPG_KEY to sign it)", file=sys.stderr)
    out: dict[str, list[str]] = {}
    for job in built:
        try:
            written = write_component(project, job.name, job.result, key=key)
        except TribError as error:
            print(f"warning: {job.name}: sbom: {error}", file=sys.stderr)
            failures[job.name] = error
            continue
        for problem in written.problems:
            print(f"warning: {job.name}: {problem}", file=sys.stderr)
        out[job.name] = [str(path) for path in written.paths]
    return out, failures


def _live_table(jobs) -> Table:
    counts: dict[str, int] = {}
    for job in jobs.values():
        counts[job.state.value] = counts.get(job.state.value, 0) + 1
    title = "  ".join(f"{state}: {count}" for state, count in sorted(counts.items()))
    table = Table(title=title, header_style="bold")
    table.add_column("Component")
    table.add_column("State")
    for name, job in jobs.items():
        table.add_row(name, f"[{_STYLE[job.state.value]}]{job.state.value}[/]")
    return table
