"""Command groups imported only when they run.

``trib --version`` and ``trib comp list`` should not pay for importing the image, audit or SBOM
commands (and through them pydantic models, rich and the rest): the top-level group knows each command
by name and the module that holds it (``Lazy``), and imports that module when the command is chosen.
A group may name more commands of its own the same way (``subcommands``: ``trib comp build`` lives in
another module than ``trib comp list``), loaded only when chosen too. ``trib --help`` lists every
command, so it imports them all, and each command's help comes from its own module.

Every command, as it loads, gets the conventions of ``cli.conventions`` (plain flags, azldev's
component selection flags, ``-n``), so no command can forget them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class Lazy:
    """A command loaded on first use: ``target`` is ``module:attribute``, a ``typer.Typer`` (a command
    group), a command typer made, or a function (one command); a hidden command is left out of ``--help``
    (an alias). ``subcommands`` are more commands of a group, loaded the same way."""

    target: str
    hidden: bool = False
    subcommands: Mapping[str, Lazy] = field(default_factory=dict)

    def load(self, name: str) -> Any:
        """The click command, named ``name``."""
        from tributary.cli import conventions

        module, _, attribute = self.target.partition(":")
        found = getattr(importlib.import_module(module), attribute)
        if isinstance(found, typer.Typer):
            if self.subcommands:
                found.info.cls = lazy_group(self.subcommands)
            command: Any = typer.main.get_group(found)
        elif isinstance(found, (TyperCommand, TyperGroup)):
            command = found
        else:
            single = typer.Typer(add_completion=False)
            single.command(name)(found)
            command = typer.main.get_command(single)
        command.name = name
        command.hidden = self.hidden
        conventions.apply(command)
        return command


class LazyGroup(TyperGroup):
    """A group whose commands (``lazy``, set by ``lazy_group``) are imported when first asked for."""

    lazy: ClassVar[Mapping[str, Lazy]] = {}

    def get_params(self, ctx: Any) -> list[Any]:
        """The group's parameters, flags shown plain (typer adds --help and the completion flags late)."""
        from tributary.cli import conventions

        params = super().get_params(ctx)
        conventions.plain_flags(params)
        return params

    def list_commands(self, ctx: Any) -> list[str]:
        """Every command, in the order they were registered."""
        return list(dict.fromkeys([*super().list_commands(ctx), *self.lazy]))

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in self.list_commands(ctx):
            import difflib

            matches = difflib.get_close_matches(name, self.list_commands(ctx))
            if matches:  # typer suggests only among the commands already imported
                ctx.fail(f"No such command {name!r}. Did you mean {', '.join(map(repr, matches))}?")
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy:
            command = self.lazy[cmd_name].load(cmd_name)
            self.add_command(command, cmd_name)
        return command


def lazy_group(commands: Mapping[str, Lazy]) -> type[LazyGroup]:
    """The group class for ``typer.Typer(cls=...)`` that loads ``commands`` by name."""
    return type("TribCommands", (LazyGroup,), {"lazy": dict(commands)})
