"""``trib comp add``: new components, each a bare ``[components.NAME]`` table in the root azldev.toml."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tributary.cli import common
from tributary.errors import ConfigError


def add(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(metavar="NAME...", help="The components to add.")],
) -> None:
    """Add components to the project: a bare [components.NAME] table each, appended to the root azldev.toml.

    A bare component takes everything from its defaults: its spec from the default distro's
    upstream under the same name. A name the project already has is an error, and nothing is
    written. With -n, prints what it would append.

    Examples:

      trib comp add curl

      trib comp add curl wget bash

      trib -n comp add curl        # show the lines, write nothing
    """
    from pydantic import ValidationError

    from tributary.config.loader import ROOT_FILE
    from tributary.config.model import ConfigFile
    from tributary.fsutil import atomic_write
    from tributary.tomlwrite import key

    project = common.project(ctx)
    state = common.settings(ctx)
    wanted = list(dict.fromkeys(names))
    present = [name for name in wanted if name in project.component_tables]
    if present:
        raise ConfigError(f"the project already has component(s) {', '.join(present)}",
                          hint="trib comp query NAME shows where each is defined")
    root_file = project.root / ROOT_FILE
    try:
        ConfigFile.model_validate({"components": {name: {} for name in wanted}})
    except ValidationError as error:  # the name rule every configuration file follows
        raise ConfigError(error.errors()[0]["msg"].removeprefix("Value error, ")) from error
    added = "".join(f"\n[components.{key(name)}]\n" for name in wanted)
    if state.dry_run:
        print(f"would append to {root_file}:{added}", end="")
        return
    text = root_file.read_text(encoding="utf-8")
    atomic_write(root_file, text + ("" if text.endswith("\n") or not text else "\n") + added,
                 mode=root_file.stat().st_mode & 0o777)
    if not state.quiet:
        print(f"added {len(wanted)} component(s) to {root_file}: {', '.join(wanted)}", file=sys.stderr)
