"""Where SBOMs and provenance go, and the one call each later command makes.

``<output-dir>/sbom/<component>.spdx.json``, ``.cdx.json`` and ``.provenance.json`` for each built
component; ``<output-dir>/sbom/images/<image>.spdx.json`` and ``.cdx.json`` for each image, the same
bytes the image carries at ``EMBED_DIR``. Every file is written atomically.

A write without a signing key never replaces signed provenance with unsigned: when the signed file's
subjects (each package's path and sha256) are those of the build, it is kept as it is (it still tells
the truth, with a signature); when they differ, ``SignatureWouldBeLost`` is raised before anything of
the component is written, so its three documents keep describing the same (old) build.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tributary.build.cache import BuildCache
from tributary.config import Project
from tributary.errors import TribError
from tributary.fsutil import atomic_write
from tributary.image.manifest import ManifestPackage, read_manifest
from tributary.image.rootfs import InstalledPackage, RootfsResult
from tributary.repo.sign import SigningKey
from tributary.sbom import EMBED_DIR, cyclonedx, provenance, spdx
from tributary.sbom.collect import (
    collect_component,
    collect_image,
    hash_problems,
    license_problems,
)
from tributary.sbom.model import Component, Image
from tributary.tools.toolchain import versions


@dataclass
class Written:
    """What one SBOM run wrote, and the License tags it had to report."""

    subject: str
    kind: str
    paths: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    signed_by: str | None = None
    provenance_kept: bool = False
    """True when no key was given and the signed provenance already there was kept (same packages)."""

    def to_json(self) -> dict[str, object]:
        return {"subject": self.subject, "kind": self.kind, "paths": [str(p) for p in self.paths],
                "problems": self.problems, "signedBy": self.signed_by, "provenanceKept": self.provenance_kept}


class SignatureWouldBeLost(TribError):
    """A build without a signing key would replace a signed provenance whose packages it changed."""


def sbom_dir(project: Project) -> Path:
    return project.output_dir / "sbom"


def created_time(default: int) -> int:
    """SOURCE_DATE_EPOCH when it is set (reproducible-builds convention), else the build's own time."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise TribError(f"SOURCE_DATE_EPOCH={value!r} is not a number of seconds")
    return int(value)


def subject_name(project: Project, path: Path) -> str:
    """A build output's name in provenance: its path below the output directory."""
    try:
        return Path(path).resolve().relative_to(project.output_dir.resolve()).as_posix()
    except ValueError:
        return Path(path).name


def write_component(project: Project, name: str, outputs: Sequence[Path] | None = None, *,
                    key: SigningKey | None = None) -> Written:
    """The component's SPDX, CycloneDX and (signed, with ``key``) provenance documents."""
    component = collect_component(project, name, outputs)
    return write_component_documents(project, component, outputs, key=key)


def write_component_documents(project: Project, component: Component, outputs: Sequence[Path] | None, *,
                              key: SigningKey | None) -> Written:
    created = created_time(component.created)
    directory = sbom_dir(project)
    written = Written(component.name, "component", signed_by=key.fingerprint if key else None)
    paths = _output_paths(project, component, outputs)
    subjects = [(subject_name(project, path), sha) for path, sha in paths]
    provenance_file = directory / f"{component.name}.provenance.json"
    signed = provenance.signed_subjects(provenance_file) if key is None else None
    if signed is not None and signed.subjects != frozenset(subjects):
        raise SignatureWouldBeLost(
            "the provenance is signed (key " + ", ".join(signed.keyids) + ") and this build changed the "
            "packages it describes; without a signing key it would be replaced by an unsigned one, so no SBOM "
            "or provenance of the component was written",
            where=str(provenance_file),
            hint="set TRIB_GPG_KEY (and TRIB_GNUPGHOME) and run 'trib sbom' for it, or delete the file "
                 "to accept unsigned provenance")
    documents = {
        f"{component.name}.spdx.json": spdx.component_document(component, created=created),
        f"{component.name}.cdx.json": cyclonedx.component_document(component, created=created),
    }
    if signed is None:
        cache = BuildCache(project)
        recorded = cache.toolchain(component.name)
        statement = provenance.statement(component, subjects,
                                         toolchain=versions() if recorded is None else recorded,
                                         toolchain_recorded=recorded is not None,
                                         buildroot=cache.buildroot(component.name))
        documents[provenance_file.name] = provenance.envelope(statement, key=key, when=created,
                                                              previous=provenance_file)
    else:  # the same packages: the signed file already says all the new one would, and more
        written.signed_by, written.provenance_kept = ", ".join(signed.keyids), True
    for filename, content in documents.items():
        target = directory / filename
        if not _holds(target, content):
            atomic_write(target, content, mode=0o644)
        written.paths.append(target)
    if written.provenance_kept:
        written.paths.append(provenance_file)
    written.problems = [*license_problems([*(x for x in [component.srpm] if x), *component.rpms]),
                        *hash_problems(component)]
    return written


def _holds(path: Path, content: bytes) -> bool:
    """Whether ``path`` is already a world-readable file of ``content``: a build that changed nothing
    leaves its documents as they were, times included."""
    try:
        info = path.lstat()
        return stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o644 and path.read_bytes() == content
    except OSError:
        return False


def _output_paths(project: Project, component: Component, outputs: Sequence[Path] | None) -> list[tuple[Path, str]]:
    """Each package's file and sha256, SRPM first: ``outputs`` when given, else the standard layout."""
    packages = [*(x for x in [component.srpm] if x), *component.rpms]
    by_name = {Path(p).name: Path(p) for p in outputs or ()}
    out = []
    for package in packages:
        path = by_name.get(package.filename)
        if path is None:
            where = "srpms" if package.is_source else f"rpms/{package.arch}"
            path = project.output_dir / where / package.filename
        out.append((path, package.sha256 or ""))
    return out


# --- images ----------------------------------------------------------------------------------------


def image_kind(formats: Sequence[str]) -> str:
    """A container when the image is shipped as one, else an operating system (WSL, VM disks)."""
    return "container" if {"oci", "docker-archive"} & set(formats) else "operating-system"


def image_documents(image: Image) -> dict[str, bytes]:
    """``{file name: bytes}`` of an image's SBOMs (``<image>.spdx.json``, ``<image>.cdx.json``)."""
    created = created_time(image.created)
    return {f"{image.name}.spdx.json": spdx.image_document(image, created=created),
            f"{image.name}.cdx.json": cyclonedx.image_document(image, created=created)}


def image_embedder(project: Project, *, version: str, formats: Sequence[str],
                   collected: list[Image] | None = None):
    """The ``embed`` callback of ``image.build.build_image``: the image's SBOMs, at ``EMBED_DIR``.

    The model it made is appended to ``collected``, for ``write_image`` to write the same bytes out.
    """

    def embed(rootfs: RootfsResult) -> Mapping[str, bytes]:
        image = collect_image(project, rootfs, version=version, kind=image_kind(formats))
        if collected is not None:
            collected.append(image)
        return {f"{EMBED_DIR}/{name}": content for name, content in image_documents(image).items()}

    return embed


def write_image(project: Project, image: Image) -> Written:
    """Write an image's SBOMs to ``<output-dir>/sbom/images/``."""
    written = Written(image.name, "image")
    for filename, content in image_documents(image).items():
        target = sbom_dir(project) / "images" / filename
        atomic_write(target, content, mode=0o644)
        written.paths.append(target)
    written.problems = license_problems(image.packages)
    return written


def image_from_manifest(project: Project, name: str, *, formats: Sequence[str]) -> Image:
    """The model of a built image from its ``images/<name>/manifest.json``, without opening the image.

    The manifest lists each package by NEVRA with the sha256 of its RPM and the channel; the RPM in
    the channel gives the rest, so this matches what the image build embedded.
    """
    manifest = read_manifest(project.output_dir / "images" / name, name)
    packages = tuple(_manifest_package(entry) for entry in manifest.packages)
    rootfs = RootfsResult(manifest.path.parent, name, packages, manifest.source_date_epoch, manifest.releasever,
                          manifest.channels)
    return collect_image(project, rootfs, version=manifest.version, kind=image_kind(formats))


def _manifest_package(entry: ManifestPackage) -> InstalledPackage:
    nevra = entry.nevra
    rest, _, arch = nevra.rpartition(".")
    name, version, release = (rest.rsplit("-", 2) + ["", ""])[:3]
    epoch = 0
    if ":" in version:
        epoch_text, version = version.split(":", 1)
        epoch = int(epoch_text) if epoch_text.isdigit() else 0
    return InstalledPackage(name, epoch, version, release, arch, entry.license, 0, 0, 0, "", "", entry.sha256,
                            entry.channel)
