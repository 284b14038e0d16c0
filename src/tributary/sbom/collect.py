"""Gather the model (``tributary.sbom.model``) from the project, its locks, rendered components and outputs.

Everything here is read from what the pipeline already wrote: the lock's upstream commit and
fingerprint, the rendered ``sources`` file (the tarballs' pinned hashes, verified when the build
fetched them), the configuration's overlays (through ``render.changes``, the same report
``trib report changes`` prints), the build cache's record of a component's current outputs, RPM
headers, and for an image the root's rpmdb as ``image.rootfs`` already read it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from tributary.build.cache import BuildCache
from tributary.config import Project, ResolvedComponent
from tributary.errors import ConfigError, TribError
from tributary.image.rootfs import InstalledPackage, RootfsResult
from tributary.overlays.patches import PatchAdd
from tributary.overlays.tags import TagOverlay
from tributary.render.changes import ComponentChanges, component_changes
from tributary.repo.channels import component_for
from tributary.repo.publish import repo_root
from tributary.rpmfile import read_rpm
from tributary.sbom import hashes
from tributary.sbom.licenses import License, parse_license
from tributary.sbom.model import (
    Component,
    Distro,
    Image,
    LocalPatch,
    RpmPackage,
    SourceArchive,
    UpstreamOrigin,
)
from tributary.upstream.checkout import resolve_upstream
from tributary.upstream.distgit import dist_git_source, package_name
from tributary.upstream.fingerprint import file_sha256, input_fingerprint
from tributary.upstream.lock import lock_path, read_lock
from tributary.upstream.lookaside import lookaside_url, read_sources
from tributary.upstream.source_files import component_distro
from tributary.upstream.uri import redact

_VERSION_TAG = "version"


class SbomError(TribError):
    """An SBOM cannot be made: the component was not built, or an output cannot be read."""


def project_distro(project: Project) -> Distro:
    """The distribution the project ships: its default distro's name (the purl namespace) and version."""
    default = project.default_distro
    if default is None:
        return Distro(_slug(project.root.name), "0")
    name, version, _settings = default
    distro = project.distros.get(name)
    return Distro(name, version, (distro.description if distro else None) or name)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-") or "distro"


# --- RPM files -------------------------------------------------------------------------------------


def read_package(path: Path, *, channel: str | None = None) -> RpmPackage:
    """An RPM file's identity, license, file count and sha256 (signatures are not checked here)."""
    header = read_rpm(path)
    return RpmPackage(
        name=header.name,
        epoch=header.epoch or 0,
        version=header.version,
        release=header.release,
        arch=header.arch,
        filename=Path(path).name,
        sha256=file_sha256(Path(path)),
        license=parse_license(header.license),
        source_rpm=header.source_rpm,
        file_count=header.file_count,
        size=header.size,
        build_time=header.build_time,
        channel=channel,
        header_sha256=header.header_sha256,
    )


def split_srpm_name(filename: str) -> tuple[str, str, str]:
    """``greet-1.1-4.tribex10.src.rpm`` -> (``greet``, ``1.1``, ``4.tribex10``)."""
    stem = re.sub(r"\.(?:no)?src\.rpm$", "", filename)
    parts = stem.rsplit("-", 2)
    if len(parts) != 3:
        return stem, "", ""
    return parts[0], parts[1], parts[2]


# --- components ------------------------------------------------------------------------------------


def component_outputs(project: Project, name: str) -> list[Path]:
    """The SRPM and RPMs of the component's current build, as the build cache recorded them."""
    outputs = BuildCache(project).recorded(name)
    if not outputs:
        raise SbomError(f"component {name!r} has no current build (or its outputs changed since)",
                        hint=f"run 'trib build {name}' first")
    return outputs


def collect_component(project: Project, name: str, outputs: Sequence[Path] | None = None) -> Component:
    """The model of component ``name``, from ``outputs`` (default: its build cache record)."""
    component = project.resolve(name)
    files = list(outputs) if outputs is not None else component_outputs(project, name)
    packages = [read_package(path) for path in sorted(files, key=lambda p: p.name)]
    srpms = [p for p in packages if p.is_source]
    if len(srpms) != 1:
        raise SbomError(f"component {name!r}: expected one SRPM among its build outputs, found {len(srpms)}")
    srpm = srpms[0]
    rpms = tuple(sorted((p for p in packages if not p.is_source), key=lambda p: (p.name, p.arch)))
    return _component(project, component, srpm, rpms)


def _component(project: Project, component: ResolvedComponent, srpm: RpmPackage | None,
               rpms: tuple[RpmPackage, ...]) -> Component:
    changes = relative_locations(project, component_changes(project, component))
    lock = read_lock(lock_path(project.lock_dir, component.name))
    commit = lock.upstream_commit if lock else None
    if commit is None and component.spec_type == "upstream":
        commit = _resolved_commit(project, component)
    fingerprint = lock.input_fingerprint if lock else None
    if fingerprint is None:
        fingerprint = input_fingerprint(project, component, upstream_commit=commit, manual_bump=0)
    return Component(
        name=component.name,
        distro=project_distro(project),
        upstream=_upstream(component, commit, srpm),
        changes=changes,
        sources=_sources(project, component),
        patches=_patches(component),
        fingerprint=fingerprint,
        srpm=srpm,
        rpms=rpms,
    )


def _resolved_commit(project: Project, component: ResolvedComponent) -> str | None:
    """An unlocked component's commit, chosen offline from its mirror by the rule render used (pin, snapshot)."""
    try:
        return resolve_upstream(project, component, refresh=False).commit
    except TribError:
        return None


def relative_locations(project: Project, changes: ComponentChanges) -> ComponentChanges:
    """Overlay locations relative to the project, so a document does not depend on where it was checked out."""
    root = project.root.resolve()

    def relative(location: str) -> str:
        path, colon, line = location.rpartition(":")
        if not colon or not line.isdigit():
            path, line = location, ""
        try:
            path = Path(path).resolve().relative_to(root).as_posix()
        except (ValueError, OSError):
            return location
        return f"{path}:{line}" if line else path

    overlays = tuple(replace(o, location=relative(o.location)) for o in changes.overlays)
    return replace(changes, overlays=overlays)


def _upstream(component: ResolvedComponent, commit: str | None, srpm: RpmPackage | None) -> UpstreamOrigin | None:
    if component.upstream is None or component.spec_type != "upstream":
        return None
    try:
        where = dist_git_source(component)
    except ConfigError:
        return None
    overlays = component.config.overlays
    changes_version = any(isinstance(o, TagOverlay) and o.tag.lower() == _VERSION_TAG for o in overlays)
    version = srpm.version if srpm is not None and not changes_version else None
    return UpstreamOrigin(component.upstream.distro, component.upstream.version, where.package, redact(where.url),
                          where.branch, commit, version)


def _sources(project: Project, component: ResolvedComponent) -> tuple[SourceArchive, ...]:
    """The rendered ``sources`` file's tarballs, with the lookaside URL each was fetched from."""
    try:
        entries = read_sources(component.rendered_dir)
    except TribError:
        return ()
    distro = component_distro(project, component)
    template = distro.lookaside_base_uri if distro else None
    package = package_name(component)
    out = []
    for entry in entries:
        url = None
        if template:
            try:
                url = redact(lookaside_url(template, package, entry.filename, entry.hash_type, entry.digest))
            except TribError:
                url = None
        out.append(SourceArchive(entry.filename, entry.hash_type, entry.digest, url))
    return tuple(out)


def _patches(component: ResolvedComponent) -> tuple[LocalPatch, ...]:
    """Patch files the distribution adds: each ``patch-add`` overlay's, and a full fork's own ``*.patch``."""
    found: list[LocalPatch] = []
    for index, overlay in enumerate(component.config.overlays):
        if not isinstance(overlay, PatchAdd):
            continue
        filename = overlay.file_name
        candidates = [component.rendered_dir / filename, Path(overlay.source)]
        path = next((p for p in candidates if p.is_file()), None)
        if path is not None:
            found.append(_patch(path, filename, index + 1))
    if component.spec_type == "local":
        for path in sorted(component.rendered_dir.glob("*.patch")):
            found.append(_patch(path, path.name, None))
    return tuple(found)


def _patch(path: Path, filename: str, overlay: int | None) -> LocalPatch:
    data = path.read_bytes()
    return LocalPatch(filename, hashlib.sha256(data).hexdigest(), data.decode(errors="replace"), overlay)


# --- images ----------------------------------------------------------------------------------------


def collect_image(project: Project, rootfs: RootfsResult, *, version: str, kind: str) -> Image:
    """The model of an image from its finished root: every rpmdb package, and the components behind them."""
    root = repo_root(project)
    packages = tuple(_installed(package, root) for package in rootfs.packages)
    components: dict[str, Component] = {}
    for package in packages:
        source_name = split_srpm_name(package.source_rpm)[0]
        name = component_for(project, source_name) if package.source_rpm else None
        if name is None or name in components:
            continue
        components[name] = _component(project, project.resolve(name), _srpm(project, package.source_rpm), ())
    return Image(rootfs.image, version, project_distro(project), kind, rootfs.source_date_epoch, packages,
                 tuple(components[name] for name in sorted(components)))


def _installed(package: InstalledPackage, root: Path) -> RpmPackage:
    """A package of the rpmdb, completed from its RPM in the channel (source RPM, file count, header digest).

    The channel's file is used only when its sha256 is the one the package was installed from.
    """
    filename = f"{package.name}-{package.version}-{package.release}.{package.arch}.rpm"
    read = None
    if package.channel:
        path = root / package.channel / "Packages" / filename[0].lower() / filename
        if path.is_file():
            candidate = read_package(path, channel=package.channel)
            read = candidate if candidate.sha256 == package.sha256 else None
    return RpmPackage(package.name, int(package.epoch or 0), package.version, package.release, package.arch,
                      filename, package.sha256, parse_license(package.license),
                      read.source_rpm if read else package.source_rpm, read.file_count if read else None, None,
                      read.build_time if read else package.build_time, package.channel,
                      read.header_sha256 if read else None)


def _srpm(project: Project, filename: str) -> RpmPackage:
    """The SRPM an image package names: read from ``<output-dir>/srpms/`` when it is still there."""
    path = project.output_dir / "srpms" / filename
    if path.is_file():
        return read_package(path)
    name, version, release = split_srpm_name(filename)
    return RpmPackage(name, 0, version, release, "src", filename, None, License("", "NOASSERTION"))


def hash_problems(component: Component) -> list[str]:
    """One line per lookaside tarball whose pinned hash SPDX or CycloneDX has no algorithm name for."""
    out = []
    for source in component.sources:
        formats = [fmt for fmt in (hashes.SPDX, hashes.CYCLONEDX)
                   if hashes.algorithm(source.hash_type, source.digest, fmt) is None]
        if formats:
            out.append(f"source {source.filename}: {' and '.join(formats)} cannot name its {source.hash_type} hash, "
                       "left out there (the purl and provenance still carry it)")
    return out


def license_problems(packages: Iterable[RpmPackage]) -> list[str]:
    """One line per package whose License tag is not a valid SPDX expression (for the user to fix)."""
    return [f"{p.filename}: {p.license.problem}" for p in packages if p.license.problem]
