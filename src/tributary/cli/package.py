"""``trib package list``: where each binary package is published, and why (azldev's ``package list``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tributary.cli import common
from tributary.cli.output import Column, emit_rows
from tributary.errors import ConfigError, Location

if TYPE_CHECKING:
    from tributary.config import Project

app = typer.Typer(help="Inspect the distribution's binary packages.", no_args_is_help=True)

RPM = "rpm"
SRPM = "srpm"


@app.command("list")
def list_packages(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(metavar="PACKAGE...", help="Packages to look up.")] = None,
    package: Annotated[list[str] | None, typer.Option(
        "--package", "-p", help="A package to look up (repeatable), configured or not.")] = None,
    all_packages: Annotated[bool, typer.Option(
        "--all-packages", "-a", help="Every package the configuration names (package groups, components' "
                                     "packages tables).")] = False,
    rpm_file: Annotated[Path | None, typer.Option(
        "--rpm-file", help='A JSON list of {"packageName", "sourcePackageName"}: every SRPM and RPM in it.')] = None,
    synthesize_debug_packages: Annotated[bool, typer.Option(
        "--synthesize-debug-packages", help="Add NAME-debuginfo for each package and COMPONENT-debugsource for "
                                            "each component.")] = False,
) -> None:
    """List binary packages with their component, groups and publish channel.

    The channel follows the publish settings of the project default, the component (after its
    inheritance), the package group that lists the package, and the component's packages.<name>;
    later wins. A package no component claims in its packages table belongs to the component of the
    same name, if there is one. Rows as azldev's: packageName, type (rpm or srpm), packageGroups,
    componentGroups (arrays, never null), component, publishChannel ("" when not published).

    Examples:

      trib package list -a

      trib package list -p libgreet -p greet -O json

      trib package list --rpm-file rpm_source_map.json -q -O json
    """
    wanted = [*(names or []), *(package or [])]
    if rpm_file is not None and (wanted or all_packages or synthesize_debug_packages):
        raise ConfigError("--rpm-file lists its own packages: it takes no names, -a or --synthesize-debug-packages")
    if rpm_file is None and not wanted and not all_packages:
        raise ConfigError("no packages selected", hint="name packages, or use -a for all configured ones, "
                                                       "or --rpm-file MAP")
    project = common.project(ctx)
    owners = package_owners(project)
    if rpm_file is not None:
        entries = _source_map(rpm_file)
        sources = sorted({entry["sourcePackageName"] for entry in entries})
        rows = [package_row(project, source, _same_named(project, source), kind=SRPM) for source in sources]
        rows += [package_row(project, entry["packageName"], _same_named(project, entry["sourcePackageName"]))
                 for entry in entries]
    else:
        chosen = set(wanted)
        if all_packages:
            chosen |= set(owners) | {name for group in project.package_groups.values() for name in group.packages}
        rows = [package_row(project, name, owners.get(name) or _same_named(project, name)) for name in chosen]
        if synthesize_debug_packages:
            rows += _debug_rows(project, rows)
    rows.sort(key=lambda row: (row["packageName"], row["type"], row["component"]))
    emit_rows(common.settings(ctx), rows, [
        Column("packageName", "Package"), Column("type", "Type"), Column("packageGroups", "Package groups"),
        Column("componentGroups", "Component groups"), Column("component", "Component"),
        Column("publishChannel", "Publish channel"),
    ], empty="no packages")


def package_owners(project: Project) -> dict[str, str]:
    """Binary package -> the component whose own ``packages`` table names it (one at most)."""
    owners: dict[str, str] = {}
    for component in project.component_names:
        for name in project.component_tables[component].get("packages", {}):
            if owners.get(name, component) != component:
                raise ConfigError(f"package {name!r} has settings in two components: {owners[name]!r} and "
                                  f"{component!r}")
            owners[name] = component
    return owners


def _same_named(project: Project, name: str) -> str:
    return name if name in project.component_tables else ""


def package_row(project: Project, name: str, component: str, *, kind: str = RPM) -> dict[str, Any]:
    """One row: the package, its groups, its component's groups and its publish channel."""
    from tributary.repo.channels import channel_of, srpm_channel_of

    if kind == SRPM:
        channel = srpm_channel_of(project, component) if component else None
    else:
        channel = channel_of(project, component or None, name)
    return {
        "packageName": name,
        "type": kind,
        "packageGroups": [] if kind == SRPM else sorted(group for group, members in project.package_groups.items()
                                                        if name in members.packages),
        "componentGroups": sorted(project.groups_of(component)) if component else [],
        "component": component,
        "publishChannel": channel or "",
    }


def _debug_rows(project: Project, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """azldev's synthesized debug packages: NAME-debuginfo per package, COMPONENT-debugsource per component."""
    extra = {(f"{row['packageName']}-debuginfo", row["component"]) for row in rows}
    extra |= {(f"{row['component']}-debugsource", row["component"]) for row in rows if row["component"]}
    return [package_row(project, name, component) for name, component in sorted(extra)]


def _source_map(path: Path) -> list[dict[str, str]]:
    """The entries of an RPM source map, each checked; a bad file is an error naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror}", where=Location(path)) from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        line = getattr(error, "lineno", None)
        raise ConfigError(f"not a JSON RPM source map: {error}", where=Location(path, line)) from error
    if not isinstance(data, list):
        raise ConfigError('expected a JSON list of {"packageName", "sourcePackageName"}', where=Location(path))
    for index, entry in enumerate(data):
        if not (isinstance(entry, dict) and isinstance(entry.get("packageName"), str) and entry["packageName"]
                and isinstance(entry.get("sourcePackageName"), str) and entry["sourcePackageName"]):
            raise ConfigError(f'entry {index} is not {{"packageName": ..., "sourcePackageName": ...}}: {entry!r}',
                              where=Location(path))
    return data
