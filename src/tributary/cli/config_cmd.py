"""``trib config``: the merged configuration and the schema of the format."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tributary.cli import common
from tributary.config.schema import config_schema, overlay_file_schema

app = typer.Typer(help="Inspect the configuration and its schema.", no_args_is_help=True)


@app.command("dump")
def dump(ctx: typer.Context) -> None:
    """Print the fully merged configuration as JSON: includes followed, inheritance applied, paths absolute.

    Example:

      trib -C examples/distro config dump | jq '.components | keys'
    """
    print(json.dumps(common.project(ctx).to_json(), indent=2))


@app.command("schema")
def schema(
    overlay_file: Annotated[
        bool, typer.Option("--overlay-file", help="Schema of a per-file overlay document instead.")
    ] = False,
) -> None:
    """Print the JSON Schema of the configuration format (every table rejects unknown keys).

    Examples:

      trib config schema > azldev.schema.json

      trib config schema --overlay-file
    """
    print(json.dumps(overlay_file_schema() if overlay_file else config_schema(), indent=2))
