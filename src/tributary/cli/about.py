"""``trib version``, ``trib completion SHELL`` and ``trib help COMMAND``: about tributary itself
(azldev's ``version``, ``completion`` and ``help``)."""

from __future__ import annotations

import platform
import sys
from enum import StrEnum
from typing import Annotated

import typer

from tributary import __version__
from tributary.cli import common
from tributary.cli.output import emit_object
from tributary.errors import ConfigError


def version(ctx: typer.Context) -> None:
    """Print tributary's version (trib --version prints the same line).

    With -O json, azldev's keys where tributary has the value: version, platform (os/arch) and
    compiler, plus pythonVersion.

    Examples:

      trib version

      trib version -O json
    """
    state = common.settings(ctx)
    if state.output.value == "table":
        print(f"trib {__version__}")
        return
    emit_object(state, {"version": __version__, "platform": f"{sys.platform}/{platform.machine()}",
                        "compiler": platform.python_implementation(), "pythonVersion": platform.python_version()})


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"
    powershell = "powershell"


def completion(shell: Annotated[Shell, typer.Argument(help="The shell to complete trib's commands in.")]) -> None:
    """Print the script that makes SHELL complete trib's commands and options.

    Examples:

      trib completion bash > /etc/bash_completion.d/trib

      source <(trib completion bash)
    """
    from typer._completion_shared import get_completion_script

    print(get_completion_script(prog_name="trib", complete_var="_TRIB_COMPLETE", shell=shell.value))


def help_command(
    ctx: typer.Context,
    words: Annotated[list[str] | None, typer.Argument(metavar="COMMAND...", help="The command to explain.")] = None,
) -> None:
    """Show the help of trib or of one of its commands: 'trib help comp build' is 'trib comp build --help'.

    Examples:

      trib help

      trib help comp render
    """
    current = ctx.find_root()
    command = current.command
    for depth, word in enumerate(words or []):
        found = command.get_command(current, word) if hasattr(command, "get_command") else None
        if found is None:
            raise ConfigError(f"trib has no command '{' '.join(['trib', *(words or [])[:depth + 1]])}'",
                              hint="'trib help' lists the commands")
        current = type(current)(found, info_name=word, parent=current)  # typer's own click
        command = found
    text = command.get_help(current)  # typer prints rich help itself and returns nothing
    if text:
        print(text)
