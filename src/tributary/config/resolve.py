"""Resolving a component: its inheritance layers merged by azldev's rules, validated, its upstream found.

The layers, lowest first: the target distro version's ``default-component-config``, the project's,
each group's in name order, the component's own table; then its overlay files add overlays. A
resolution is cached per component, and bare components (no table of their own) with the same group
membership share one, so resolving all 7,600 components of a distribution costs little more than
parsing its files.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from tributary.config import merge
from tributary.config.diagnostics import did_you_mean, from_validation
from tributary.config.loader import load_overlay_file
from tributary.config.locate import Origin
from tributary.config.model import ComponentConfig, Distro, DistroVersion, OverlayFile
from tributary.errors import ConfigError
from tributary.globbing import glob_files, has_magic, split_absolute, unescape

if TYPE_CHECKING:
    from tributary.config.project import Project


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
        return Path(self.rendered_dir_text)

    @property
    def rendered_dir_text(self) -> str:
        """``rendered_dir`` as text, for listing thousands of components (a ``Path`` costs more)."""
        return f"{self.rendered_specs_dir}/{self.name[0].lower()}/{self.name}"

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

    def to_json(self, config: dict[str, Any] | None = None) -> dict[str, Any]:
        """The component as azldev prints it (``name``, the resolved configuration's keys, camelCase, and
        ``renderedSpecDir``), then what tributary adds (spec type, groups, upstream, where it is defined).

        ``config`` is ``self.config.to_json()`` when the caller has it already: thousands of bare
        components share one configuration.
        """
        data: dict[str, Any] = {
            "name": self.name,
            **(self.config.to_json() if config is None else config),
            "renderedSpecDir": self.rendered_dir_text,
            "specType": self.spec_type,
            "groups": list(self.groups),
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
        return data


@dataclass(eq=False)
class Resolver:
    """Resolves the components of one project, caching every result."""

    project: Project
    _resolved: dict[str, ResolvedComponent] = field(default_factory=dict, repr=False)
    _shared: dict[tuple[str, ...], tuple[ComponentConfig, UpstreamRef | None]] = field(
        default_factory=dict, repr=False
    )

    def layers(self, name: str) -> list[Layer]:
        """The inheritance layers of one component, lowest first (overlay files not yet expanded)."""
        result: list[Layer] = []
        if self.project.default_distro is not None:
            distro, version, settings = self.project.default_distro
            if settings.default_component_config is not None:
                raw = self._distro_version_raw(distro, version)
                result.append(Layer(f"distro {distro} {version} default", raw[0], raw[1]))
        if self.project.default_component_config:
            result.append(Layer("project default", self.project.default_component_config, self._default_origin()))
        for group in self.project.groups_of(name):
            raw_group = self.project.group_tables[group].get("default-component-config")
            if raw_group is not None:
                origin = self.project.group_origins[group]
                result.append(
                    Layer(f"group {group}", raw_group, Origin(origin.path, (*origin.keys, "default-component-config")))
                )
        result.append(Layer("component", self.project.component_tables[name], self.project.component_origins.get(name)))
        return result

    def resolve(self, name: str) -> ResolvedComponent:
        """The effective configuration of a component, validated, with its upstream resolved."""
        cached = self._resolved.get(name)
        if cached is not None:
            return cached
        if name not in self.project.component_tables:
            raise ConfigError(f"unknown component {name!r}" + did_you_mean(name, self.project.component_tables))
        origin = self.project.component_origins.get(name)
        groups = self.project.groups_of(name)
        own = self.project.component_tables[name]
        # Bare components with the same group membership share one resolved configuration.
        shared_key = groups if not own else None
        shared = self._shared.get(shared_key) if shared_key is not None else None
        if shared is None:
            config = self.merge_layers(name, self.layers(name))
            upstream = self._upstream_of(name, config, origin)
            if shared_key is not None:
                self._shared[shared_key] = (config, upstream)
        else:
            config, upstream = shared
        resolved = ResolvedComponent(
            name=name,
            config=config,
            groups=groups,
            origin=origin,
            upstream=upstream,
            rendered_specs_dir=self.project.rendered_specs_dir,
        )
        self._resolved[name] = resolved
        return resolved

    def merge_layers(self, name: str, layers: list[Layer], trace: merge.Trace | None = None) -> ComponentConfig:
        merged: dict[str, Any] = {}
        for index, layer in enumerate(layers):
            merged = merge.merge_component(merged, layer.raw, trace=trace, layer_index=index)
        overlay_files = merged.get("overlay-files") or []
        try:
            config = ComponentConfig.model_validate(merged)
        except ValidationError as exc:
            origin = self.project.component_origins.get(name)
            if origin is None:
                raise ConfigError(f"component {name!r}: {exc}") from exc
            raise from_validation(exc, origin.path, ComponentConfig, origin.keys) from exc
        if overlay_files:
            extra = [o for doc in self._overlay_documents(name, overlay_files) for o in doc.overlays]
            config = config.model_copy(update={"overlays": [*config.overlays, *extra]})
        return config

    def _overlay_documents(self, name: str, patterns: list[str]) -> list[OverlayFile]:
        return [load_overlay_file(path, self.project.root) for path in self.overlay_document_paths(name, patterns)]

    def overlay_document_paths(self, name: str, patterns: list[str]) -> list[Path]:
        """Overlay files in declaration order; within a glob, sorted by basename then path; no repeats."""
        seen: set[Path] = set()
        documents: list[Path] = []
        origin = self.project.component_origins.get(name)
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

    def _upstream_of(self, name: str, config: ComponentConfig, origin: Origin | None) -> UpstreamRef | None:
        spec = config.spec
        if spec is None or spec.type != "upstream":
            return None
        ref = spec.upstream_distro
        try:
            if ref is None or not ref.name:
                raise ConfigError(f"component {name!r} is upstream but names no upstream-distro")
            distro, version, settings = self.project.distro_version(ref.name, ref.version)
        except ConfigError as error:
            error.at(origin.location("spec") if origin else None)
            raise
        return UpstreamRef(distro, version, ref.snapshot, settings, self.project.distros[distro])

    def _default_origin(self) -> Origin | None:
        for loaded in self.project.files:
            if "default-component-config" in loaded.raw:
                return Origin(loaded.path, ("default-component-config",))
        return None

    @functools.cache  # noqa: B019 - one project, a handful of distro versions
    def _distro_version_raw(self, distro: str, version: str) -> tuple[dict[str, Any], Origin | None]:
        merged: dict[str, Any] = {}
        origin = None
        for loaded in self.project.files:
            table = loaded.raw.get("distros", {}).get(distro, {}).get("versions", {}).get(version, {})
            if "default-component-config" in table:
                merged = merge.merge_component(merged, table["default-component-config"])
                origin = Origin(loaded.path, ("distros", distro, "versions", version, "default-component-config"))
        return merged, origin

