"""``trib comp``: list and inspect components."""

from __future__ import annotations

from typing import Annotated

import typer

from tributary.cli import common
from tributary.cli.output import Column, emit_object, emit_rows
from tributary.errors import ConfigError

app = typer.Typer(help="Work with components: list, query, render, diff.", no_args_is_help=True)

NamesArg = Annotated[list[str] | None, typer.Argument(help="Component names or shell-style patterns (e.g. 'lib*').")]
AllOpt = Annotated[bool, typer.Option("--all-components", "-a", help="Select every component.")]
GroupOpt = Annotated[str | None, typer.Option("--component-group", "-g", help="Select the members of a component group.")]


def selected(ctx: typer.Context, names: list[str] | None, all_components: bool, group: str | None) -> list[str]:
    """Resolve the selection flags shared by component commands; an empty selection is an error."""
    if not names and not all_components and group is None:
        raise ConfigError("no components selected", hint="name components, or use -a for all or -g GROUP")
    return common.project(ctx).select(names or [], all_components=all_components, group=group)


@app.command("list")
def list_components(ctx: typer.Context, names: NamesArg = None, all_components: AllOpt = False, group: GroupOpt = None) -> None:
    """List components with their resolved spec source, groups and overlay count.

    Examples:

      trib comp list -a

      trib comp list 'lib*' -O json

      trib comp list -g check-skip
    """
    project = common.project(ctx)
    rows = []
    for name in selected(ctx, names, all_components, group):
        component = project.resolve(name)
        upstream = component.upstream
        rows.append(
            {
                "name": name,
                "specType": component.spec_type or "-",
                "upstream": f"{upstream.distro} {upstream.version}" if upstream else "",
                "pinnedCommit": (component.config.spec.upstream_commit if component.config.spec else None) or "",
                "groups": list(component.groups),
                "overlays": len(component.config.overlays),
                "releaseCalculation": component.release_calculation,
                "renderedSpecDir": str(component.rendered_dir),
            }
        )
    columns = [
        Column("name", "Component"),
        Column("specType", "Spec"),
        Column("upstream", "Upstream"),
        Column("pinnedCommit", "Pin"),
        Column("groups", "Groups"),
        Column("overlays", "Overlays"),
        Column("releaseCalculation", "Release"),
    ]
    emit_rows(common.settings(ctx), rows, columns)


@app.command("query")
def query(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The component.")],
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show where each value came from (file:line).")] = False,
) -> None:
    """Show a component's resolved configuration after inheritance.

    Examples:

      trib comp query curl

      trib comp query curl -v        # which file:line set each value

      trib comp query curl -O json
    """
    project = common.project(ctx)
    component = project.resolve(name)
    data = component.to_json()
    if verbose or common.settings(ctx).verbose:
        data["origins"] = project.trace(name)
    emit_object(common.settings(ctx), data)
