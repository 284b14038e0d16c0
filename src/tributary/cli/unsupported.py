"""azldev commands tributary does not carry out: each answers with one line saying so and naming the
closest tributary command, exit status 2, whatever arguments follow. A script calling them fails
clearly, never with a usage dump that looks like a typo.
"""

from __future__ import annotations

import shutil
from typing import Annotated, Any

import typer

from tributary.errors import TribError


class NotSupported(TribError):
    """An azldev command tributary does not carry out (bad input: exit status 2)."""


def _refuse_on(group: typer.Typer, command: str, why: str, closest: str) -> None:
    """Register on ``group``, under the last word of ``command``, a command that takes any arguments and
    refuses with ``why`` and ``closest``."""

    def refuse(args: Annotated[list[str] | None, typer.Argument(hidden=True)] = None) -> None:
        del args
        raise NotSupported(f"'trib {command}' is azldev's and not something tributary does: {why}",
                           hint=f"the closest is {closest}")

    refuse.__doc__ = f"Not supported: {why}. The closest is {closest}."
    group.command(command.rsplit(" ", 1)[-1], add_help_option=False,
                  context_settings={"ignore_unknown_options": True, "allow_extra_args": True})(refuse)


def _refusal(command: str, why: str, closest: str) -> Any:
    """One refusing command on its own (a hidden member of a tributary group)."""
    single = typer.Typer(add_completion=False)
    _refuse_on(single, command, why, closest)
    return typer.main.get_command(single)


def _mock_shell() -> str:
    if shutil.which("mock"):
        return ("tributary opens no shell in a build root; mock is installed here: 'mock -r <the distro version's "
                "mock-config> --shell' opens one")
    return "tributary opens no shell in a build root, and there is no mock on this host to open one"


image_customize = _refusal(
    "image customize", "it runs Azure Linux's Image Customizer container on an existing image",
    "'trib image build NAME', which builds the image from its KIWI or TOML definition")
image_inject_files = _refusal(
    "image inject-files", "it runs Azure Linux's Image Customizer to inject files into an existing image",
    "'trib image build NAME' with the files in the image definition (config.sh or the KIWI overlay tree)")
image_boot = _refusal(
    "image boot", "tributary boots images only to test them, not for an interactive session",
    "'trib image test NAME', which boots VM disks under qemu and checks them")

mcp = _refusal("mcp", "tributary has no MCP server",
               "-O json on any command (camelCase keys, the shapes docs/COMPATIBILITY.md lists)")

advanced = typer.Typer(help="azldev's advanced commands (not carried out here; each names the closest tributary "
                            "command).", no_args_is_help=True, add_completion=False)
_mock = typer.Typer(help="azldev's mock commands (not carried out here).", no_args_is_help=True)
advanced.add_typer(_mock, name="mock")
_refuse_on(_mock, "adv mock shell", _mock_shell(), "'trib buildroot show' (what the build root holds)")
_refuse_on(_mock, "adv mock build-rpms", "tributary builds components, not SRPMs handed to it",
           "'trib build NAME' (its SRPM and RPMs, in a build root from the distro's mock config)")
_refuse_on(advanced, "adv mcp", "tributary has no MCP server", "-O json on any command")
_refuse_on(advanced, "adv download-sources", "tributary fetches lookaside files as part of preparing sources",
           "'trib comp prep-sources NAME -o DIR' (every file verified by its hash)")
_refuse_on(advanced, "adv wget", "tributary has no general download command", "curl or wget")

docs = typer.Typer(help="azldev's documentation commands (not carried out here).", no_args_is_help=True,
                   add_completion=False)
_agent = typer.Typer(help="azldev's AI agent files (not carried out here).", no_args_is_help=True)
docs.add_typer(_agent, name="agent")
_refuse_on(docs, "docs markdown", "tributary's command reference is its help", "'trib COMMAND --help'")
_refuse_on(docs, "docs md", "tributary's command reference is its help", "'trib COMMAND --help'")
_refuse_on(_agent, "docs agent install", "tributary writes no AI agent skills",
           "README.md and docs/ (the user's guide), and 'trib COMMAND --help'")
_refuse_on(_agent, "docs agent show", "tributary has no AI agent skills to show", "'trib COMMAND --help'")
