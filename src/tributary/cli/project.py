"""``trib project new|init``: a new project, laid out as azldev lays one out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tributary.cli import common
from tributary.errors import ConfigError

app = typer.Typer(help="Create a project.", no_args_is_help=True)

SCHEMA_URI = "https://raw.githubusercontent.com/microsoft/azure-linux-dev-tools/refs/heads/main/schemas/azldev.schema.json"
"""Where azldev's project files point ``$schema`` (tributary reads the same format)."""

GITIGNORE = "# Build logs and work directories\nbuild/\n\n# Build output\nout/\n"


def starter_config(name: str) -> dict[str, object]:
    """azldev's starting configuration: the directories, and a ``default`` group of every spec in the tree."""
    return {
        "$schema": SCHEMA_URI,
        "project": {"description": name, "log-dir": "build/logs", "work-dir": "build/work", "output-dir": "out"},
        "component-groups": {"default": {"specs": ["**/*.spec"], "excluded-paths": ["build/**", "out/**"]}},
    }


@app.command("new")
def new(ctx: typer.Context, path: Annotated[Path, typer.Argument(help="The directory to create.")]) -> None:
    """Create a project in a new directory: azldev.toml and a .gitignore for build/ and out/.

    Every spec below the directory (outside build/ and out/) is a component of the default group.

    Examples:

      trib project new my-distro

      trib -n project new my-distro     # show what it would write
    """
    if path.exists() or path.is_symlink():
        raise ConfigError(f"{path} already exists", hint="choose a new directory, or run 'trib project init' in it")
    _write(ctx, path, gitignore=True)


@app.command("init")
def init(ctx: typer.Context) -> None:
    """Make the current directory (or -C DIR) a project: write its azldev.toml.

    Examples:

      cd my-distro && trib project init
    """
    state = common.settings(ctx)
    directory = Path(state.project_dir) if state.project_dir else Path.cwd()
    if not directory.is_dir():
        raise ConfigError(f"{directory} is not a directory")
    _write(ctx, directory, gitignore=False)


def _write(ctx: typer.Context, directory: Path, *, gitignore: bool) -> None:
    from tributary.config.loader import ROOT_FILE
    from tributary.fsutil import atomic_write
    from tributary.tomlwrite import dumps

    config = directory / ROOT_FILE
    if config.exists():
        raise ConfigError(f"{config} already exists")
    files = {config: dumps(starter_config(directory.resolve().name))}
    if gitignore:
        files[directory / ".gitignore"] = GITIGNORE
    state = common.settings(ctx)
    if state.dry_run:
        for target, text in files.items():
            print(f"would write {target}:\n{text}")
        return
    directory.mkdir(parents=True, exist_ok=True)
    for target, text in files.items():
        atomic_write(target, text, mode=0o644)
    if not state.quiet:
        print(f"project in {directory}: {', '.join(p.name for p in files)}", file=sys.stderr)
