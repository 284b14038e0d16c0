"""mock's configuration files (``.cfg`` and the ``.tpl`` files they ``include()``), read without running them.

A mock config is Python that fills a dict, ``config_opts``, and mock renders every string value in it as
a Jinja2 template against the dict itself (``'fedora-{{ releasever }}-{{ target_arch }}'``). Azure
Linux's configs are plain: assignments to ``config_opts[...]``, ``include('...')``, string, list and
dict literals, ``+`` and ``%`` on strings. That subset is what we read, by walking the syntax tree;
anything else (an ``import``, a loop, a call other than ``include``/``update``/``append``/``extend``)
is refused with its file and line instead of being run. Values then go through Jinja2 as mock does,
until they stop changing.

``include('x')`` resolves ``x`` against the directory of the file that includes it, then against
the directory of the config the build names (mock's ``config_path`` is that directory: ``/etc/mock``);
the included file must stay inside the project.

Which options become part of the buildroot, and which are listed as not applied, is
``tributary.build.buildroot.frommock``'s business; this module only reads.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from tributary.build.buildroot.templates import Templates, Variables
from tributary.errors import ConfigError, Location, PathEscapeError
from tributary.fsutil import is_inside

MAX_INCLUDE_DEPTH = 16
MAX_TEMPLATE_PASSES = 10

Key = tuple[str, ...]


@dataclass
class MockConfig:
    """``config_opts`` after every include and template, and where each option was last set."""

    path: Path
    options: dict[str, Any]
    origins: dict[Key, Location] = field(default_factory=dict)
    template_names: set[str] = field(default_factory=set)  # options and names the templates refer to

    def where(self, *keys: str) -> Location:
        """Where ``config_opts[k1][k2]...`` was set, or the nearest enclosing option, or the file."""
        for length in range(len(keys), 0, -1):
            if keys[:length] in self.origins:
                return self.origins[keys[:length]]
        return Location(self.path)


def read_mock_config(path: Path, *, confine_to: Path, defaults: Mapping[str, Any] | None = None,
                     variables: Variables | None = None) -> MockConfig:
    """Read the config at ``path`` (and its includes, which must stay inside ``confine_to``).

    ``defaults`` are options present before the file runs (mock's own defaults that templates use,
    such as ``target_arch``). ``variables`` are extra template names, computed only when a template
    uses them (tributary's ``tributary_stage0`` makes the stage-0 repository on first use).
    """
    reader = _Reader(path.parent, confine_to)
    options: dict[str, Any] = copy.deepcopy(dict(defaults or {}))
    reader.run_file(path, options, depth=0)
    templates = Templates(options, variables)
    rendered = _render_templates(options, reader.origins, templates, path)
    return MockConfig(path, rendered, reader.origins, templates.used)


class _Reader:
    """Walks the statements of one config file and those it includes, filling ``options``."""

    def __init__(self, config_dir: Path, confine_to: Path):
        self.config_dir = config_dir
        self.confine_to = confine_to
        self.origins: dict[Key, Location] = {}

    def run_file(self, path: Path, options: dict[str, Any], depth: int) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"cannot read the mock config: {error}", where=Location(path)) from None
        try:
            tree = ast.parse(text, filename=str(path))
        except SyntaxError as error:
            raise ConfigError(f"mock config is not valid Python: {error.msg}",
                              where=Location(path, error.lineno)) from None
        names: dict[str, Any] = {}
        for statement in tree.body:
            self._statement(statement, path, options, names, depth)

    def _statement(self, node: ast.stmt, path: Path, options: dict[str, Any], names: dict[str, Any],
                   depth: int) -> None:
        where = Location(path, node.lineno)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return  # a docstring
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            self._call(node.value, path, options, names, depth)
            return
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            value = self._value(node.value, path, options, names)
            self._assign(node.targets[0], value, path, options, names)
            return
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            current = self._value(node.target, path, options, names) if _is_readable(node.target) else None
            addition = self._value(node.value, path, options, names)
            try:
                combined = current + addition if current is not None else addition
            except TypeError:
                raise ConfigError("'+=' on values of different types", where=where) from None
            self._assign(node.target, combined, path, options, names)
            return
        raise ConfigError(f"{type(node).__name__.lower()} statements are not read in a mock config "
                          "(tributary reads assignments to config_opts and include() only)", where=where)

    def _call(self, call: ast.Call, path: Path, options: dict[str, Any], names: dict[str, Any], depth: int) -> None:
        where = Location(path, call.lineno)
        if isinstance(call.func, ast.Name) and call.func.id == "include":
            if len(call.args) < 1 or call.keywords:
                raise ConfigError("include() takes the path of a config file", where=where)
            target = self._value(call.args[0], path, options, names)
            if not isinstance(target, str):
                raise ConfigError("include() takes the path of a config file", where=where)
            self._include(target, path, options, depth, where)
            return
        if isinstance(call.func, ast.Attribute) and call.func.attr in ("update", "append", "extend"):
            container = self._value(call.func.value, path, options, names)
            args = [self._value(arg, path, options, names) for arg in call.args]
            method = call.func.attr
            if method == "update" and isinstance(container, dict) and len(args) == 1 and isinstance(args[0], dict):
                container.update(args[0])
            elif method in ("append", "extend") and isinstance(container, list) and len(args) == 1:
                getattr(container, method)(args[0])
            else:
                raise ConfigError(f".{method}() on a value that does not support it", where=where)
            keys = _subscript_keys(call.func.value)
            if keys:
                self.origins[keys] = where
            return
        raise ConfigError("calls other than include(), .update(), .append() and .extend() are not read "
                          "in a mock config", where=where)

    def _include(self, target: str, path: Path, options: dict[str, Any], depth: int, where: Location) -> None:
        if depth >= MAX_INCLUDE_DEPTH:
            raise ConfigError(f"include() nests deeper than {MAX_INCLUDE_DEPTH} files (a cycle?)", where=where)
        candidates = [Path(target)] if Path(target).is_absolute() else [path.parent / target, self.config_dir / target]
        for candidate in candidates:
            if candidate.is_file():
                if not is_inside(self.confine_to, candidate):
                    raise PathEscapeError(f"include({target!r}) leads outside {self.confine_to}", where=where)
                self.run_file(candidate.resolve(), options, depth + 1)
                return
        looked = ", ".join(str(candidate.parent) for candidate in candidates)
        raise ConfigError(f"include({target!r}): no such file (looked in {looked})",
                          where=where)

    def _assign(self, target: ast.expr, value: Any, path: Path, options: dict[str, Any], names: dict[str, Any]) -> None:
        where = Location(path, target.lineno)
        if isinstance(target, ast.Name):
            if target.id == "config_opts":
                raise ConfigError("config_opts itself cannot be replaced", where=where)
            names[target.id] = value
            return
        keys = _subscript_keys(target)
        if not keys:
            raise ConfigError("only config_opts[...] and plain names can be assigned in a mock config", where=where)
        container: Any = options
        for key in keys[:-1]:
            if not isinstance(container, dict):
                raise ConfigError(f"config_opts{_spelled(keys)}: {key!r} is not a dict", where=where)
            container = container.setdefault(key, {})
        if not isinstance(container, dict):
            raise ConfigError(f"config_opts{_spelled(keys)}: not a dict", where=where)
        container[keys[-1]] = value
        self.origins[keys] = where
        for length in range(1, len(keys)):
            self.origins.setdefault(keys[:length], where)

    def _value(self, node: ast.expr, path: Path, options: dict[str, Any], names: dict[str, Any]) -> Any:
        where = Location(path, getattr(node, "lineno", None))
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items = [self._value(item, path, options, names) for item in node.elts]
            return items if isinstance(node, ast.List) else tuple(items) if isinstance(node, ast.Tuple) else set(items)
        if isinstance(node, ast.Dict):
            if any(key is None for key in node.keys):
                raise ConfigError("'**' in a dict literal is not read in a mock config", where=where)
            return {self._value(key, path, options, names): self._value(value, path, options, names)
                    for key, value in zip(node.keys, node.values, strict=True) if key is not None}
        if isinstance(node, ast.Name):
            if node.id == "config_opts":
                return options
            if node.id in names:
                return names[node.id]
            raise ConfigError(f"name {node.id!r} is not defined in the mock config", where=where)
        if isinstance(node, ast.Subscript):
            container = self._value(node.value, path, options, names)
            key = self._value(node.slice, path, options, names)
            try:
                return container[key]
            except (KeyError, IndexError, TypeError):
                raise ConfigError(f"{ast.unparse(node)} is not set at this point", where=where) from None
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            left = self._value(node.left, path, options, names)
            right = self._value(node.right, path, options, names)
            try:
                return left + right if isinstance(node.op, ast.Add) else left % right
            except (TypeError, ValueError, KeyError) as error:
                raise ConfigError(f"cannot evaluate {ast.unparse(node)}: {error}", where=where) from None
        if isinstance(node, ast.JoinedStr):
            parts = []
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    parts.append(str(self._value(part.value, path, options, names)))
                else:
                    parts.append(str(self._value(part, path, options, names)))
            return "".join(parts)
        raise ConfigError(f"{ast.unparse(node)!r} is not read in a mock config (literals, config_opts[...], "
                          "+ and % only)", where=where)


def _is_readable(node: ast.expr) -> bool:
    return isinstance(node, (ast.Name, ast.Subscript))


def _subscript_keys(node: ast.expr) -> Key:
    """``('macros', '%dist')`` for ``config_opts['macros']['%dist']``; empty for anything else."""
    keys: list[str] = []
    while isinstance(node, ast.Subscript):
        if not (isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
            return ()
        keys.append(node.slice.value)
        node = node.value
    if isinstance(node, ast.Name) and node.id == "config_opts" and keys:
        return tuple(reversed(keys))
    return ()


def _spelled(keys: Key) -> str:
    return "".join(f"[{key!r}]" for key in keys)


def _render_templates(options: dict[str, Any], origins: dict[Key, Location], templates: Templates,
                      path: Path) -> dict[str, Any]:
    """Every string value rendered as mock renders it: Jinja2 against the options, until stable."""
    def render(value: Any, keys: Key) -> Any:
        if isinstance(value, str):
            text = value
            for _ in range(MAX_TEMPLATE_PASSES):
                if "{{" not in text and "{%" not in text:
                    return text
                try:
                    new = templates.render(text)
                except jinja2.TemplateError as error:
                    where = _origin(origins, keys, path)
                    raise ConfigError(f"config_opts{_spelled(keys)}: template error: {error}", where=where) from None
                if new == text:
                    return new
                text = new
            raise ConfigError(f"config_opts{_spelled(keys)}: the template still changes after "
                              f"{MAX_TEMPLATE_PASSES} passes (it refers to itself?)",
                              where=_origin(origins, keys, path))
        if isinstance(value, dict):
            return {key: render(item, (*keys, str(key))) for key, item in value.items()}
        if isinstance(value, list):
            return [render(item, keys) for item in value]
        if isinstance(value, tuple):
            return tuple(render(item, keys) for item in value)
        return value

    return {key: render(value, (key,)) for key, value in options.items()}


def _origin(origins: dict[Key, Location], keys: Key, path: Path) -> Location:
    for length in range(len(keys), 0, -1):
        if keys[:length] in origins:
            return origins[keys[:length]]
    return Location(path)
