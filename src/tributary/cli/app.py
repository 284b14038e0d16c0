"""The ``trib`` application: global flags, command groups, and how errors reach the user.

Errors from any stage print on one line each (``file:line: what``) and exit 2 for bad input or 1 for
a failed check; a traceback only with ``-v``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

# tributary uses no pydantic plugins; looking for them reads every installed package's entry points at
# the first model build, a noticeable part of a quick command. An explicit setting (even empty) wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer

from tributary import __version__
from tributary.cli.common import settings as get_settings
from tributary.cli.lazy import Lazy, lazy_group
from tributary.cli.output import OutputFormat
from tributary.cli.signals import Interrupted, stop_signals_raise
from tributary.errors import TribError, system_error

# Every command, imported only when it runs (see cli.lazy). Adding a command group is one line here.
# azldev's spellings of tributary's commands are first-class (docs/COMPATIBILITY.md maps every one);
# hidden entries are aliases, or azldev commands tributary answers with the closest command of its own.
_COMP_EXTRA = {
    "build": Lazy("tributary.cli.build:build"),
    "history": Lazy("tributary.cli.history:history"),
    "hist": Lazy("tributary.cli.history:history", hidden=True),
    "add": Lazy("tributary.cli.add:add"),
    "prepare-sources": Lazy("tributary.cli.comp:prep_sources", hidden=True),
    "diff-sources": Lazy("tributary.cli.comp:diff", hidden=True),
}
COMMANDS = {
    "lint": Lazy("tributary.cli.report:lint"),
    "build": Lazy("tributary.cli.build:build"),
    "sbom": Lazy("tributary.cli.sbom:sbom"),
    "verify": Lazy("tributary.cli.sbom:verify"),
    "comp": Lazy("tributary.cli.comp:app", subcommands=_COMP_EXTRA),
    "component": Lazy("tributary.cli.comp:app", hidden=True, subcommands=_COMP_EXTRA),
    "distro": Lazy("tributary.cli.distro:app"),
    "image": Lazy("tributary.cli.image:app", subcommands={
        "customize": Lazy("tributary.cli.unsupported:image_customize", hidden=True),
        "inject-files": Lazy("tributary.cli.unsupported:image_inject_files", hidden=True),
        "boot": Lazy("tributary.cli.unsupported:image_boot", hidden=True),
    }),
    "config": Lazy("tributary.cli.config_cmd:app", subcommands={
        "generate-schema": Lazy("tributary.cli.config_cmd:schema", hidden=True),
    }),
    "package": Lazy("tributary.cli.package:app"),
    "pkg": Lazy("tributary.cli.package:app", hidden=True),
    "report": Lazy("tributary.cli.report:app"),
    "repo": Lazy("tributary.cli.repo:app", subcommands={"query": Lazy("tributary.cli.repo_query:query")}),
    "upstream": Lazy("tributary.cli.upstream:app"),
    "audit": Lazy("tributary.cli.audit:app"),
    "buildroot": Lazy("tributary.cli.buildroot:app"),
    "project": Lazy("tributary.cli.project:app"),
    "version": Lazy("tributary.cli.about:version"),
    "ver": Lazy("tributary.cli.about:version", hidden=True),
    "completion": Lazy("tributary.cli.about:completion", hidden=True),
    "help": Lazy("tributary.cli.about:help_command", hidden=True),
    "advanced": Lazy("tributary.cli.unsupported:advanced", hidden=True),
    "adv": Lazy("tributary.cli.unsupported:advanced", hidden=True),
    "docs": Lazy("tributary.cli.unsupported:docs", hidden=True),
    "mcp": Lazy("tributary.cli.unsupported:mcp", hidden=True),
    "site": Lazy("tributary.cli.site:site"),
}

app = typer.Typer(
    name="trib",
    help=(
        "tributary: build and maintain a downstream RPM distribution from an upstream one "
        "through declarative overlays.\n\n"
        "Examples:\n\n"
        "  trib -C examples/distro comp list -a\n\n"
        "  trib comp query curl -v\n\n"
        "  trib -O json distro list"
    ),
    cls=lazy_group(COMMANDS),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"trib {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    project: Annotated[
        Path | None,
        typer.Option(
            "--project", "-C", help="Project directory (default: the nearest azldev.toml above the current directory)."
        ),
    ] = None,
    config_file: Annotated[
        list[Path] | None, typer.Option("--config-file", help="Extra configuration file loaded last (repeatable).")
    ] = None,
    output: Annotated[OutputFormat, typer.Option(
        "--output-format", "-O", help="table, json (camelCase keys), csv, markdown or html.")] = OutputFormat.table,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only results: no progress or notes.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More detail; tracebacks on errors.")] = False,
    color: Annotated[str, typer.Option("--color", help="auto, always or never.")] = "auto",
    connect_timeout: Annotated[float | None, typer.Option(
        "--connect-timeout", metavar="SECONDS",
        help="Seconds to connect to a dist-git or lookaside server (default 30; env TRIB_CONNECT_TIMEOUT).")] = None,
    read_timeout: Annotated[float | None, typer.Option(
        "--read-timeout", metavar="SECONDS",
        help="Seconds a connected server may send nothing before the request fails "
             "(default 60; env TRIB_READ_TIMEOUT).",
    )] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", "-n", help="Write nothing: commands that can say what they would do do so; the others refuse.",
    )] = False,
    accept_all: Annotated[bool, typer.Option(
        "--accept-all", "-y", help="Accept all prompts (azldev's flag; tributary never prompts).")] = False,
    permissive_config: Annotated[bool, typer.Option(
        "--permissive-config", help="Unknown keys in the project's TOML files are warnings, not errors.")] = False,
    no_default_config: Annotated[bool, typer.Option(
        "--no-default-config", help="Leave out the built-in defaults (azldev's repository-set templates).")] = False,
    network_retries: Annotated[int | None, typer.Option(
        "--network-retries", min=1, metavar="N",
        help="Tries in all of a network request that fails in a way that may pass (default 3; "
             "env TRIB_NETWORK_ATTEMPTS).")] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Configuration warnings are errors: an include glob matching no file, a symlink not followed.",
    )] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    state = get_settings(ctx)
    state.project_dir = project
    state.config_files = tuple(config_file or ())
    state.output = output
    state.quiet = quiet
    state.verbose = verbose
    state.color = color
    state.dry_run = dry_run
    state.permissive_config = permissive_config
    state.default_config = not no_default_config
    del accept_all  # nothing to accept: no command asks
    if network_retries is not None:
        os.environ["TRIB_NETWORK_ATTEMPTS"] = str(network_retries)  # upstream.network's, for workers too
    state.strict = strict
    if connect_timeout is not None or read_timeout is not None or _TIMEOUT_VARIABLES & os.environ.keys():
        from tributary.upstream import network

        # Through the environment, so worker processes and the programs tributary runs see them too.
        for value, flag, variable in ((connect_timeout, "--connect-timeout", network.CONNECT_VARIABLE),
                                      (read_timeout, "--read-timeout", network.READ_VARIABLE)):
            if value is not None:
                os.environ[variable] = str(network.seconds(f"{value:g}", flag, 0.0))
        network.Timeouts.from_environment()  # a bad variable is bad input now, not in every component's row


_TIMEOUT_VARIABLES = {"TRIB_CONNECT_TIMEOUT", "TRIB_READ_TIMEOUT"}  # upstream.network's, named here to stay cheap

# Global flags a user may also write after the subcommand (``trib comp list -a -O json``), with
# whether they take a value.
_GLOBAL_FLAGS = {"-C": True, "--project": True, "--config-file": True, "-O": True, "--output-format": True,
                 "-q": False, "--quiet": False, "-v": False, "--verbose": False, "--color": True,
                 "--connect-timeout": True, "--read-timeout": True,
                 "-n": False, "--dry-run": False, "-y": False, "--accept-all": False, "--permissive-config": False,
                 "--no-default-config": False, "--network-retries": True, "--strict": False}


def hoist_global_flags(args: list[str]) -> list[str]:
    """Move global flags written after the subcommand to the front, where the parser expects them."""
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest.extend(args[index:])
            break
        name = arg.split("=", 1)[0]
        if name in _GLOBAL_FLAGS:
            takes_value = _GLOBAL_FLAGS[name] and "=" not in arg
            front.extend(args[index : index + (2 if takes_value else 1)])
            index += 2 if takes_value else 1
            continue
        rest.append(arg)
        index += 1
    return front + rest


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``trib`` script; returns the exit status."""
    args = hoist_global_flags(list(argv if argv is not None else sys.argv[1:]))
    verbose = any(arg in ("-v", "--verbose") for arg in args)
    try:
        with stop_signals_raise():
            app(args=args, prog_name="trib", standalone_mode=True)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BrokenPipeError:
        return 0
    except (TribError, OSError) as error:  # an OSError: the system refused (a full disk, a file-size limit)
        if verbose:
            import traceback  # only here: it costs a tenth of `trib --version`

            traceback.print_exc()
        for line in (str(error) if isinstance(error, TribError) else system_error(error)).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return error.exit_code if isinstance(error, TribError) else 1
    except Interrupted as stop:
        print(f"error: stopped by {stop} before the command finished; what it completed is kept", file=sys.stderr)
        return stop.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover - ``python -m tributary.cli.app``: the command, never a kept answer
    sys.exit(main())
