"""``trib distro``: the distributions and versions the project knows."""

from __future__ import annotations

import typer

from tributary.cli import common
from tributary.cli.output import Column, emit_rows

app = typer.Typer(help="Inspect configured distributions.", no_args_is_help=True)


@app.command("list")
def list_distros(ctx: typer.Context) -> None:
    """List every distro version, marking the project's default.

    Example:

      trib distro list -O json
    """
    project = common.project(ctx)
    default = project.default_distro
    rows = []
    for name in sorted(project.distros):
        distro = project.distros[name]
        for version in sorted(distro.versions):
            settings = distro.versions[version]
            rows.append(
                {
                    "distro": name,
                    "version": version,
                    "releaseVer": settings.release_ver,
                    "distGitBranch": settings.dist_git_branch or "",
                    "isDefaultVersion": version == distro.default_version,
                    "isProjectDefault": bool(default and default[0] == name and default[1] == version),
                    "distGitBaseUri": distro.dist_git_base_uri or "",
                    "lookasideBaseUri": distro.lookaside_base_uri or "",
                }
            )
    columns = [
        Column("distro", "Distro"),
        Column("version", "Version"),
        Column("releaseVer", "Release ver"),
        Column("distGitBranch", "Branch"),
        Column("isDefaultVersion", "Default"),
        Column("isProjectDefault", "Project target"),
    ]
    emit_rows(common.settings(ctx), rows, columns)
