"""``trib config``: the merged configuration and the schema of the format."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tributary.cli import common
from tributary.config.schema import config_schema, overlay_file_schema

if TYPE_CHECKING:
    from tributary.config import Project

app = typer.Typer(help="Inspect the configuration and its schema.", no_args_is_help=True)


class DumpFormat(StrEnum):
    json = "json"
    toml = "toml"


@app.command("dump")
def dump(
    ctx: typer.Context,
    dump_format: Annotated[DumpFormat | None, typer.Option(
        "--format", "-f", help="json (camelCase keys, the default) or toml (the configuration's own kebab-case "
                               "keys, as azldev's default); -O json is -f json.")] = None,
) -> None:
    """Print the fully merged configuration: includes followed, inheritance applied, paths absolute.

    JSON keys are camelCase (.project.renderedSpecsDir, .project.workDir, .resources,
    .distros.<d>.versions.<v>.inputs), as azldev's; each component is its resolved configuration.

    Examples:

      trib -C examples/distro config dump | jq '.components | keys'

      trib config dump -q -f json | jq -r .project.renderedSpecsDir

      trib config dump -f toml > merged.toml
    """
    project = common.project(ctx)
    if dump_format == DumpFormat.toml:
        from tributary.tomlwrite import dumps

        print(dumps(toml_data(project)), end="")
    else:
        print(json.dumps(project.to_json(), indent=2))


def toml_data(project: Project) -> dict[str, Any]:
    """The merged configuration in the format's own shape (kebab-case keys), components resolved."""
    from tributary.config.project import DEFAULT_DIRS

    def plain(model: Any) -> Any:
        return model.model_dump(by_alias=True, exclude_none=True, mode="json") if model is not None else None

    def each(models: dict[str, Any]) -> dict[str, Any]:
        return {name: plain(model) for name, model in sorted(models.items())}

    return {
        "project": {**plain(project.settings), **{key: str(project.directory(key)) for key in DEFAULT_DIRS}},
        "distros": each(project.distros),
        "resources": plain(project.resources),
        "default-package-config": plain(project.default_package_config),
        "components": {name: plain(project.resolve(name).config) for name in project.component_names},
        "component-groups": each(project.groups),
        "images": each(project.images),
        "package-groups": each(project.package_groups),
        "test-suites": each(project.test_suites),
        "tools": plain(project.tools),
        "audit": plain(project.audit),
    }


@app.command("schema")
def schema(
    overlay_file: Annotated[
        bool, typer.Option("--overlay-file", help="Schema of a per-file overlay document instead.")
    ] = False,
) -> None:
    """Print the JSON Schema of the configuration format (every table rejects unknown keys).

    config generate-schema is this command.

    Examples:

      trib config schema > azldev.schema.json

      trib config generate-schema > schemas/azldev.schema.json

      trib config schema --overlay-file
    """
    print(json.dumps(overlay_file_schema() if overlay_file else config_schema(), indent=2))
