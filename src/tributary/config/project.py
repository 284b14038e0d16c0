"""The loaded project: every file merged by azldev's per-table rules, components resolved on demand.

``load_project`` is the one entry point later stages use. Resolution of a component walks the
inheritance layers (distro version default -> project default -> groups in name order -> the
component -> its overlay files) and is cached, so resolving all 7,600 components of a distribution
costs little more than parsing its files.
"""

from __future__ import annotations

import fnmatch
import functools
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tributary.config import merge
from tributary.config.diagnostics import did_you_mean, dotted, from_validation, located
from tributary.config.loader import (
    ROOT_FILE,
    LoadedFile,
    find_project_root,
    load_files,
    load_overlay_file,
)
from tributary.config.locate import find_line
from tributary.config.model import (
    AuditConfig,
    ComponentConfig,
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
from tributary.errors import ConfigError, Location
from tributary.globbing import glob_files, has_magic, match, split_absolute, unescape

# Where azldev puts project directories that the configuration leaves unset (relative to the project).
DEFAULT_DIRS = {
    "log-dir": "build/logs",
    "work-dir": "build/work",
    "output-dir": "out",
    "lock-dir": "locks",
    "rendered-specs-dir": "specs",
}

_STRICT_UNION = ("components", "component-groups", "images", "package-groups", "test-suites")
_OVERRIDE = ("project", "default-package-config", "tools")


@dataclass(frozen=True)
class Origin:
    """Where a table was written: the file and the key path inside it (line found lazily)."""

    path: Path
    keys: tuple[Any, ...]

    def location(self, *sub: Any) -> Location:
        return Location(self.path, find_line(self.path, (*self.keys, *sub)))

    def __str__(self) -> str:
        return str(self.location())


@dataclass(frozen=True)
class Layer:
    """One inheritance layer of a component's configuration."""

    label: str
    raw: dict[str, Any]
    origin: Origin | None


@dataclass(frozen=True)
class UpstreamRef:
    """The fully resolved upstream of a component: distro, version and the version's settings."""

    distro: str
    version: str
    snapshot: str | None
    settings: DistroVersion
    distro_settings: Distro


@dataclass(frozen=True, slots=True)
class ResolvedComponent:
    """A component after inheritance: what every later stage reads."""

    name: str
    config: ComponentConfig
    groups: tuple[str, ...]
    origin: Origin | None
    upstream: UpstreamRef | None
    rendered_specs_dir: Path

    @property
    def rendered_dir(self) -> Path:
        """``<rendered-specs-dir>/<first letter, lowercased>/<name>``, as azldev lays it out."""
        return self.rendered_specs_dir / self.name[0].lower() / self.name

    @property
    def spec_type(self) -> str:
        return self.config.spec.type if self.config.spec else ""

    @property
    def local_spec(self) -> Path | None:
        spec = self.config.spec
        return Path(spec.path) if spec and spec.type == "local" and spec.path else None

    @property
    def release_calculation(self) -> str:
        release = self.config.release
        return (release.calculation if release and release.calculation else None) or "auto"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "specType": self.spec_type,
            "groups": list(self.groups),
            "renderedSpecDir": str(self.rendered_dir),
            "releaseCalculation": self.release_calculation,
        }
        if self.upstream:
            data["upstreamDistro"] = {
                "name": self.upstream.distro,
                "version": self.upstream.version,
                **({"snapshot": self.upstream.snapshot} if self.upstream.snapshot else {}),
            }
        if self.origin:
            data["definedIn"] = str(self.origin.location())
        data["config"] = self.config.to_json()
        return data


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
    _resolved: dict[str, ResolvedComponent] = field(default_factory=dict, repr=False)
    _shared_resolution: dict[tuple[str, ...], tuple[ComponentConfig, UpstreamRef | None]] = field(
        default_factory=dict, repr=False
    )

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

    def layers(self, name: str) -> list[Layer]:
        """The inheritance layers of one component, lowest first (overlay files not yet expanded)."""
        result: list[Layer] = []
        if self.default_distro is not None:
            distro, version, settings = self.default_distro
            if settings.default_component_config is not None:
                raw = self._distro_version_raw(distro, version)
                result.append(Layer(f"distro {distro} {version} default", raw[0], raw[1]))
        if self.default_component_config:
            result.append(Layer("project default", self.default_component_config, self._default_origin()))
        for group in self.groups_of(name):
            raw_group = self.group_tables[group].get("default-component-config")
            if raw_group is not None:
                origin = self.group_origins[group]
                result.append(
                    Layer(f"group {group}", raw_group, Origin(origin.path, (*origin.keys, "default-component-config")))
                )
        result.append(Layer("component", self.component_tables[name], self.component_origins.get(name)))
        return result

    def resolve(self, name: str) -> ResolvedComponent:
        """The effective configuration of a component, validated, with its upstream resolved."""
        cached = self._resolved.get(name)
        if cached is not None:
            return cached
        if name not in self.component_tables:
            raise ConfigError(f"unknown component {name!r}" + did_you_mean(name, self.component_tables))
        origin = self.component_origins.get(name)
        groups = self.groups_of(name)
        own = self.component_tables[name]
        # Bare components with the same group membership share one resolved configuration.
        shared_key = groups if not own else None
        shared = self._shared_resolution.get(shared_key) if shared_key is not None else None
        if shared is None:
            config = self._merge_layers(name, self.layers(name))
            upstream = self._upstream_of(name, config, origin)
            if shared_key is not None:
                self._shared_resolution[shared_key] = (config, upstream)
        else:
            config, upstream = shared
        resolved = ResolvedComponent(
            name=name,
            config=config,
            groups=groups,
            origin=origin,
            upstream=upstream,
            rendered_specs_dir=self.rendered_specs_dir,
        )
        self._resolved[name] = resolved
        return resolved

    def resolve_all(self) -> list[ResolvedComponent]:
        return [self.resolve(name) for name in self.component_names]

    def _merge_layers(self, name: str, layers: list[Layer], trace: merge.Trace | None = None) -> ComponentConfig:
        merged: dict[str, Any] = {}
        for index, layer in enumerate(layers):
            merged = merge.merge_component(merged, layer.raw, trace=trace, layer_index=index)
        overlay_files = merged.get("overlay-files") or []
        try:
            config = ComponentConfig.model_validate(merged)
        except ValidationError as exc:
            origin = self.component_origins.get(name)
            if origin is None:
                raise ConfigError(f"component {name!r}: {exc}") from exc
            raise from_validation(exc, origin.path, ComponentConfig, origin.keys) from exc
        if overlay_files:
            extra = [o for doc in self._overlay_documents(name, overlay_files) for o in doc.overlays]
            config = config.model_copy(update={"overlays": [*config.overlays, *extra]})
        return config

    def _overlay_documents(self, name: str, patterns: list[str]) -> list[Any]:
        return [load_overlay_file(path, self.root) for path in self._overlay_document_paths(name, patterns)]

    def _overlay_document_paths(self, name: str, patterns: list[str]) -> list[Path]:
        """Overlay files in declaration order; within a glob, sorted by basename then path; no repeats."""
        seen: set[Path] = set()
        documents: list[Path] = []
        origin = self.component_origins.get(name)
        for index, pattern in enumerate(patterns):
            if has_magic(pattern):
                static, rest = split_absolute(pattern)
                found = sorted(glob_files(Path(static), rest), key=lambda p: (p.name, str(p)))
            else:
                target = Path(unescape(pattern))
                if not target.is_file():
                    where = origin.location("overlay-files", index) if origin else None
                    raise ConfigError(f"overlay file {pattern!r} does not exist", where=where)
                found = [target]
            for path in found:
                if path not in seen:
                    seen.add(path)
                    documents.append(path)
        return documents

    def trace(self, name: str) -> dict[str, str]:
        """For ``comp query -v``: each resolved key, and the ``file:line`` (or layer) that set it."""
        layers = self.layers(name)
        recorded: merge.Trace = {}
        self._merge_layers(name, layers, trace=recorded)
        result: dict[str, str] = {}
        for keys, (index, local) in sorted(recorded.items(), key=lambda item: dotted(item[0])):
            layer = layers[index]
            place = str(layer.origin.location(*local)) if layer.origin else layer.label
            result[dotted(keys)] = f"{place} ({layer.label})"
        return result

    def overlay_location(self, name: str, index: int) -> Location | str:
        """Where overlay ``index`` of a resolved component was written: ``file:line``."""
        layers = self.layers(name)
        recorded: merge.Trace = {}
        merged = self._merge_layers(name, layers, trace=recorded)
        if ("overlays", index) in recorded:
            layer_index, local = recorded[("overlays", index)]
            origin = layers[layer_index].origin
            return origin.location(*local) if origin else layers[layer_index].label
        inline = sum(1 for key in recorded if len(key) == 2 and key[0] == "overlays")
        position = index - inline
        for document in self._overlay_document_paths(name, merged.overlay_files or []):
            count = len(load_overlay_file(document, self.root).overlays)
            if position < count:
                return Location(document, find_line(document, ("overlays", position)))
            position -= count
        return f"overlay #{index + 1}"

    def _upstream_of(self, name: str, config: ComponentConfig, origin: Origin | None) -> UpstreamRef | None:
        spec = config.spec
        if spec is None or spec.type != "upstream":
            return None
        ref = spec.upstream_distro
        try:
            if ref is None or not ref.name:
                raise ConfigError(f"component {name!r} is upstream but names no upstream-distro")
            distro, version, settings = self.distro_version(ref.name, ref.version)
        except ConfigError as error:
            error.at(origin.location("spec") if origin else None)
            raise
        return UpstreamRef(distro, version, ref.snapshot, settings, self.distros[distro])

    def _default_origin(self) -> Origin | None:
        for loaded in self.files:
            if "default-component-config" in loaded.raw:
                return Origin(loaded.path, ("default-component-config",))
        return None

    @functools.cache  # noqa: B019 - one project, a handful of distro versions
    def _distro_version_raw(self, distro: str, version: str) -> tuple[dict[str, Any], Origin | None]:
        merged: dict[str, Any] = {}
        origin = None
        for loaded in self.files:
            table = loaded.raw.get("distros", {}).get(distro, {}).get("versions", {}).get(version, {})
            if "default-component-config" in table:
                merged = merge.merge_component(merged, table["default-component-config"])
                origin = Origin(loaded.path, ("distros", distro, "versions", version, "default-component-config"))
        return merged, origin

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


# ---------------------------------------------------------------------------------------------------
# Loading


def load_project(start: Path | None = None, *, extra_files: list[Path] | None = None) -> Project:
    """Find, read, merge and check a project; raise ConfigError naming file:line on any problem."""
    root = (
        find_project_root(start or Path.cwd())
        if start is None or not (start / ROOT_FILE).is_file()
        else start.resolve()
    )
    files = load_files(root / ROOT_FILE, root, extra_files)
    project = _merge_files(root, files)
    _discover_group_specs(project)
    _validate(project)
    return project


def _merge_files(root: Path, files: list[LoadedFile]) -> Project:
    override: dict[str, dict[str, Any]] = {key: {} for key in _OVERRIDE}
    distros: dict[str, dict[str, Any]] = {}
    resources: dict[str, dict[str, Any]] = {"rpm-repos": {}, "rpm-repo-set-templates": {}, "rpm-repo-sets": {}}
    default_component: dict[str, Any] = {}
    audit: dict[str, Any] = {}
    unions: dict[str, dict[str, Any]] = {key: {} for key in _STRICT_UNION}
    origins: dict[str, dict[str, Origin]] = {key: {} for key in _STRICT_UNION}
    for loaded in files:
        raw = loaded.raw
        for key in _OVERRIDE:
            if key in raw:
                override[key] = merge.merge_override(override[key], raw[key])
        for name, table in raw.get("distros", {}).items():
            distros[name] = merge.merge_override(distros.get(name, {}), table)
        for kind, tables in raw.get("resources", {}).items():
            resources[kind].update(tables)  # by key, wholesale replacement
        if "default-component-config" in raw:
            default_component = merge.merge_component(default_component, raw["default-component-config"])
        if "audit" in raw:
            audit = _merge_audit(audit, raw["audit"])
        for key in _STRICT_UNION:
            for name, table in raw.get(key, {}).items():
                if name in unions[key]:
                    first = origins[key][name]
                    raise located(
                        loaded.path,
                        (key, name),
                        f"{_singular(key)} {name!r} is defined twice; first at {first.location()}",
                    )
                unions[key][name] = table
                origins[key][name] = Origin(loaded.path, (key, name))
    try:
        return Project(
            root=root,
            files=files,
            settings=ProjectSection.model_validate(override["project"]),
            distros={n: Distro.model_validate(t) for n, t in distros.items()},
            resources=Resources.model_validate(resources),
            default_component_config=default_component,
            default_package_config=PackageConfig.model_validate(override["default-package-config"]),
            tools=Tools.model_validate(override["tools"]),
            component_tables=unions["components"],
            component_origins=origins["components"],
            groups={n: ComponentGroup.model_validate(t) for n, t in unions["component-groups"].items()},
            group_tables=unions["component-groups"],
            group_origins=origins["component-groups"],
            images={n: Image.model_validate(t) for n, t in unions["images"].items()},
            image_origins=origins["images"],
            package_groups={n: PackageGroup.model_validate(t) for n, t in unions["package-groups"].items()},
            test_suites={n: TestSuite.model_validate(t) for n, t in unions["test-suites"].items()},
            audit=AuditConfig.model_validate(audit),
        )
    except ValidationError as exc:  # pragma: no cover - every file was validated on its own already
        raise ConfigError(f"merged configuration is invalid: {exc}") from exc


def _merge_audit(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    """``[audit]`` merges like an override table, except that waivers and the set-id allow-list of
    every file add up: a file that waives a finding must not drop another file's waivers."""
    added = {key: list(base.get(key, [])) + list(layer.get(key, [])) for key in ("waivers", "setuid-allow")
             if key in layer}
    return merge.merge_override(base, layer) | added


def _singular(key: str) -> str:
    return {"components": "component", "component-groups": "component group", "images": "image",
            "package-groups": "package group", "test-suites": "test suite"}[key]


def _discover_group_specs(project: Project) -> None:
    """Each ``X.spec`` a group's ``specs`` globs find becomes component X (a local spec) if not defined."""
    for name in sorted(project.groups):
        group = project.groups[name]
        found: set[str] = set()
        for pattern in group.specs:
            static, rest = split_absolute(pattern)
            for spec in glob_files(Path(static), rest, skip_dirs=(".git",)):
                if not spec.name.endswith(".spec") or _excluded(spec, group.excluded_paths):
                    continue
                component = spec.name[: -len(".spec")]
                found.add(component)
                if component not in project.component_tables:
                    project.component_tables[component] = {"spec": {"type": "local", "path": str(spec)}}
                    project.component_origins[component] = project.group_origins[name]
        project.discovered_groups[name] = found


def _excluded(path: Path, patterns: list[str]) -> bool:
    for pattern in patterns:
        static, rest = split_absolute(pattern)
        try:
            relative = os.path.relpath(path, static)
        except ValueError:
            continue
        if not relative.startswith("..") and match(rest, relative):
            return True
    return False


def _validate(project: Project) -> None:
    """Rules that need the whole project: references between tables resolve."""
    for name, group in project.groups.items():
        origin = project.group_origins[name]
        for index, member in enumerate(group.components):
            if member not in project.component_tables:
                raise ConfigError(
                    f"component group {name!r} lists unknown component {member!r}"
                    + did_you_mean(member, project.component_tables),
                    where=origin.location("components", index),
                )
    owner: dict[str, str] = {}
    for name, package_group in sorted(project.package_groups.items()):
        for package in package_group.packages:
            if package in owner:
                raise ConfigError(
                    f"package {package!r} is in package groups {owner[package]!r} and {name!r}; "
                    "a package belongs to at most one"
                )
            owner[package] = name
    for name, image in project.images.items():
        for index, suite in enumerate(image.tests.test_suites if image.tests else []):
            if suite.name not in project.test_suites:
                raise ConfigError(
                    f"image {name!r} names unknown test suite {suite.name!r}"
                    + did_you_mean(suite.name, project.test_suites),
                    where=project.image_origins[name].location("tests", "test-suites", index),
                )
    _ = project.default_distro  # an unknown default distro or version is reported at load time
    for name, distro in project.distros.items():
        if distro.default_version and distro.default_version not in distro.versions:
            where = next(
                (Location(f.path, find_line(f.path, ("distros", name, "default-version")))
                 for f in reversed(project.files) if "default-version" in f.raw.get("distros", {}).get(name, {})),
                None,
            )
            raise ConfigError(
                f"distro {name!r}: default-version {distro.default_version!r} is not among its versions"
                + did_you_mean(distro.default_version, distro.versions),
                where=where,
            )
    for name in project.component_names:
        table = project.component_tables[name]
        ref = table.get("spec", {}).get("upstream-distro")
        if ref and ref.get("name"):
            try:
                project.distro_version(ref["name"], ref.get("version"))
            except ConfigError as error:
                origin = project.component_origins[name]
                error.at(origin.location("spec", "upstream-distro", "name"))
                raise
