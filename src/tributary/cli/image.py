"""``trib image``: the images the project defines."""

from __future__ import annotations

from typing import Annotated

import typer

from tributary.cli import common
from tributary.cli.output import Column, emit_rows
from tributary.globbing import match

app = typer.Typer(help="Inspect and build images.", no_args_is_help=True)


@app.command("list")
def list_images(ctx: typer.Context, pattern: Annotated[str, typer.Argument(help="Glob over image names.")] = "*") -> None:
    """List images with their definition and capabilities.

    Examples:

      trib image list

      trib image list 'container-*' -O json
    """
    project = common.project(ctx)
    rows = []
    for name in sorted(project.images):
        if not match(pattern, name):
            continue
        image = project.images[name]
        definition = image.definition
        capabilities = image.capabilities.to_json() if image.capabilities else {}
        rows.append(
            {
                "name": name,
                "description": image.description or "",
                "definitionType": definition.type if definition else "",
                "definitionPath": definition.path if definition and definition.path else "",
                "profile": definition.profile if definition and definition.profile else "",
                "capabilities": sorted(k for k, v in capabilities.items() if v),
                "publishChannels": image.publish.channels if image.publish else [],
            }
        )
    columns = [
        Column("name", "Image"),
        Column("definitionType", "Type"),
        Column("profile", "Profile"),
        Column("capabilities", "Capabilities"),
        Column("description", "Description"),
    ]
    emit_rows(common.settings(ctx), rows, columns)
