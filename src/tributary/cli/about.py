"""``trib version`` and ``trib completion SHELL``: about tributary itself (azldev's ``version`` and
``completion``)."""

from __future__ import annotations

import platform
import sys
from enum import StrEnum
from typing import Annotated

import typer

from tributary import __version__
from tributary.cli import common
from tributary.cli.output import emit_object


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
