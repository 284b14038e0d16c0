"""Conventions every ``trib`` command follows, applied in one place as each command loads (``cli.lazy``).

* **Flags are plain flags.** Help shows no ``<bool>`` after them (which invites ``--force true``), and
  ``--force true`` is refused with a message that says so, instead of reading ``true`` as a component
  name. Go's spelling ``--force=true`` / ``--force=false``, which azldev's scripts may use, is accepted.
  Nor does help show a Python type (``<list[str]>``) after an argument its name describes.
* **azldev's component selection.** A command that takes component names or patterns (an argument
  shown as ``COMPONENT...``) also takes ``-p/--component PATTERN`` and ``-s/--spec-path FILE``
  (repeatable, folded into the names), ``-g`` repeated, and ``--skip-lock-validation``; a command of
  exactly one component (``COMPONENT``) takes ``-p`` too. ``X.spec`` names component ``X``, as in
  azldev; the file must exist.
* **Help flows.** A docstring's paragraphs are written with line breaks where the source wraps; help
  shows each as one paragraph wrapped to the terminal. Indented lines (examples) stay as written.
* **``-n/--dry-run``** is honoured by the commands listed in ``DRY_RUN`` (they read nothing but the
  project, or say what they would do); every other command refuses it rather than do for real what
  the user asked only to try.
* **Kept answers.** What a command listed in ``REUSABLE`` prints, from its first step on (selection
  loads the project, and may warn), is kept by ``cli.replay`` and given again while nothing it read
  has changed.

A new command gets all of this by declaring its component argument with ``comp.NamesArg`` or
``comp.ComponentArg``, by being added to ``DRY_RUN`` if it supports ``-n``, and to ``REUSABLE`` if it
only reads the project through Python (a read through a C library, such as librpm, is not seen).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from tributary import inputs
from tributary.cli import replay
from tributary.errors import ConfigError

NAMES_METAVAR = "COMPONENT..."
ONE_METAVAR = "COMPONENT"

DRY_RUN = frozenset({
    # Read only: they change nothing, so -n changes nothing.
    "tributary.cli.comp:list_components", "tributary.cli.comp:query", "tributary.cli.comp:diff",
    "tributary.cli.comp:changed", "tributary.cli.config_cmd:dump", "tributary.cli.config_cmd:schema",
    "tributary.cli.distro:list_distros", "tributary.cli.image:list_images", "tributary.cli.report:changes",
    "tributary.cli.report:lint", "tributary.cli.repo:check", "tributary.cli.history:history",
    "tributary.cli.package:list_packages", "tributary.cli.about:version", "tributary.cli.about:completion",
    "tributary.cli.buildroot:show", "tributary.cli.sbom:verify", "tributary.cli.repo_query:query",
    # They say what they would do and write nothing.
    "tributary.cli.comp:render", "tributary.cli.comp:update", "tributary.cli.add:add",
    "tributary.cli.project:new", "tributary.cli.project:init",
    # They refuse with their own message.
    "tributary.cli.unsupported:refuse",
})

# Commands whose answer depends on nothing but what they read of the project (see cli.replay).
REUSABLE = frozenset({"tributary.cli.comp:list_components", "tributary.cli.comp:query"})

_TRUTH = {"true": True, "false": False}


def apply(command: Any) -> None:
    """Give ``command`` (and, for a group, each command it already holds) the conventions above."""
    _show_flags_plain(command)
    if command.help:
        command.help = flowing(command.help)
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            apply(sub)
        return
    if getattr(command, "_trib_conventions", False):
        return
    command._trib_conventions = True  # type: ignore[attr-defined]  # aliases share one command object
    _check_flag_values(command)
    selection = _add_selection_flags(command)
    dry_run = _dry_run_guard(command)
    reusable = _name(command) in REUSABLE
    if selection is None and dry_run is None and not reusable:
        return
    invoke = command.invoke

    def invoking(ctx: Any) -> Any:
        if reusable:
            replay.capture()
        for step in (dry_run, selection):
            if step is not None:
                step(ctx)
        return invoke(ctx)

    command.invoke = invoking  # type: ignore[method-assign]


def flowing(text: str) -> str:
    """``text`` with each paragraph of unindented lines joined into one line, for the help to wrap (rich
    keeps a docstring's line breaks, so a paragraph wrapped at 100 columns in the source breaks early on
    every line of a narrower terminal). A paragraph with an indented line (an example) is kept."""
    paragraphs = text.split("\n\n")
    return "\n\n".join(
        paragraph if any(line[:1].isspace() for line in paragraph.splitlines())
        else " ".join(line.strip() for line in paragraph.splitlines())
        for paragraph in paragraphs
    )


def _show_flags_plain(command: Any) -> None:
    if getattr(command, "_trib_plain", False):
        return
    command._trib_plain = True
    get_params = command.get_params

    def plain(ctx: Any) -> list[Any]:
        params = get_params(ctx)  # with --help, which typer adds only here
        plain_flags(params)
        return params

    command.get_params = plain


def plain_flags(params: Sequence[Any]) -> None:
    """Show flags in help without a type: ``--force`` takes no value, so help must not suggest one. An
    argument named by its metavar (``COMPONENT...``) is not followed by a Python type (``<list[str]>``)."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and not param.count:
            param.metavar = ""
        elif isinstance(param, TyperArgument) and param.metavar:
            param.display_type_rich = _no_type  # type: ignore[method-assign]


def _no_type(ctx: Any) -> None:
    """The type column of an argument whose name already says what it takes."""
    return None


# --- --flag true -------------------------------------------------------------------------------------


def _check_flag_values(command: TyperCommand) -> None:
    flags = {name: param for param in command.params if isinstance(param, TyperOption) and param.is_flag
             for name in [*param.opts, *param.secondary_opts]}
    if not flags:
        return
    parse = command.parse_args

    def parse_args(ctx: Any, args: list[str]) -> list[str]:
        return parse(ctx, flag_values(args, flags))

    command.parse_args = parse_args  # type: ignore[method-assign]


def flag_values(args: list[str], flags: dict[str, TyperOption]) -> list[str]:
    """``args`` with ``--flag=true`` made ``--flag`` and ``--flag=false`` dropped (or made ``--no-flag``);
    a ``true`` or ``false`` written after a flag is a usage error, not an argument."""
    out: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--":
            return out + args[index:]
        name, equals, value = arg.partition("=")
        if equals and name in flags and value.lower() in _TRUTH:
            param = flags[name]
            on = _TRUTH[value.lower()] == (name in param.opts)  # --x=true, or --no-x=false
            if on:
                out.append(param.opts[0])
            elif param.secondary_opts:
                out.append(param.secondary_opts[0])
            continue  # off, with no --no- form: a flag is off unless written
        following = args[index + 1] if index + 1 < len(args) else ""
        if arg in flags and following.lower() in _TRUTH:
            raise ConfigError(f"{arg} is a flag and takes no value: write {arg} alone for true, or leave it out "
                              f"for false ({following!r} after it is not read as a name)")
        out.append(arg)
    return out


# --- component selection ---------------------------------------------------------------------------


def _many(
    component: Annotated[list[str] | None, typer.Option(
        "--component", "-p", metavar="PATTERN",
        help="A component name or glob pattern (repeatable; azldev's spelling of the names).")] = None,
    spec_path: Annotated[list[Path] | None, typer.Option(
        "--spec-path", "-s", metavar="FILE",
        help="The component whose spec this is: X.spec is X (repeatable).")] = None,
    component_groups: Annotated[list[str] | None, typer.Option(
        "--component-group", "-g", metavar="GROUP",
        help="Select the members of a component group (repeatable).")] = None,
    skip_lock_validation: Annotated[bool, typer.Option(
        "--skip-lock-validation", help="Accepted for azldev's scripts: tributary never refuses a missing lock "
                                       "(a stale one is still refused; run comp update).")] = False,
) -> None:
    """azldev's component selection flags (see the module docstring)."""


def _one(
    component: Annotated[list[str] | None, typer.Option(
        "--component", "-p", metavar="NAME", help="The component (azldev's spelling of the argument).")] = None,
    spec_path: Annotated[list[Path] | None, typer.Option(
        "--spec-path", "-s", metavar="FILE", help="The component whose spec this is: X.spec is X.")] = None,
    skip_lock_validation: Annotated[bool, typer.Option(
        "--skip-lock-validation", help="Accepted for azldev's scripts (tributary never refuses a missing lock).")
    ] = False,
) -> None:
    """azldev's flags for a command of one component."""


@functools.cache
def _template(function: Callable[..., None]) -> tuple[Any, ...]:
    """The parameters typer makes of ``function``'s options (typer's own kind, so help shows them)."""
    single = typer.Typer(add_completion=False)
    single.command()(function)
    params = tuple(typer.main.get_command(single).params)
    plain_flags(params)
    return params


def _add_selection_flags(command: TyperCommand) -> Callable[[typer.Context], None] | None:
    """Add azldev's selection flags to a command of components; the step that folds them into its names."""
    arguments = {param.metavar: param for param in command.params if isinstance(param, TyperArgument)}
    if NAMES_METAVAR in arguments:
        names_param, many = arguments[NAMES_METAVAR], True
    elif ONE_METAVAR in arguments:
        names_param, many = arguments[ONE_METAVAR], False
        names_param.required = False  # -p may name it instead
    else:
        return None
    has_group = any(param.name == "group" for param in command.params)
    added = [param for param in _template(_many if many else _one)
             if has_group or param.name != "component_groups"]
    command.params = [param for param in command.params if param.name != "group"] + added
    target = names_param.name
    assert target is not None

    def fold(ctx: typer.Context) -> None:
        params = ctx.params
        patterns = [*(params.pop("component", None) or ()),
                    *(_spec_component(path) for path in params.pop("spec_path", None) or ())]
        params.pop("skip_lock_validation", None)
        groups = list(params.pop("component_groups", None) or ())
        if has_group:
            params["group"] = groups[0] if groups else None
            if len(groups) > 1:
                patterns += _members(ctx, groups[1:])
        if many:
            params[target] = [*(params.get(target) or ()), *patterns] or None
        else:
            params[target] = _exactly_one(ctx, params.get(target), patterns)

    return fold


def _spec_component(path: Path) -> str:
    if not inputs.is_file(path):
        raise ConfigError(f"spec {path} does not exist", hint="-s/--spec-path names the spec file of a component")
    return path.stem


def _members(ctx: typer.Context, groups: list[str]) -> list[str]:
    from tributary.cli import common

    project = common.project(ctx)
    return [name for group in groups for name in project.select([], group=group)]


def _exactly_one(ctx: typer.Context, name: str | None, patterns: list[str]) -> str:
    from tributary.cli import common

    wanted = [*([name] if name else []), *patterns]
    if not wanted:
        raise ConfigError(f"'{ctx.command_path}' needs a component", hint="name it, or use -p NAME")
    chosen = common.project(ctx).select(wanted)
    if len(chosen) != 1:
        shown = ", ".join(chosen[:10]) + (", ..." if len(chosen) > 10 else "")
        raise ConfigError(f"'{ctx.command_path}' works on one component; {' '.join(wanted)} selects "
                          f"{len(chosen)}" + (f": {shown}" if chosen else ""))
    return chosen[0]


# --- -n ----------------------------------------------------------------------------------------------


def _name(command: TyperCommand) -> str | None:
    """``module:function`` of the command's callback, as ``DRY_RUN`` and ``REUSABLE`` name commands."""
    callback = command.callback
    return None if callback is None else f"{callback.__module__}:{callback.__name__}"


def _dry_run_guard(command: TyperCommand) -> Callable[[typer.Context], None] | None:
    """The step that refuses -n for a command that does not support it (None when it does)."""
    if command.callback is None or _name(command) in DRY_RUN:
        return None

    def refuse(ctx: typer.Context) -> None:
        from tributary.cli import common

        if common.settings(ctx).dry_run:
            raise ConfigError(f"'{ctx.command_path}' has no dry run: it would change files or build for real",
                              hint="leave out -n/--dry-run")

    return refuse
