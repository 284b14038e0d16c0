"""All the downloaded sources of one component: upstream's ``sources`` file plus ``source-files``.

This is what the build stage calls after ``fetch_sources``. It follows azldev's rules: a
``source-files`` entry whose name is also in upstream's ``sources`` must say ``replace-upstream``
(and one that says so must replace something); a file with a known hash comes from the lookaside
first, then from ``origin.uri`` unless the distro sets ``disable-origins``; a file without a hash
can only come from its origin and is recorded under the SHA-512 it turned out to have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tributary.config import Project, ResolvedComponent
from tributary.config.model import Distro, OriginType, SourceFile
from tributary.errors import ConfigError
from tributary.upstream.distgit import package_name
from tributary.upstream.lookaside import (
    DEFAULT_JOBS,
    LookasideCache,
    Obtained,
    ProgressCallback,
    Wanted,
    already_there,
    cache_dir,
    lookaside_url,
    obtain_all,
    place,
    read_sources,
)


@dataclass(frozen=True)
class ComponentFiles:
    """What ``fetch_component_files`` did: files obtained, and ``source-files`` it left to others."""

    obtained: list[Obtained]
    pending: list[str] = field(default_factory=list)  # custom (built in mock) and overlay origins


def component_distro(project: Project, component: ResolvedComponent) -> Distro | None:
    """The distro whose lookaside serves the component: its upstream's, else the project default's."""
    if component.upstream is not None:
        return component.upstream.distro_settings
    default = project.default_distro
    return project.distros[default[0]] if default else None


def fetch_component_files(project: Project, component: ResolvedComponent, sources_dir: Path, dest: Path, *,
                          cache: LookasideCache | None = None, jobs: int = DEFAULT_JOBS,
                          progress: ProgressCallback | None = None, link: bool = False) -> ComponentFiles:
    """Every tarball and downloaded ``source-files`` entry of the component, verified, into ``dest``.

    ``sources_dir`` holds the component's fetched files (its ``sources`` file is read there). Nothing
    is written to ``dest`` unless every file was obtained.
    """
    cache = cache or LookasideCache(cache_dir(project))
    distro = component_distro(project, component)
    template = distro.lookaside_base_uri if distro else None
    origins_allowed = not (distro and distro.disable_origins)
    package = package_name(component)
    entries = read_sources(sources_dir)
    upstream_names = {entry.filename for entry in entries}
    wanted: list[Wanted] = []
    pending: list[str] = []
    replaced: set[str] = set()
    for index, item in enumerate(component.config.source_files):
        _check_collision(component, item, index, upstream_names)
        # An edited tarball (origin overlay) replaces upstream's only once the overlays ran: fetch the original.
        if item.replace_upstream and item.origin.type != OriginType.OVERLAY.value:
            replaced.add(item.filename)
        if item.origin.type != "download":
            pending.append(item.filename)
            continue
        hash_type = item.hash_type.lower() if item.hash and item.hash_type else None
        digest = item.hash.lower() if item.hash else None
        if hash_type and digest and already_there(dest / item.filename, hash_type, digest):
            continue
        urls = []
        if template and hash_type and digest:
            urls.append(lookaside_url(template, package, item.filename, hash_type, digest))
        if origins_allowed and item.origin.uri:
            urls.append(item.origin.uri)
        if not urls:
            raise ConfigError(
                f"component {component.name!r}: source file {item.filename!r} has no hash, and the distro "
                "sets disable-origins", where=_where(component, index),
                hint="record its hash so it can come from the lookaside")
        wanted.append(Wanted(item.filename, hash_type, digest, tuple(urls)))
    for entry in entries:
        if entry.filename in replaced or already_there(dest / entry.filename, entry.hash_type, entry.digest):
            continue
        urls = [lookaside_url(template, package, entry.filename, entry.hash_type, entry.digest)] if template else []
        wanted.append(Wanted(entry.filename, entry.hash_type, entry.digest, tuple(urls)))
    obtained = obtain_all(cache, wanted, jobs=jobs, progress=progress)
    place(obtained, dest, link=link)
    return ComponentFiles(obtained, pending)


def _check_collision(component: ResolvedComponent, item: SourceFile, index: int, upstream: set[str]) -> None:
    if item.filename in upstream and not item.replace_upstream:
        raise ConfigError(
            f"component {component.name!r}: source file {item.filename!r} is also in upstream's sources file",
            where=_where(component, index), hint="set replace-upstream = true (with replace-reason) to replace it")
    if item.replace_upstream and item.filename not in upstream:
        raise ConfigError(
            f"component {component.name!r}: source file {item.filename!r} says replace-upstream, but upstream's "
            "sources file has no such file", where=_where(component, index))


def _where(component: ResolvedComponent, index: int):
    return component.origin.location("source-files", index) if component.origin else None
