"""The one model of what was built, from which every SBOM and provenance statement is written.

A component: its upstream origin (dist-git URL and commit), the lookaside sources it pins by hash,
every overlay with its reason (``render.changes``' report, reused as is) and the patch files they
add, the SRPM and the binary RPMs with their sha256. An image: the packages in its rpmdb, each with
the sha256 of the RPM file it was installed from and the component it comes from. Frozen: the
documents are pure functions of it, so the same build gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from tributary.render.changes import ComponentChanges, OverlayChange
from tributary.sbom.licenses import License
from tributary.sbom.purl import rpm_purl, source_purl, upstream_purl
from tributary.tools.rpm import nevra


@dataclass(frozen=True)
class Distro:
    """The distribution that shipped a package: purl namespace ``id`` and its ``version``."""

    id: str
    version: str
    description: str = ""


@dataclass(frozen=True)
class RpmPackage:
    """One RPM file (binary or source, ``arch == "src"``), as its header and bytes describe it."""

    name: str
    epoch: int
    version: str
    release: str
    arch: str
    filename: str
    sha256: str | None
    license: License
    source_rpm: str = ""
    """The SRPM file name a binary package was built from; empty for a source package."""
    file_count: int | None = None
    size: int | None = None
    build_time: int = 0
    channel: str | None = None
    """The publish channel an image installed it from; None for a build output."""
    header_sha256: str | None = None
    """rpm's SHA-256 of the header: unchanged by signing, so it ties a signed copy to the built file."""

    @property
    def is_source(self) -> bool:
        return self.arch == "src"

    @property
    def evr(self) -> str:
        return f"{self.version}-{self.release}"

    @property
    def nevra(self) -> str:
        return nevra(self.name, self.epoch, self.version, self.release, self.arch)

    def purl(self, distro: Distro) -> str:
        return rpm_purl(distro.id, distro.version, self.name, self.version, self.release, self.arch,
                        epoch=self.epoch, source_rpm=self.source_rpm or None)


@dataclass(frozen=True)
class UpstreamOrigin:
    """Where a component's spec comes from: the upstream distro's dist-git repository at one commit."""

    distro: str
    distro_version: str
    package: str
    url: str
    branch: str
    commit: str | None
    version: str | None
    """The upstream spec's Version when it is known to equal ours (no overlay changes it), else None."""

    @property
    def purl(self) -> str:
        return upstream_purl(self.distro, self.distro_version, self.package, version=self.version,
                             url=self.url, commit=self.commit)

    @property
    def vcs(self) -> str:
        return f"git+{self.url}" + (f"@{self.commit}" if self.commit else "")


@dataclass(frozen=True)
class SourceArchive:
    """A lookaside tarball the component's ``sources`` file pins, and the URL it is fetched from."""

    filename: str
    hash_type: str
    digest: str
    url: str | None

    @property
    def purl(self) -> str:
        return source_purl(self.filename, hash_type=self.hash_type, digest=self.digest, url=self.url)


@dataclass(frozen=True)
class LocalPatch:
    """A patch file the distribution adds (a ``patch-add`` overlay's, or a full fork's own)."""

    filename: str
    sha256: str
    text: str
    overlay: int | None
    """The number of the overlay that adds it (1-based, as in ``trib report changes``)."""


@dataclass(frozen=True)
class Component:
    """Everything known about one component's build, from upstream to binary packages."""

    name: str
    distro: Distro
    upstream: UpstreamOrigin | None
    changes: ComponentChanges
    sources: tuple[SourceArchive, ...]
    patches: tuple[LocalPatch, ...]
    fingerprint: str | None
    """The lock's input fingerprint: every configuration input of the component, hashed."""
    srpm: RpmPackage | None
    rpms: tuple[RpmPackage, ...]

    @property
    def overlays(self) -> tuple[OverlayChange, ...]:
        return self.changes.overlays

    def patch_of(self, overlay: OverlayChange) -> LocalPatch | None:
        return next((p for p in self.patches if p.overlay == overlay.number), None)

    @property
    def created(self) -> int:
        """When the component's documents say they were made: its SRPM's build time (SOURCE_DATE_EPOCH)."""
        return self.srpm.build_time if self.srpm else max((r.build_time for r in self.rpms), default=0)


@dataclass(frozen=True)
class Image:
    """An image and the packages in its rpmdb, each traced to its component when one builds it."""

    name: str
    version: str
    distro: Distro
    kind: str
    """``container`` or ``operating-system`` (a WSL or disk image)."""
    created: int
    packages: tuple[RpmPackage, ...]
    components: tuple[Component, ...]
    """The components the packages come from (SRPM when still in the output directory, no RPMs)."""

    def component_of(self, package: RpmPackage) -> Component | None:
        return next((c for c in self.components if c.srpm is not None and c.srpm.filename == package.source_rpm),
                    None)
