"""``trib comp``: list and inspect components."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from tributary.cli import common
from tributary.cli.output import Column, emit_object, emit_rows
from tributary.cli.why import why
from tributary.errors import ConfigError

app = typer.Typer(help="Work with components: list, query, update, render, diff, prep-sources.", no_args_is_help=True)

# The metavars mark component arguments for cli.conventions, which adds azldev's -p/-s/-g flags to them.
NamesArg = Annotated[list[str] | None, typer.Argument(
    metavar="COMPONENT...", help="Component names or shell-style patterns (e.g. 'lib*'); -p PATTERN is the same.")]
ComponentArg = Annotated[str, typer.Argument(metavar="COMPONENT", help="The component (or -p NAME).")]
AllOpt = Annotated[bool, typer.Option("--all-components", "-a", help="Select every component.")]
GroupOpt = Annotated[
    str | None, typer.Option("--component-group", "-g", help="Select the members of a component group.")
]


def selected(ctx: typer.Context, names: list[str] | None, all_components: bool, group: str | None,
             *, required: bool = False) -> list[str]:
    """Resolve the selection flags shared by component commands.

    No selection at all selects nothing, with a warning, as in azldev: the command then does nothing
    and succeeds (its scripts rely on that exit status). A command azldev does not have and that must
    not pass on nothing (a release audit) passes ``required``: no selection is then an error.
    """
    if not names and not all_components and group is None:
        if required:
            raise ConfigError("no components selected", hint="name components, or use -a for all or -g GROUP")
        print("warning: no components selected, so there is nothing to do (name components or patterns, or use "
              "-p PATTERN, -a for all, -g GROUP)", file=sys.stderr)
        return []
    return common.project(ctx).select(names or [], all_components=all_components, group=group)


@app.command("list")
def list_components(
    ctx: typer.Context, names: NamesArg = None, all_components: AllOpt = False, group: GroupOpt = None
) -> None:
    """List components with their resolved spec source, groups and overlay count.

    With -O json, each row is the component's resolved configuration as azldev prints it (name,
    spec, overlays, build..., renderedSpecDir, locked) plus tributary's summary columns.

    Examples:

      trib comp list -a

      trib comp list 'lib*' -O json

      trib comp list -p 'lib*' -q -O json | jq -r '.[].renderedSpecDir'

      trib comp list -g check-skip
    """
    from tributary.upstream.lock import lock_file_name

    project = common.project(ctx)
    state = common.settings(ctx)
    # Only JSON shows locks; the lock directory is listed once rather than asked once per component.
    locked = _lock_files(project) if state.output.value not in ("table", "csv", "markdown", "html") else None
    rows = []
    # Thousands of bare components share one resolved configuration: describe each configuration once.
    described: dict[int, tuple[dict[str, object], dict[str, object]]] = {}
    for name in selected(ctx, names, all_components, group):
        component = project.resolve(name)
        shared = described.get(id(component.config))
        if shared is None:
            upstream = component.upstream
            shared = described[id(component.config)] = (component.config.to_json(), {
                "upstream": f"{upstream.distro} {upstream.version}" if upstream else "",
                "pinnedCommit": (component.config.spec.upstream_commit if component.config.spec else None) or "",
                "overlayCount": len(component.config.overlays),
            })
        row = {**component.to_json(shared[0]), **shared[1]}
        if locked is not None:
            row["locked"] = _locked(project, name) if lock_file_name(name) in locked else None
        rows.append(row)
    columns = [
        Column("name", "Component"),
        Column("specType", "Spec"),
        Column("upstream", "Upstream"),
        Column("pinnedCommit", "Pin"),
        Column("groups", "Groups"),
        Column("overlayCount", "Overlays"),
        Column("releaseCalculation", "Release"),
    ]
    emit_rows(state, rows, columns)


def _lock_files(project) -> frozenset[str]:
    """The names in the project's lock directory (none when it does not exist yet)."""
    try:
        return frozenset(os.listdir(project.lock_dir))
    except FileNotFoundError:
        return frozenset()


def _locked(project, name: str) -> dict[str, object] | None:
    """The component's lock as azldev's ``comp list`` shows it (``locked``), None when it has none."""
    from tributary.upstream.lock import LockFileError, lock_path, read_lock

    try:
        lock = read_lock(lock_path(project.lock_dir, name))
    except LockFileError as error:
        print(f"warning: {error}", file=sys.stderr)
        return None
    if lock is None:
        return None
    fields = {"upstreamCommit": lock.upstream_commit, "importCommit": lock.import_commit,
              "manualBump": lock.manual_bump, "inputFingerprint": lock.input_fingerprint,
              "resolutionInputHash": lock.resolution_input_hash}
    return {key: value for key, value in fields.items() if value}


@app.command("query")
def query(ctx: typer.Context, name: ComponentArg) -> None:
    """Show a component's resolved configuration after inheritance; with -v, where each value came from.

    Examples:

      trib comp query curl

      trib comp query curl -v        # which file:line set each value

      trib comp query -p curl -q -O json
    """
    project = common.project(ctx)
    component = project.resolve(name)
    data = component.to_json()
    if common.settings(ctx).verbose:
        data["origins"] = project.trace(name)
    emit_object(common.settings(ctx), data)


@app.command("render")
def render(
    ctx: typer.Context,
    names: NamesArg = None,
    all_components: AllOpt = False,
    group: GroupOpt = None,
    check: Annotated[bool, typer.Option(
        "--check", "--check-only",
        help="Write nothing; list drifted components and exit 1 on drift (a failed component whose output is "
             "already the RENDER_FAILED marker is not drift).")] = False,
    clean_stale: Annotated[
        bool,
        typer.Option("--clean-stale", help="With -a: remove rendered directories of components that no longer exist."),
    ] = False,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", min=1, help="Parallel render processes (default: CPU count).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", "-f", help="Render even components whose inputs and output are unchanged; with -o, replace "
                              "component directories already there.")] = False,
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", "-o", help="Render into this directory instead of the configured rendered-specs-dir "
                                   "(in this process, one component at a time).")] = None,
    fail_on_error: Annotated[bool, typer.Option(
        "--fail-on-error", help="azldev's flag: a failed component is always exit status 1 here.")] = False,
) -> None:
    """Render components into <rendered-specs-dir>/<letter>/<name>/: spec + sidecar files, overlays applied.

    Each component is written atomically; a failed one gets a RENDER_FAILED marker and the others still
    render (exit status 1), except when the failure may pass by itself (the network, a time-out): then
    the component keeps what it had and the next run tries again. Components whose inputs and output
    are unchanged since their last render are skipped (the stamps live in <work-dir>/render-cache);
    so are components whose last render failed for a lasting reason, reported again; --force renders
    them anyway. Parallel workers (-j) are separate processes that die with this command; a render
    stopped by SIGINT or SIGTERM keeps every component it finished and exits 130 or 143. The table
    lists changed and failed components (-v: all; -O json: all). With -n (dry run), as --check but the
    exit status says nothing about drift.

    Examples:

      trib comp render -a

      trib comp render curl bash -j 2

      trib comp render -a --check        # CI gate: exit 1 when the rendered tree is stale

      trib comp render -p curl -O json -o build/work/scratch/rendered-specs --force
    """
    from tributary.cli.progress import progress_bar
    from tributary.render.render import RenderStatus, render_many, stale_directories

    del fail_on_error  # what tributary always does
    project = common.project(ctx)
    state = common.settings(ctx)
    chosen = selected(ctx, names, all_components, group)
    if clean_stale and not all_components:
        raise ConfigError("--clean-stale needs -a: only a full render knows which directories are orphans")
    dry_run, check = state.dry_run, check or state.dry_run
    if output_dir is not None:
        project = _rendering_into(project, output_dir, chosen, replace=force, clean_stale=clean_stale)
        jobs = 1  # render workers load the project from its files, which name the configured directory
    with progress_bar(state, "render", len(chosen)) as advance:
        outcomes = render_many(
            project, chosen, check=check, jobs=jobs, force=force, progress=lambda o: advance(o.component),
            on_wait=lambda path: print(f"another render of this project is running; waiting for it ({path})",
                                       file=sys.stderr, flush=True),
        )
    stale = stale_directories(project) if all_components else []
    rows = [o.to_json() for o in outcomes]
    for path in stale:
        rows.append({"component": path.name, "outputDir": str(path), "status": RenderStatus.STALE, "changed": True,
                     "error": None})
        if clean_stale and not check:
            import shutil

            shutil.rmtree(path)
    # A table lists what changed or failed (every row with -v): thousands of unchanged rows hide them.
    every = state.output.value != "table" or state.verbose
    shown = rows if every else [r for r in rows if r["changed"] or r["error"]]
    emit_rows(state, shown, [Column("component", "Component"), Column("status", "Status"), Column("changed", "Changed"),
                             Column("error", "Error")], empty=f"all {len(rows)} component(s) are up to date")
    for warning in (w for o in outcomes for w in o.warnings) if not state.quiet else ():
        print(f"warning: {warning}", file=sys.stderr)
    failed = [o for o in outcomes if o.status == RenderStatus.ERROR]
    for outcome in failed:
        note = (" (remembered from the last run; --force tries again)" if outcome.remembered
                else " (a temporary failure: the previous output is kept)" if outcome.temporary else "")
        print(f"error: {outcome.error}{note}", file=sys.stderr)
    drift = [r for r in rows if r["changed"]] if check else []
    if check and drift:
        drifted = ", ".join(str(r["component"]) for r in drift)
        print(f"{len(drift)} component(s) differ from the rendered tree: {drifted}", file=sys.stderr)
    if check:  # azldev's contract: a failure the tree already records (its marker) is not drift
        failed = [o for o in failed if o.changed or o.temporary]
    if failed or (drift and not dry_run):
        raise typer.Exit(1)


def _rendering_into(project, output_dir: Path, chosen: list[str], *, replace: bool, clean_stale: bool):
    """The project with ``output_dir`` as its rendered-specs-dir (``render -o``), as azldev checks it:
    never the project itself, ``/`` or above the working directory; component directories already there
    (and --clean-stale) only with --force."""
    import dataclasses
    import os

    target = Path(os.path.abspath(output_dir))
    if output_dir.as_posix() in (".", "..") or output_dir.as_posix().startswith("../") or target == Path("/") \
            or target == project.root:
        raise ConfigError(f"--output-dir {output_dir}: choose a directory of its own for the rendered specs")
    if clean_stale and not replace:
        raise ConfigError("--clean-stale with --output-dir needs --force")
    settings = project.settings.model_copy(update={"rendered_specs_dir": str(target)})
    moved = dataclasses.replace(project, settings=settings)
    present = [name for name in chosen if moved.resolve(name).rendered_dir.exists()]
    if present and not replace:
        raise ConfigError(f"--output-dir {output_dir} already holds {', '.join(present[:5])}"
                          + (", ..." if len(present) > 5 else ""), hint="add --force to replace them")
    return moved


@app.command("diff")
def diff(
    ctx: typer.Context,
    name: ComponentArg,
    output_file: Annotated[Path | None, typer.Option(
        "--output-file", help="Write the diff (or its JSON) to this file instead of the terminal.")] = None,
) -> None:
    """Show the unified diff from the upstream sources to the rendered output (spec and sidecar files).

    With -O json: {component, diff, files}, where files lists each changed file as azldev's
    diff-sources does ({path, status: added|removed|modified, changes: [{line, type: add|remove,
    content}]}). comp diff-sources is this command.

    Examples:

      trib comp diff curl

      trib comp diff curl | less -R

      trib comp diff-sources -p curl -O json | jq '.files[].path'
    """
    import json
    import tempfile

    from tributary.fsutil import atomic_write
    from tributary.render.diff import file_diffs, tree_diff
    from tributary.render.render import render_tree, snapshot
    from tributary.upstream.sources import fetch_sources

    project = common.project(ctx)
    component = project.resolve(name)
    with tempfile.TemporaryDirectory(prefix="trib-diff-") as scratch:
        before, after = Path(scratch, "upstream"), Path(scratch, "rendered")
        before.mkdir()
        after.mkdir()
        fetch_sources(project, component, before)
        render_tree(project, component, after)
        trees = snapshot(before), snapshot(after)
    text = tree_diff(*trees)
    state = common.settings(ctx)
    if state.output.value == "json":
        text = json.dumps({"component": name, "diff": text, "files": [f.to_json() for f in file_diffs(*trees)]},
                          indent=2) + "\n"
    if output_file is not None:
        atomic_write(output_file, text)
        if not state.quiet:
            print(f"{name}: diff written to {output_file}", file=sys.stderr)
    elif state.output.value != "json" and state.console.is_terminal and state.color != "never":
        from rich.syntax import Syntax

        state.console.print(Syntax(text, "diff", theme="ansi_dark", background_color="default"))
    else:
        print(text, end="")


@app.command("update")
def update(
    ctx: typer.Context,
    names: NamesArg = None,
    all_components: AllOpt = False,
    group: GroupOpt = None,
    check_only: Annotated[bool, typer.Option(
        "--check-only", help="Write nothing; ask upstream whether each locked commit is still on its branch; "
                             "exit 1 if any lock would change.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", "--force-recalculate", help="Ask upstream again even for current locks (and retry remembered "
                                               "failures); replaces a damaged lock file.")] = False,
    bump: Annotated[
        bool, typer.Option("--bump", help="Increase manual-bump: a rebuild with unchanged inputs.")
    ] = False,
    accept_rewritten_history: Annotated[bool, typer.Option(
        "--accept-rewritten-history", help="Lock components whose locked commit upstream removed from the branch "
                                           "(a force-push) to the branch as it is now.")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Upstream lookups at once.")] = 8,
) -> None:
    """Resolve components' upstream commits and write their lock files (<lock-dir>/<name>.lock).

    Upstream is asked only when a component has no lock, its snapshot, pin, branch or dist-git URL
    changed, or it follows its branch head; otherwise the locked commit is kept and only the
    fingerprint is refreshed. With -a, locks of removed components are deleted.

    One failure never stops the others: every component that can be resolved is locked (each lock
    written as it completes), and the failures are listed at the end; the exit status is then 2 (1
    when the only failures are rewritten upstream histories). A failure that will not pass by itself
    (no such repository, branch or commit) is remembered and reported again without asking upstream
    until the component's settings or lock change, or --force. A locked commit that upstream removed
    from its branch (a force-push) is an error until --accept-rewritten-history.

    Examples:

      trib comp update -a

      trib comp update greet          # after editing greet.comp.toml

      trib comp update -a --check-only   # CI: exit 1 when a lock is stale or upstream rewrote history

      trib comp update greet --accept-rewritten-history   # after reviewing upstream's force-push

    With -n (dry run), as --check-only but the exit status says nothing about stale locks.
    """
    from tributary.cli.progress import progress_bar
    from tributary.upstream.update import FAILED
    from tributary.upstream.update import update as run_update

    project = common.project(ctx)
    chosen = selected(ctx, names, all_components, group)
    state = common.settings(ctx)
    if bump and (check_only or state.dry_run):
        raise ConfigError("--bump changes locks: it cannot be combined with --check-only or -n")
    dry_run, check_only = state.dry_run, check_only or state.dry_run
    with progress_bar(state, "update", len(chosen)) as advance:
        rows = run_update(project, chosen, check_only=check_only, prune=all_components and not bump, force=force,
                          bump=bump, accept_rewritten=accept_rewritten_history, jobs=jobs,
                          progress=lambda row: advance(row.component))
    failed = [r for r in rows if r.status == FAILED]
    shown = [r.to_json() for r in rows if r.changed or r.status == FAILED or state.output.value == "json"]
    emit_rows(state, shown, [Column("component", "Component"), Column("status", "Status"),
                             Column("upstreamCommit", "Commit"), Column("previousCommit", "Was")],
              empty=f"all {len(rows)} lock(s) are current")
    for row in rows:
        if row.note:
            print(f"warning: component {row.component!r}: {row.note}", file=sys.stderr)
    for row in failed:
        note = " (remembered from the last run; --force tries again)" if row.remembered else ""
        print(f"error: {row.error}{note}", file=sys.stderr)
    if failed:
        done = "checked" if check_only else "locked"
        print(f"error: {len(failed)} of {len(rows)} component(s) failed; every other one was {done}: "
              + ", ".join(r.component for r in failed), file=sys.stderr)
    stale = check_only and not dry_run and any(r.status != FAILED and (r.changed or r.lock is not None) for r in rows)
    code = max([r.exit_code for r in failed] + [1 if stale else 0])
    if code:
        raise typer.Exit(code)


@app.command("changed")
def changed(
    ctx: typer.Context,
    names: NamesArg = None,
    all_components: AllOpt = False,
    group: GroupOpt = None,
    from_ref: Annotated[
        str, typer.Option("--from", help="The older commit of the project (any git revision).")
    ] = "HEAD~1",
    to_ref: Annotated[str, typer.Option("--to", help="The newer commit.")] = "HEAD",
    include_unchanged: Annotated[
        bool, typer.Option("--include-unchanged", help="List unchanged components too.")
    ] = False,
) -> None:
    """Which components' inputs changed between two commits of the project (from their lock files).

    Without names (or with -a), every component is compared and deleted ones are listed too. Exit 1
    when a component's rendered sources file changed while its fingerprint did not.

    Examples:

      trib comp changed --from origin/main -O json

      trib comp changed greet --from v1.0 --to HEAD

      trib comp changed --from main -a -q -O json
    """
    from tributary.upstream.changed import components_changed

    project = common.project(ctx)
    broad = all_components or (not names and group is None)
    chosen = project.select(names or [], all_components=broad, group=group)
    rows = components_changed(
        project,
        chosen,
        from_ref=from_ref,
        to_ref=to_ref,
        include_unchanged=include_unchanged or not broad,
        include_deleted=broad,
    )
    emit_rows(
        common.settings(ctx),
        [r.to_json() for r in rows],
        [Column("component", "Component"), Column("changeType", "Change"), Column("sourcesChange", "Sources changed")],
        empty="no component changed",
    )


@app.command("prep-sources")
def prep_sources(
    ctx: typer.Context,
    name: ComponentArg,
    output: Annotated[Path, typer.Option("--output-dir", "-o", help="Directory to create (absent or empty).")],
    skip_overlays: Annotated[bool, typer.Option("--skip-overlays", help="Upstream's files as they are.")] = False,
    skip_sources: Annotated[bool, typer.Option(
        "--skip-sources", help="Download nothing: the spec and its files only (archive overlays left out).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty output directory.")] = False,
    without_git: Annotated[bool, typer.Option(
        "--without-git", help="azldev's flag: tributary's output never holds a .git (the release is already "
                              "worked out in the rendered spec).")] = False,
    allow_no_hashes: Annotated[bool, typer.Option(
        "--allow-no-hashes", help="Refused: every source file needs its hash in the configuration.")] = False,
) -> None:
    """Write a component's buildable sources into a directory, tarballs included.

    The rendered spec and files, plus every lookaside tarball and downloaded source file, each
    verified by its hash before use. Downloads run in parallel (progress bars on a terminal) into a
    content-addressed cache under the work directory, so a second run downloads nothing. Nothing is
    left behind if one fails. comp prepare-sources is this command.

    Examples:

      trib comp prep-sources greet -o /tmp/greet

      trib comp prep-sources greet -o /tmp/greet-upstream --skip-overlays

      trib comp prep-sources -p greet --skip-overlays --force -o build/work/scratch/greet -q
    """
    import shutil

    from tributary.cli.progress import download_bars
    from tributary.render.prepare import prepare_sources

    del without_git  # what tributary always does
    if allow_no_hashes:
        raise ConfigError("--allow-no-hashes: tributary uses no source file it cannot verify",
                          hint="add the file's hash to the component's source-files (a missing one is an error "
                               "that names the hash to record)")
    project = common.project(ctx)
    component = project.resolve(name)
    state = common.settings(ctx)
    if force and output.exists():
        shutil.rmtree(output)
    with download_bars(state) as progress:
        files = prepare_sources(project, component, output, overlays=not skip_overlays, sources=not skip_sources,
                                progress=progress)
    rows = [{"file": o.filename, "hashType": o.hash_type, "hash": o.digest, "url": o.url, "fromCache": o.url is None}
            for o in files.obtained]
    emit_rows(state, rows, [Column("file", "File"), Column("hashType", "Hash"), Column("fromCache", "From cache")],
              empty=f"{name}: no lookaside files")
    if not state.quiet:
        print(f"{name}: sources in {output}", file=sys.stderr)


app.command("why")(why)  # its own module: cli/why.py
