"""Read a project's TOML files: discovery, ``includes``, per-file validation, paths made absolute.

Order follows azldev: the root file first, then each include in turn, depth-first, so an included file's
values land on top of its parent's. We deliberately relax one azldev rule: a file reached twice through
a *diamond* (two siblings including the same file, or overlapping globs) is read once instead of being
reported as a "circular include"; only a true cycle is an error, and it prints the chain.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tributary import inputs
from tributary.config.diagnostics import drop_unknown_keys, from_validation, located
from tributary.config.model import ConfigFile, OverlayFile, is_safe_name
from tributary.errors import ConfigError, Location
from tributary.globbing import glob_files, has_magic, split_absolute, unescape

ROOT_FILE = "azldev.toml"


@dataclass
class LoadedFile:
    """One TOML file as read: its raw table (paths made absolute) and the order it was merged in."""

    path: Path
    raw: dict[str, Any]
    included_from: Path | None = None
    includes: list[Path] = field(default_factory=list)
    ignored: list[ConfigError] = field(default_factory=list)
    """Unknown keys left out, one warning each (only when loaded permissively)."""


def find_project_root(start: Path) -> Path:
    """Walk up from ``start`` to the directory holding ``azldev.toml``."""
    start = inputs.real_path(start)
    for candidate in (start, *start.parents):
        if inputs.is_file(candidate / ROOT_FILE):
            return candidate
    raise ConfigError(
        f"no {ROOT_FILE} found in {start} or any parent directory",
        hint="run inside a project, or name one with -C DIR",
    )


def parse_toml(path: Path) -> dict[str, Any]:
    """Parse one file; a syntax error names file, line and column."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", where=Location(path)) from exc
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError("not valid UTF-8", where=Location(path, line)) from exc
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        line = None
        if "(at line " in message:
            message, _, position = message.rpartition(" (at line ")
            line_text, _, column = position.rstrip(")").partition(", column ")
            line = int(line_text)
            message = f"TOML syntax error: {message} (column {column})"
        elif "(at end of document)" in message:
            message = f"TOML syntax error: {message.replace(' (at end of document)', '')} at end of file"
            line = data.count(b"\n") + 1
        raise ConfigError(message, where=Location(path, line)) from exc


def _to_validate(raw: dict[str, Any]) -> dict[str, Any]:
    """What of a file needs validating: ``raw`` without its empty ``[components.NAME]`` tables when every
    such name is valid, since an empty table always is. Azure Linux lists 7,400 components that way in
    one file, and validating each as a model took half as long as parsing the file."""
    components = raw.get("components")
    if not isinstance(components, dict):
        return raw
    empty = [name for name, table in components.items() if table == {}]
    if not empty or not all(is_safe_name(name) for name in empty):
        return raw
    return {**raw, "components": {name: table for name, table in components.items() if table != {}}}


def load_files(root_file: Path, project_root: Path, extra_files: list[Path] | None = None,
               warnings: list[ConfigError] | None = None, *, permissive: bool = False) -> list[LoadedFile]:
    """Every file of the project in merge order: root file and includes, then each extra file.

    ``permissive`` (azldev's ``--permissive-config``) leaves unknown keys out, with a warning on the
    file, instead of refusing the file. What azldev passes over in silence, an include glob matching
    no file and a symbolic link a glob does not follow, is appended to ``warnings``.
    """
    loaded: list[LoadedFile] = []
    seen: set[Path] = set()
    found = [] if warnings is None else warnings
    _load(inputs.real_path(root_file), project_root, loaded, seen, chain=[], parent=None, warnings=found,
          permissive=permissive)
    for extra in extra_files or []:
        extra = inputs.real_path(extra)
        _load(extra, extra.parent, loaded, seen, chain=[], parent=None, warnings=found, permissive=permissive)
    return loaded


def _load(
    path: Path, root: Path, loaded: list[LoadedFile], seen: set[Path], chain: list[Path], parent: Path | None,
    warnings: list[ConfigError], *, permissive: bool = False,
) -> None:
    if path in seen:
        return  # a diamond: the file's content is already merged once
    seen.add(path)
    raw = parse_toml(path)
    ignored: list[ConfigError] = []
    try:
        ConfigFile.model_validate(_to_validate(raw))
    except ValidationError as exc:
        ignored = drop_unknown_keys(exc, raw, path, ConfigFile) if permissive else []
        if not ignored:
            raise from_validation(exc, path, ConfigFile) from exc
        try:
            ConfigFile.model_validate(_to_validate(raw))
        except ValidationError as remaining:
            raise from_validation(remaining, path, ConfigFile) from remaining
    entry = LoadedFile(path=path, raw=raw, included_from=parent, ignored=ignored)
    _absolutize(raw, path, root)
    loaded.append(entry)
    for index, pattern in enumerate(raw.get("includes", [])):
        for target in expand_include(path, index, pattern, root, warnings):
            if target in chain or target == path:
                cycle = " -> ".join(_rel(p, root) for p in [*chain, path, target])
                raise located(path, ("includes", index), f"include cycle: {cycle}")
            entry.includes.append(target)
            _load(target, root, loaded, seen, [*chain, path], path, warnings, permissive=permissive)


def expand_include(path: Path, index: int, pattern: str, root: Path,
                   warnings: list[ConfigError] | None = None) -> list[Path]:
    """The files one ``includes`` entry names, in lexical walk order; a literal must exist.

    A glob matching nothing, and each symbolic link it passes over, is appended to ``warnings``.
    """
    base = path.parent
    if has_magic(pattern):
        joined = pattern if pattern.startswith("/") else os.path.normpath(os.path.join(base, pattern))
        static, rest = split_absolute(joined)
        if not _inside(Path(static), root):
            raise located(path, ("includes", index), f"include {pattern!r} leads outside the project ({root})")
        # glob_files neither follows nor returns symlinks, so its matches stay below ``static``.
        skipped: list[Path] = []
        found = glob_files(Path(static), rest, skipped=skipped)
        if warnings is not None:
            warnings.extend(located(path, ("includes", index), skipped_link(f"include {pattern!r}", link, root))
                            for link in skipped)
            if not found and not skipped:
                warnings.append(located(path, ("includes", index), f"include {pattern!r} matches no file"))
        return found
    target = Path(os.path.normpath(base / unescape(pattern)))
    if not inputs.is_file(target):
        raise located(path, ("includes", index), f"included file {pattern!r} does not exist")
    if not _inside(target, root):
        raise located(path, ("includes", index), f"include {pattern!r} leads outside the project ({root})")
    return [inputs.real_path(target)]


def skipped_link(what: str, link: Path, root: Path) -> str:
    """The warning for a symbolic link a glob passed over."""
    return f"{what}: {_rel(link, root)} is a symbolic link, which is not followed: nothing in it is read"


def _inside(path: Path, root: Path) -> bool:
    real = inputs.real_path(path)
    root_real = inputs.real_path(root)
    return real == root_real or root_real in real.parents


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


# --- paths ------------------------------------------------------------------------------------

_PROJECT_DIRS = ("log-dir", "work-dir", "output-dir", "rendered-specs-dir", "lock-dir")


def _absolutize(raw: dict[str, Any], path: Path, root: Path) -> None:
    """Make every configured path absolute against the file that wrote it, and keep it in the project.

    Overlay ``file``/``archive`` stay relative: they name files inside the component's own sources.
    """
    base = path.parent
    project = raw.get("project", {})
    for key in _PROJECT_DIRS:
        if key in project:
            value = project[key]
            target = Path(os.path.normpath(base / value))
            if value in ("", ".", "/") or target == inputs.real_path(root) or not _inside(target, root):
                raise located(path, ("project", key), f"{key} {value!r} must be a directory inside the project")
            project[key] = str(target)
    if "default-component-config" in raw:
        _absolutize_component(raw["default-component-config"], path, root, ("default-component-config",))
    for name, distro in raw.get("distros", {}).items():
        for version, table in distro.get("versions", {}).items():
            keys = ("distros", name, "versions", version)
            for key in ("mock-config", "mock-config-x86_64", "mock-config-aarch64"):
                if key in table:
                    table[key] = _confined(table[key], path, root, (*keys, key))
            if "default-component-config" in table:
                _absolutize_component(
                    table["default-component-config"], path, root, (*keys, "default-component-config")
                )
    for name, table in raw.get("components", {}).items():
        _absolutize_component(table, path, root, ("components", name))
    for name, group in raw.get("component-groups", {}).items():
        group["specs"] = [str(base / p) for p in group.get("specs", [])]
        group["excluded-paths"] = [str(base / p) for p in group.get("excluded-paths", [])]
        if "default-component-config" in group:
            _absolutize_component(group["default-component-config"], path, root,
                                  ("component-groups", name, "default-component-config"))
    for name, image in raw.get("images", {}).items():
        definition = image.get("definition", {})
        if "path" in definition:
            definition["path"] = _confined(definition["path"], path, root, ("images", name, "definition", "path"))


def _absolutize_component(table: dict[str, Any], path: Path, root: Path, keys: tuple[Any, ...]) -> None:
    if not table:
        return
    spec = table.get("spec", {})
    if "path" in spec:
        spec["path"] = _confined(spec["path"], path, root, (*keys, "spec", "path"))
    for index, overlay in enumerate(table.get("overlays", [])):
        if "source" in overlay:
            overlay["source"] = _confined(overlay["source"], path, root, (*keys, "overlays", index, "source"))
    if "overlay-files" in table:
        table["overlay-files"] = [
            _confined(pattern, path, root, (*keys, "overlay-files", index), glob=True)
            for index, pattern in enumerate(table["overlay-files"])
        ]


def _confined(value: str, path: Path, root: Path, keys: tuple[Any, ...], *, glob: bool = False) -> str:
    target = os.path.normpath(os.path.join(path.parent, value))
    check = split_absolute(target)[0] if glob else target
    if not _inside(Path(check), root):
        raise located(path, keys, f"path {value!r} leads outside the project ({root})")
    return target


def load_overlay_file(path: Path, root: Path) -> OverlayFile:
    """Read a per-file overlay document; its ``source`` paths resolve against the document itself."""
    raw = parse_toml(path)
    if not raw:
        raise ConfigError("an overlay file must not be empty", where=Location(path, 1))
    try:
        model = OverlayFile.model_validate(raw)
    except ValidationError as exc:
        raise from_validation(exc, path, OverlayFile) from exc
    overlays = []
    for index, (overlay, table) in enumerate(zip(model.overlays, raw["overlays"], strict=True)):
        update: dict[str, Any] = {"metadata": model.metadata}
        if "source" in table:
            update["source"] = _confined(table["source"], path, root, ("overlays", index, "source"))
        overlays.append(overlay.model_copy(update=update))
    return model.model_copy(update={"overlays": overlays})
