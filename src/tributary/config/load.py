"""Loading a project: find its root, read every file (``config.loader``), merge them table by table by
azldev's rules into one ``Project``, discover group specs, and check what needs the whole project.

``load_project`` is the one entry point later stages use; every problem is a ConfigError naming
``file:line``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tributary import inputs
from tributary.config import merge
from tributary.config.diagnostics import did_you_mean, located
from tributary.config.loader import ROOT_FILE, LoadedFile, find_project_root, load_files, skipped_link
from tributary.config.locate import Origin, find_line
from tributary.config.model import AuditConfig, ConfigFile, PackageConfig, ProjectSection, Resources, Tools
from tributary.config.project import Project
from tributary.errors import ConfigError, Location
from tributary.globbing import glob_files, match, split_absolute

# How each top-level table merges across files: a strict union (a name defined twice is an error),
# or an override (a later file's keys replace).
_STRICT_UNION = ("components", "component-groups", "images", "package-groups", "test-suites")
_OVERRIDE = ("project", "default-package-config", "tools")


def load_project(start: Path | None = None, *, extra_files: list[Path] | None = None,
                 permissive: bool = False, strict: bool = False) -> Project:
    """Find, read, merge and check a project; raise ConfigError naming file:line on any problem.

    ``permissive`` leaves unknown keys out instead (each file's ``ignored`` says which). What azldev
    passes over in silence (an include glob matching no file, a symbolic link a glob does not follow,
    so components go missing) is in ``project.warnings``; with ``strict`` it is an error.
    """
    root = (
        find_project_root(start or Path.cwd())
        if start is None or not inputs.is_file(start / ROOT_FILE)
        else inputs.real_path(start)
    )
    warnings: list[ConfigError] = []
    files = load_files(root / ROOT_FILE, root, extra_files, warnings, permissive=permissive)
    project = _merge_files(root, files)
    project.permissive = permissive
    _discover_group_specs(project, warnings)
    _validate(project)
    project.warnings = warnings
    if strict and warnings:
        raise ConfigError("\n".join(str(warning) for warning in warnings))
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
        # One validation of the merged tables through the validator the files were read with (building
        # a validator per table class would cost more than the tables themselves).
        merged = ConfigFile.model_validate({
            "project": override["project"],
            "distros": distros,
            "resources": resources,
            "default-package-config": override["default-package-config"],
            "tools": override["tools"],
            "component-groups": unions["component-groups"],
            "images": unions["images"],
            "package-groups": unions["package-groups"],
            "test-suites": unions["test-suites"],
            "audit": audit,
        })
    except ValidationError as exc:  # pragma: no cover - every file was validated on its own already
        raise ConfigError(f"merged configuration is invalid: {exc}") from exc
    return Project(
        root=root,
        files=files,
        settings=merged.project or ProjectSection(),
        distros=merged.distros,
        resources=merged.resources or Resources(),
        default_component_config=default_component,
        default_package_config=merged.default_package_config or PackageConfig(),
        tools=merged.tools or Tools(),
        component_tables=unions["components"],
        component_origins=origins["components"],
        groups=merged.component_groups,
        group_tables=unions["component-groups"],
        group_origins=origins["component-groups"],
        images=merged.images,
        image_origins=origins["images"],
        package_groups=merged.package_groups,
        test_suites=merged.test_suites,
        audit=merged.audit or AuditConfig(),
    )


def _merge_audit(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    """``[audit]`` merges like an override table, except that waivers and the set-id allow-list of
    every file add up: a file that waives a finding must not drop another file's waivers."""
    added = {key: list(base.get(key, [])) + list(layer.get(key, [])) for key in ("waivers", "setuid-allow")
             if key in layer}
    return merge.merge_override(base, layer) | added


def _singular(key: str) -> str:
    return {"components": "component", "component-groups": "component group", "images": "image",
            "package-groups": "package group", "test-suites": "test suite"}[key]


def _discover_group_specs(project: Project, warnings: list[ConfigError]) -> None:
    """Each ``X.spec`` a group's ``specs`` globs find becomes component X (a local spec) if not defined.

    Each symbolic link the globs pass over (a component directory that is a link) is a warning.
    """
    for name in sorted(project.groups):
        group = project.groups[name]
        found: set[str] = set()
        for index, pattern in enumerate(group.specs):
            static, rest = split_absolute(pattern)
            skipped: list[Path] = []
            specs = glob_files(Path(static), rest, skip_dirs=(".git",), skipped=skipped)
            warnings.extend(ConfigError(skipped_link(f"component group {name!r} specs", link, project.root),
                                        where=project.group_origins[name].location("specs", index))
                            for link in skipped if not _excluded(link, group.excluded_paths))
            for spec in specs:
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
