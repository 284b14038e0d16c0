"""The loaded project: every table of its files after azldev's cross-file merge rules.

``load_project`` (``config.load``) makes it; components are resolved on demand (``config.resolve``) and
traced back to the lines that set them (``config.trace``).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tributary.config import trace
from tributary.config.diagnostics import did_you_mean
from tributary.config.loader import LoadedFile
from tributary.config.locate import Origin, find_line
from tributary.config.model import (
    AuditConfig,
    ComponentGroup,
    Distro,
    DistroVersion,
    Image,
    PackageConfig,
    PackageGroup,
    ProjectSection,
    Resources,
    TestSuite,
    Tools,
)
from tributary.config.resolve import Layer, ResolvedComponent, Resolver, UpstreamRef
from tributary.errors import ConfigError, Location

__all__ = ["DEFAULT_DIRS", "Origin", "Project", "ResolvedComponent", "UpstreamRef"]

# Where azldev puts project directories that the configuration leaves unset (relative to the project).
DEFAULT_DIRS = {
    "log-dir": "build/logs",
    "work-dir": "build/work",
    "output-dir": "out",
    "lock-dir": "locks",
    "rendered-specs-dir": "specs",
}


@dataclass(eq=False)
class Project:
    """Every table of the project after the cross-file merge rules."""

    root: Path
    files: list[LoadedFile]
    settings: ProjectSection
    distros: dict[str, Distro]
    resources: Resources
    default_component_config: dict[str, Any]
    default_package_config: PackageConfig
    tools: Tools
    component_tables: dict[str, dict[str, Any]]
    component_origins: dict[str, Origin]
    groups: dict[str, ComponentGroup]
    group_tables: dict[str, dict[str, Any]]
    group_origins: dict[str, Origin]
    images: dict[str, Image]
    image_origins: dict[str, Origin]
    package_groups: dict[str, PackageGroup]
    test_suites: dict[str, TestSuite]
    audit: AuditConfig = field(default_factory=AuditConfig)
    discovered_groups: dict[str, set[str]] = field(default_factory=dict)
    permissive: bool = False
    """Loaded with unknown keys left out (``--permissive-config``): processes that load it again do the same."""
    warnings: list[ConfigError] = field(default_factory=list)
    """What the loader passed over that may drop components: an include glob matching no file, a
    symbolic link a glob does not follow (``load_project(strict=True)`` makes them errors)."""

    # -- directories ------------------------------------------------------------------------------
    def directory(self, key: str) -> Path:
        """A project directory (``output-dir``...), absolute; azldev's default when unset."""
        value = getattr(self.settings, key.replace("-", "_"))
        return Path(value) if value else self.root / DEFAULT_DIRS[key]

    @cached_property
    def output_dir(self) -> Path:
        return self.directory("output-dir")

    @cached_property
    def rendered_specs_dir(self) -> Path:
        return self.directory("rendered-specs-dir")

    @cached_property
    def lock_dir(self) -> Path:
        return self.directory("lock-dir")

    @cached_property
    def work_dir(self) -> Path:
        return self.directory("work-dir")

    @cached_property
    def log_dir(self) -> Path:
        return self.directory("log-dir")

    # -- distros ------------------------------------------------------------------------------------
    @cached_property
    def default_distro(self) -> tuple[str, str, DistroVersion] | None:
        """The project's build target (name, version, settings), from ``project.default-distro``."""
        ref = self.settings.default_distro
        if ref is None or not ref.name:
            return None
        try:
            return self.distro_version(ref.name, ref.version)
        except ConfigError as error:
            error.at(self._project_origin("default-distro"))
            raise

    def distro_version(
        self, name: str, version: str | None, where: Location | None = None
    ) -> tuple[str, str, DistroVersion]:
        distro = self.distros.get(name)
        if distro is None:
            raise ConfigError(f"unknown distro {name!r}" + did_you_mean(name, self.distros), where=where)
        chosen = version or distro.default_version
        if not chosen:
            raise ConfigError(f"distro {name!r} has no default-version; name a version", where=where)
        settings = distro.versions.get(chosen)
        if settings is None:
            raise ConfigError(
                f"distro {name!r} has no version {chosen!r}" + did_you_mean(chosen, distro.versions), where=where
            )
        return name, chosen, settings

    def _project_origin(self, key: str) -> Location | None:
        for loaded in reversed(self.files):
            if key in loaded.raw.get("project", {}):
                return Location(loaded.path, find_line(loaded.path, ("project", key)))
        return None

    # -- components ---------------------------------------------------------------------------------
    @property
    def component_names(self) -> list[str]:
        return sorted(self.component_tables)

    def groups_of(self, name: str) -> tuple[str, ...]:
        """The groups a component belongs to, in name order (the order their defaults apply)."""
        return self._membership.get(name, ())

    @cached_property
    def _membership(self) -> dict[str, tuple[str, ...]]:
        index: dict[str, list[str]] = {}
        for group in sorted(self._group_members):
            for member in self._group_members[group]:
                index.setdefault(member, []).append(group)
        return {member: tuple(groups) for member, groups in index.items()}

    @cached_property
    def _group_members(self) -> dict[str, set[str]]:
        members = {name: set(group.components) for name, group in self.groups.items()}
        for name, found in self.discovered_groups.items():
            members.setdefault(name, set()).update(found)
        return members

    @cached_property
    def resolver(self) -> Resolver:
        return Resolver(self)

    def layers(self, name: str) -> list[Layer]:
        """The inheritance layers of one component, lowest first (see ``config.resolve``)."""
        return self.resolver.layers(name)

    def resolve(self, name: str) -> ResolvedComponent:
        """The effective configuration of a component, validated, with its upstream resolved."""
        return self.resolver.resolve(name)

    def resolve_all(self) -> list[ResolvedComponent]:
        return [self.resolve(name) for name in self.component_names]

    def trace(self, name: str) -> dict[str, str]:
        """For ``comp query -v``: each resolved key, and the ``file:line`` (or layer) that set it."""
        return trace.trace(self, name)

    def overlay_location(self, name: str, index: int) -> Location | str:
        """Where overlay ``index`` of a resolved component was written: ``file:line``."""
        return trace.overlay_location(self, name, index)

    def to_json(self) -> dict[str, Any]:
        """The fully merged configuration, components resolved, paths absolute (``config dump``)."""
        default = self.default_distro
        return {
            "projectDir": str(self.root),
            "configFiles": [str(f.path) for f in self.files],
            "project": {
                **self.settings.to_json(),
                **{_camel(key): str(self.directory(key)) for key in DEFAULT_DIRS},
            },
            "defaultDistro": {"name": default[0], "version": default[1]} if default else None,
            "distros": {name: distro.to_json() for name, distro in sorted(self.distros.items())},
            "resources": self.resources.to_json(),
            "defaultPackageConfig": self.default_package_config.to_json(),
            "components": {c.name: c.to_json() for c in self.resolve_all()},
            "componentGroups": {name: group.to_json() for name, group in sorted(self.groups.items())},
            "images": {name: image.to_json() for name, image in sorted(self.images.items())},
            "packageGroups": {name: group.to_json() for name, group in sorted(self.package_groups.items())},
            "testSuites": {name: suite.to_json() for name, suite in sorted(self.test_suites.items())},
            "tools": self.tools.to_json(),
            "audit": self.audit.to_json(),
        }

    # -- selection ------------------------------------------------------------------------------------
    def select(self, patterns: list[str], *, all_components: bool = False, group: str | None = None) -> list[str]:
        """Component names chosen by ``-a``, ``-g GROUP`` and name patterns (shell globs).

        A pattern without wildcards must name an existing component, so a typo is an error, not an
        empty result.
        """
        if all_components:
            return self.component_names
        chosen: set[str] = set()
        if group is not None:
            if group not in self.groups:
                raise ConfigError(f"unknown component group {group!r}" + did_you_mean(group, self.groups))
            chosen.update(self._group_members.get(group, set()))
        for pattern in patterns:
            if any(char in pattern for char in "*?["):
                chosen.update(fnmatch.filter(self.component_tables, pattern))
            elif pattern in self.component_tables:
                chosen.add(pattern)
            else:
                raise ConfigError(f"unknown component {pattern!r}" + did_you_mean(pattern, self.component_tables))
        return sorted(chosen)


def _camel(key: str) -> str:
    head, *rest = key.split("-")
    return head + "".join(part.title() for part in rest)
