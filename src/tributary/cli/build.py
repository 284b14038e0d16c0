"""``trib build``: build components in dependency order, in parallel, in a sandbox, cached."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live
from rich.table import Table

from tributary.build.component import KeepTree
from tributary.cli import common
from tributary.cli.comp import AllOpt, GroupOpt, NamesArg, selected
from tributary.cli.output import Column, OutputFormat, emit_rows
from tributary.errors import CheckFailed, ConfigError, TribError

_STYLE = {
    "queued": "dim",
    "waiting": "blue",
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
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", min=1, help="Builds at the same time (default: CPU count).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even what the cache says is current.")] = False,
    backend: Annotated[str, typer.Option(
        "--backend", help="native: tributary's own roots and bubblewrap (default); mock: real mock with the "
                          "project's mock config, where mock is installed.")] = "native",
    no_check: Annotated[bool, typer.Option("--no-check", help="Skip every %check (a build with its own cache entry).")
                        ] = False,
    preserve_buildenv: Annotated[KeepTree, typer.Option(
        "--preserve-buildenv", help="When a build's scratch tree (<work-dir>/builds/<component>.*) is kept.")
    ] = KeepTree.ON_FAILURE,
    local_repo: Annotated[list[Path] | None, typer.Option(
        "--local-repo", metavar="DIR", help="Another repository for the buildroot: a directory of RPMs, with or "
                                            "without repodata (repeatable).")] = None,
    local_repo_with_publish: Annotated[Path | None, typer.Option(
        "--local-repo-with-publish", metavar="DIR",
        help="Also copy the RPMs of this run into DIR and index it (a repository for later builds or images).")
    ] = None,
    continue_on_error: Annotated[bool, typer.Option(
        "--continue-on-error", "-k", help="azldev's flag: a failure never stops the builds that do not need it.")
    ] = False,
    srpm_only: Annotated[bool, typer.Option(
        "--srpm-only",
        help="Refused: the SRPM and the RPMs are built in one step (the SRPM is in <output-dir>/srpms/).")
    ] = False,
    mock_config_opt: Annotated[list[str] | None, typer.Option(
        "--mock-config-opt", metavar="KEY=VALUE", help="With --backend mock, passed to mock as --config-opts "
                                                       "(repeatable); the native backend refuses it.")] = None,
    without_git: Annotated[bool, typer.Option(
        "--without-git", help="azldev's flag: tributary's builds never make a dist-git repository (the release "
                              "is worked out when the spec is rendered).")] = False,
    executor: Annotated[str, typer.Option(
        "--executor", help="local: build on this machine (default); dask: on the workers of a Dask cluster "
                           "(--scheduler, or --workers to start one here).")] = "local",
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", envvar="TRIB_DASK_SCHEDULER",
        help="The Dask scheduler's address for --executor dask (tcp://HOST:8786, tls://HOST:8786).")] = None,
    workers: Annotated[int, typer.Option(
        "--workers", help="With --executor dask: start a cluster of N single-threaded workers on this machine "
                          "for this run instead of connecting to a scheduler.")] = 0,
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

      trib comp build -p greet --local-repo-with-publish out/local -q    # azldev's spelling

      trib build -a --executor dask --scheduler tcp://builders.example:8786

      trib build -a --executor dask --workers 2    # a Dask cluster on this machine, for this run

    With --executor dask each build is a self-contained task that a worker builds in its own root
    cache, reading the sources and the roots' repositories from an artifact store this client serves
    (HTTP on its own address, HTTPS when Dask's TLS is configured); the packages come back by hash
    and are checked before they are written. See docs/SCALE.md.

    trib comp build is this command, with azldev's flags: --no-check, --preserve-buildenv,
    --local-repo, --local-repo-with-publish, -k (docs/COMPATIBILITY.md says what each does here).
    """
    from tributary.build.distro import Backend

    try:
        chosen_backend = Backend(backend)
    except ValueError:
        raise TribError(f"unknown build backend {backend!r}; choose one of "
                        f"{', '.join(item.value for item in Backend)}") from None
    del continue_on_error, without_git  # what tributary always does
    if srpm_only:
        raise ConfigError("--srpm-only: tributary builds the SRPM and the RPMs from it in one step",
                          hint="trib build writes the SRPM to <output-dir>/srpms/; rpmbuild -bs on the rendered "
                               "spec makes one alone")
    if mock_config_opt and chosen_backend != Backend.MOCK:
        raise ConfigError("--mock-config-opt needs --backend mock: the native backend reads the mock config itself",
                          hint="set the option in the distro version's mock config")

    project = common.project(ctx)
    state = common.settings(ctx)
    chosen = selected(ctx, names, all_components, group)
    if not chosen:
        emit_rows(state, [], [Column("component", "Component")], empty="nothing built")
        return
    extra_repos = _local_repos([*(local_repo or []), *([local_repo_with_publish] if local_repo_with_publish and
                                                        local_repo_with_publish.is_dir() else [])])
    # Before anything is rendered or written: an unreachable scheduler leaves the project as it was.
    source = ctx.get_parameter_source("scheduler")  # typer's own click: compared by name
    if workers and scheduler and source is not None and source.name == "COMMANDLINE":
        raise TribError("--scheduler and --workers exclude each other: connect to a cluster, or start one")
    with _executor(project, executor, None if workers else scheduler, workers, jobs) as runner:
        if runner is not None and runner.dashboard and not state.quiet:
            print(f"note: Dask dashboard: {runner.dashboard}", file=sys.stderr)
        plan, jobs_table = _run(state, project, chosen, jobs=jobs, force=force, backend=chosen_backend,
                                executor=runner, check=False if no_check else None, keep=preserve_buildenv,
                                extra_repos=extra_repos, mock_options=_mock_options(mock_config_opt or []))
    _report(ctx, state, project, plan, jobs_table, local_repo_with_publish)


def _run(state, project, chosen, *, jobs, force, backend, executor, check, keep, extra_repos, mock_options):
    """The build with its live table (on a terminal, not in CI, not with -q or -O json)."""
    from tributary.build.distro import build_distribution

    live_wanted = not (state.quiet or state.output != OutputFormat.table or os.environ.get("CI") == "true"
                       or not state.err_console.is_terminal)
    live = Live(console=state.err_console, transient=True, refresh_per_second=8) if live_wanted else None

    def show(table_of_jobs):
        if live is not None:
            live.update(_live_table(table_of_jobs))

    if live is not None:
        live.start()
    try:
        return build_distribution(project, chosen, jobs=jobs or os.cpu_count() or 1, force=force, backend=backend,
                                  on_change=show, executor=executor, check=check, keep=keep, extra_repos=extra_repos,
                                  mock_options=mock_options)
    finally:
        if live is not None:
            live.stop()


def _executor(project, kind: str, scheduler: str | None, workers: int, jobs: int | None):
    """The executor the options ask for, connected (or started); a null context for the local one."""
    import contextlib

    from tributary.build.executors import ExecutorKind

    try:
        chosen = ExecutorKind(kind)
    except ValueError:
        raise TribError(f"unknown executor {kind!r}; choose one of "
                        f"{', '.join(item.value for item in ExecutorKind)}") from None
    if chosen == ExecutorKind.LOCAL:
        if workers:
            raise TribError("--workers starts Dask workers: it needs --executor dask")
        return contextlib.nullcontext(None)
    from tributary.build.buildroot.choose import cache_root
    from tributary.build.executors.dask import DaskExecutor

    if workers:
        return DaskExecutor.start_local(workers, cache=cache_root(project), log_dir=project.log_dir, jobs=jobs or None)
    if not scheduler:
        raise TribError("--executor dask needs --scheduler ADDRESS (or TRIB_DASK_SCHEDULER), or --workers N")
    return DaskExecutor.connect(scheduler, jobs=jobs or None)


def _report(ctx: typer.Context, state, project, plan, jobs_table, local_repo_with_publish: Path | None) -> None:
    """The jobs as rows (with their SBOMs), the run's packages into ``local_repo_with_publish``, notes,
    errors, and the exit status."""
    rows = [job.to_json() for job in jobs_table.values()]
    sboms, sbom_failures = _write_sboms(ctx, project, jobs_table)
    for row, job in zip(rows, jobs_table.values(), strict=True):
        outputs = job.result if isinstance(job.result, list) else []
        row["outputs"] = [str(p) for p in outputs]
        row["sbom"] = sboms.get(job.name, [])
        row.update(azldev_result(project, job.name, outputs))
    if local_repo_with_publish is not None:
        published = [path for job in jobs_table.values() if isinstance(job.result, list) for path in job.result]
        publish_local(local_repo_with_publish, published)
        if not state.quiet:
            print(f"note: {len(published)} package(s) of this run in the repository {local_repo_with_publish}",
                  file=sys.stderr)
    columns = [Column("component", "Component"), Column("state", "State"), Column("seconds", "Seconds")]
    if any(job.worker for job in jobs_table.values()):
        columns.append(Column("worker", "Worker"))
    emit_rows(state, rows, [*columns, Column("blockedBy", "Skipped because")])
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
    out: dict[str, list[str]] = {}
    kept = unsigned = 0
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
        kept += written.provenance_kept
        unsigned += written.signed_by is None
    if not common.settings(ctx).quiet:
        if kept:
            print(f"note: the signed provenance of {kept} component(s) is kept: their packages are unchanged "
                  "and no signing key was given", file=sys.stderr)
        if unsigned:
            print(f"note: build provenance of {unsigned} component(s) is unsigned (set TRIB_GPG_KEY to sign it)",
                  file=sys.stderr)
    return out, failures


def _local_repos(directories: list[Path]):
    """``--local-repo`` directories as buildroot repositories (a directory without repodata is indexed)."""
    from tributary.build.buildroot.definition import Repo

    repos = []
    for index, directory in enumerate(directories, 1):
        if not directory.is_dir():
            raise ConfigError(f"--local-repo {directory}: no such directory")
        repos.append(Repo(f"local-{index}", directory.resolve().as_uri(), name=f"local repository {directory}",
                          priority=50))
    return tuple(repos)


def _mock_options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise ConfigError(f"--mock-config-opt {pair!r} is not KEY=VALUE")
        options[key.strip()] = value
    return options


def azldev_result(project, name: str, outputs: list[Path]) -> dict[str, object]:
    """azldev's keys of one build's result row: the SRPM and RPM paths with their publish channels."""
    from tributary.repo.channels import channel_of, srpm_channel_of
    from tributary.rpmfile import read_rpm

    srpms = [path for path in outputs if path.name.endswith(".src.rpm")]
    rpms = []
    for path in outputs:
        if path in srpms:
            continue
        package = read_rpm(path).name
        rpms.append({"path": str(path), "packageName": package,
                     "publishChannel": channel_of(project, name, package) or ""})
    return {
        "componentName": name,
        "srpmPaths": [str(path) for path in srpms],
        "srpmPublishChannel": srpm_channel_of(project, name) or "",
        "rpmPaths": [rpm["path"] for rpm in rpms],
        "rpmChannels": [rpm["publishChannel"] for rpm in rpms],
        "rpms": rpms,
    }


def publish_local(directory: Path, rpms: list[Path]) -> None:
    """Copy the binary packages of ``rpms`` into ``directory`` beside what it holds, and index it again; the
    directory is swapped in whole, so a build reading it never sees half of it."""
    import shutil

    from tributary.fsutil import staged_directory
    from tributary.tools.createrepo import index_directory

    with staged_directory(directory) as scratch:
        if directory.is_dir():
            for old in directory.rglob("*.rpm"):
                shutil.copy2(old, scratch / old.name)
        for rpm in rpms:
            if not rpm.name.endswith(".src.rpm"):
                shutil.copy2(rpm, scratch / rpm.name)
        index_directory(scratch)


def _live_table(jobs) -> Table:
    counts: dict[str, int] = {}
    for job in jobs.values():
        counts[job.state.value] = counts.get(job.state.value, 0) + 1
    title = "  ".join(f"{state}: {count}" for state, count in sorted(counts.items()))
    table = Table(title=title, header_style="bold")
    table.add_column("Component")
    table.add_column("State")
    remote = any(job.worker or job.state.value == "waiting" for job in jobs.values())
    if remote:
        table.add_column("Worker")
    for name, job in jobs.items():
        cells = [name, f"[{_STYLE[job.state.value]}]{job.state.value}[/]"]
        table.add_row(*cells, *([job.worker or ""] if remote else []))
    return table
