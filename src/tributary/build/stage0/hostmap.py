"""The host map (``hostmap.toml``): which host packages become which Fedora-named stage-0 RPM.

The one reader of that file. The map is data, documented in the file itself and in docs/BUILD.md;
this module checks it (unknown keys, patterns that do not compile, a package claimed by nothing) and
answers the questions the planner asks: which RPM takes a host package, which packages start the
closure, which are left out and why.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

from pydantic import Field, ValidationError, field_validator

from tributary.config.diagnostics import from_validation, located
from tributary.config.model import Model
from tributary.errors import ConfigError

DEFAULT_PATH = Path(__file__).with_name("hostmap.toml")
FORMAT = 1
_DIR_ENTRY = re.compile(r"^(?P<mode>[0-7]{3,4}) (?P<path>/\S*)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class PackageEntry(Model):
    """One ``[packages.NAME]`` table: an RPM of the stage-0 repository."""

    summary: str | None = None
    debian: tuple[str, ...] = ()
    seeds: tuple[str, ...] = ()
    optional_seeds: tuple[str, ...] = ()
    version_from: str | None = None
    version: str | None = None
    same_version_as: str | None = None
    epoch: int | None = Field(default=None, ge=0)
    provides: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    dirs: tuple[str, ...] = ()
    links: dict[str, str] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict)
    scriptlets: dict[str, str] = Field(default_factory=dict)
    expect: tuple[str, ...] = ()

    @field_validator("debian", "version_from")
    @classmethod
    def _patterns_compile(cls, value: tuple[str, ...] | str | None) -> tuple[str, ...] | str | None:
        for pattern in (value,) if isinstance(value, str) else value or ():
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"{pattern!r} is not a regular expression: {error}") from None
        return value

    @field_validator("dirs")
    @classmethod
    def _dirs_have_modes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if not _DIR_ENTRY.match(entry):
                raise ValueError(f"{entry!r} is not 'MODE /path' (e.g. '0755 /usr/bin')")
        return value

    @field_validator("links", "files")
    @classmethod
    def _absolute_paths(cls, value: dict[str, str]) -> dict[str, str]:
        for path in value:
            if not path.startswith("/") or ".." in path.split("/"):
                raise ValueError(f"{path!r} must be an absolute path without '..'")
        return value

    def matches(self, debian_name: str) -> bool:
        return any(re.fullmatch(pattern, debian_name) for pattern in self.debian)

    @property
    def directories(self) -> list[tuple[str, int]]:
        """``dirs`` as (path, mode) pairs."""
        found = []
        for entry in self.dirs:
            match = _DIR_ENTRY.match(entry)
            assert match is not None  # checked on load
            found.append((match["path"], int(match["mode"], 8)))
        return found


class Group(Model):
    """A comps group of the repository (``[groups.ID]``)."""

    name: str
    description: str = ""
    packages: tuple[str, ...]


class HostMap(Model):
    """The whole map, as read from one file; ``digest`` is its content's sha256 (part of the cache key)."""

    format: int
    unnamed: str
    release_prefix: str
    exclude: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    host_only: dict[str, str] = Field(default_factory=dict)
    groups: dict[str, Group] = Field(default_factory=dict)
    packages: dict[str, PackageEntry]
    digest: str = ""
    path: Path | None = None

    def owner(self, debian_name: str) -> str | None:
        """The RPM a host package goes into: the first entry matching it, else ``unnamed``; None for host-only."""
        if debian_name in self.host_only:
            return None
        return next((name for name, entry in self.packages.items() if entry.matches(debian_name)), self.unnamed)


def load(path: Path = DEFAULT_PATH) -> HostMap:
    """Read and check the map at ``path``; a ConfigError naming file and line when it is wrong."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read the stage-0 host map: {error.strerror}", where=str(path)) from None
    try:
        data = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"not valid TOML: {error}", where=str(path)) from None
    try:
        hostmap = HostMap.model_validate({**data, "digest": hashlib.sha256(raw).hexdigest(), "path": path})
    except ValidationError as error:
        raise from_validation(error, path, HostMap) from None
    _check(hostmap, path)
    return hostmap


def _check(hostmap: HostMap, path: Path) -> None:
    if hostmap.format != FORMAT:
        raise located(path, ["format"],
                      f"format {hostmap.format} is not supported (this tributary reads format {FORMAT})")
    names = [*hostmap.packages, hostmap.unnamed]
    for name in names:
        if not _NAME.match(name):
            raise located(path, ["packages", name], f"{name!r} is not a valid RPM name")
    if hostmap.unnamed in hostmap.packages:
        raise located(path, ["unnamed"], f"{hostmap.unnamed!r} is also a [packages] entry")
    for name, entry in hostmap.packages.items():
        if not entry.debian and entry.version is None and entry.same_version_as is None:
            raise located(path, ["packages", name], f"{name} has neither Debian packages nor a version")
        if entry.same_version_as is not None and not hostmap.packages.get(entry.same_version_as, entry).debian:
            raise located(path, ["packages", name, "same-version-as"],
                          f"{entry.same_version_as!r} is no [packages] entry with Debian packages")
        for seed in (*entry.seeds, *entry.optional_seeds):
            if hostmap.owner(seed) != name:
                raise located(path, ["packages", name, "seeds"],
                              f"seed {seed!r} would go into {hostmap.owner(seed)}, not {name}")
    for group_id, group in hostmap.groups.items():
        for member in group.packages:
            if member not in hostmap.packages:
                raise located(path, ["groups", group_id, "packages"], f"group {group_id} names {member!r}, "
                              "which is no [packages] entry")
