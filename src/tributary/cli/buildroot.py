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

