"""``trib buildroot``: the repositories build roots are assembled from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tributary.cli import common
from tributary.cli.output import emit_object
from tributary.cli.progress import status_line
from tributary.errors import TribError

app = typer.Typer(help="Repositories build roots are assembled from.", no_args_is_help=True)


@app.command("stage0")
def stage0(
    ctx: typer.Context,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Directory holding stage-0 repositories (default: the build's cache).")] = None,
    sign_key: Annotated[str | None, typer.Option(
        "--sign-key", help="Key to sign with (fingerprint, id or email; default: a host-local throwaway key).")] = None,
    gnupghome: Annotated[Path | None, typer.Option(
        "--gnupghome", help="Key ring holding it (default: TRIB_GNUPGHOME, GNUPGHOME, ~/.gnupg).")] = None,
) -> None:
    """Make (or find current) the stage-0 repository: this build host's own toolchain as Fedora-named RPMs.

    bash, coreutils, gcc, gcc-c++, binutils, glibc and its headers, make, rpm-build, perl, python3,
    the tools of Fedora's @buildsys-build group and what they need at run time, repackaged from the
    host's installed packages under their Fedora names, signed, with a buildsys-build comps group. No
    network is needed. The repository is cached per host state: it is made again only when a host
    package it takes changes version (or the host map changes), in
    <work-dir>/cache/stage0/<key>/ of the project, $TRIB_CACHE_DIR/stage0/ when that is set, or
    $XDG_CACHE_HOME/tributary/stage0/ outside a project. Without --sign-key it is signed with a
    throwaway key kept in the cache's gnupg/ directory.

    Examples:

      trib buildroot stage0

      trib -C examples/distro buildroot stage0 -O json

      trib buildroot stage0 -o /srv/stage0 --sign-key builders@example.org --gnupghome build/gnupg

      url=$(trib -q -O json buildroot stage0 | jq -r .url)

      dnf --installroot=/tmp/root --releasever=1 --repofrompath=stage0,$url --nogpgcheck install @buildsys-build
    """
    from tributary.build.stage0 import default_cache_dir, ensure_stage0

    settings = common.settings(ctx)
    key = common.signing_key(sign_key, gnupghome)
    cache_dir = output if output is not None else default_cache_dir(_work_dir(ctx))
    with status_line(settings, "stage-0 repository") as step:

        def report(name: str, done: int, total: int) -> None:
            step(f"{name} ({done}/{total})" if total > 1 else name)

        repo = ensure_stage0(cache_dir, signing=key, progress=report)
    emit_object(settings, repo.to_json())


def _work_dir(ctx: typer.Context) -> Path | None:
    """The project's work directory, or None when the command runs outside any project."""
    if common.settings(ctx).project_dir is None:
        from tributary.config.loader import find_project_root

        try:
            find_project_root(Path.cwd())
        except TribError:
            return None
    return common.project(ctx).work_dir



@app.command("show")
def show(ctx: typer.Context) -> None:
    """The buildroot definition the project builds in, as tributary reads it, and what it does not apply.

    Read from the target distro version's mock config (mock-config-<arch>), tributary's TOML form,
    or the default buildroot when none is named. Templates are rendered; naming tributary_stage0
    makes this host's stage-0 repository. Options of the definition that are not applied are listed
    with the file and line that set them.

    Examples:

      trib -C examples/distro buildroot show

      trib -C examples/distro --config-file examples/distro/stage1.toml -O json buildroot show
    """
    from tributary.build.buildroot.choose import project_buildroot
    from tributary.build.distro import Stage0Url

    project = common.project(ctx)
    definition = project_buildroot(project, stage0_url=Stage0Url(project))
    emit_object(common.settings(ctx), definition.to_json())


@app.command("clean")
def clean(
    ctx: typer.Context,
    keep: Annotated[int, typer.Option("--keep", min=0, help="Roots to keep, the most recently used first.")] = 0,
) -> None:
    """Remove cached roots (all, or all but the --keep most recently used); the stage-0 repository stays.

    Roots are made again when a build needs them. A root another build is making is waited for.

    Examples:

      trib buildroot clean

      trib buildroot clean --keep 10
    """
    from tributary.build.buildroot.choose import cache_root
    from tributary.build.buildroot.roots import RootCache

    removed = RootCache(cache_root(common.project(ctx)) / "roots").prune(keep)
    emit_object(common.settings(ctx), {"removed": removed, "kept": keep})
