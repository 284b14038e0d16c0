"""SPDX 2.3 JSON from the model, in the relationship shape Red Hat publishes for RPMs and images.

A component's document describes its SRPM and binary RPMs: each RPM ``GENERATED_FROM`` the SRPM, the
SRPM ``DESCENDANT_OF`` the upstream package (dist-git URL and commit) and ``CONTAINS`` each lookaside
tarball (by its pinned hash). Every overlay, every patch file the distribution adds, the build options
and a disabled ``%check`` are annotations on the SRPM, so a reader sees how the package differs from
upstream and why. An image's document describes the image, which ``CONTAINS`` every package of its
rpmdb (sha256 of the RPM file installed), each traced the same way to its SRPM and upstream.

Deterministic: SPDX ids come from names, ``created`` from the build's SOURCE_DATE_EPOCH, and the
``documentNamespace`` from a hash of everything else, so the same build gives the same bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tributary import __version__
from tributary.sbom import hashes
from tributary.sbom.jsonout import dump
from tributary.sbom.model import Component, Distro, Image, RpmPackage

NAMESPACE_BASE = "https://sbom.tributary.invalid/spdx"
"""documentNamespace prefix: a unique name for the document (SPDX requires one), not a location."""
TOOL = f"Tool: tributary-{__version__}"
NOASSERTION = "NOASSERTION"
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")
# The forms spdx-tools accepts as a downloadLocation: a URL with a DNS name, optionally vcs+ prefixed.
# A loopback or file:// location is still recorded, in the purl and the comment, not as the location.
_DOWNLOADABLE = re.compile(r"^(?:(?:git|hg|svn|bzr)\+)?(?:https?|ftp|sftp|ssh|git|svn)://(?:[^/@\s]+@)?"
                           r"[a-z0-9]+(?:[-.][a-z0-9]+)*\.[a-z]{2,5}(?::\d{1,5})?(?:/\S*)?$", re.IGNORECASE)


def spdx_id(kind: str, *parts: str) -> str:
    """``SPDXRef-<kind>-<parts>``, unique to the name it is made from.

    Every character SPDX ids do not allow is folded to ``-``; when that changes the name, the first 10
    hex digits of the name's sha256 are appended, so ``a+b`` and ``a-b`` (or ``x86_64`` and
    ``x86-64``) do not end up the same id.
    """
    name = "-".join((kind, *parts))
    safe = _ID_UNSAFE.sub("-", name).strip("-")
    if safe != name:
        safe += "-" + hashlib.sha256(name.encode()).hexdigest()[:10]
    return "SPDXRef-" + safe


def timestamp(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def download_location(url: str | None) -> str:
    return url if url and _DOWNLOADABLE.match(url) else NOASSERTION


class _Document:
    """Packages, relationships and extracted licenses gathered once each, in a stable order."""

    def __init__(self, created: int):
        self.created = timestamp(created)
        self.packages: dict[str, dict[str, Any]] = {}
        self.relationships: list[dict[str, str]] = []
        self.licenses: dict[str, dict[str, str]] = {}

    def add(self, package: dict[str, Any]) -> str:
        """Add ``package`` once; its id (the same package added again is not repeated).

        A different package under an id already taken gets the id with ``-2`` (``-3``...) appended,
        so nothing is dropped even if two names ever made the same id.
        """
        ident, number = package["SPDXID"], 1
        while ident in self.packages and self.packages[ident] != package:
            number += 1
            ident = f"{package['SPDXID']}-{number}"
            package = {**package, "SPDXID": ident}
        self.packages.setdefault(ident, package)
        return ident

    def relate(self, element: str, kind: str, related: str) -> None:
        entry = {"spdxElementId": element, "relationshipType": kind, "relatedSpdxElement": related}
        if entry not in self.relationships:
            self.relationships.append(entry)

    def annotation(self, comment: str) -> dict[str, str]:
        return {"annotationDate": self.created, "annotationType": "OTHER", "annotator": TOOL, "comment": comment}

    def rpm(self, package: RpmPackage, distro: Distro, *, purpose: str | None = None,
            comment: str | None = None) -> str:
        kind = "SRPM" if package.is_source else "RPM"
        ident = spdx_id(kind, package.nevra)
        if ident in self.packages:
            return ident
        version = f"{package.epoch}:{package.evr}" if package.epoch else package.evr
        entry: dict[str, Any] = {
            "SPDXID": ident,
            "name": package.name,
            "versionInfo": version,
            "packageFileName": package.filename,
            "supplier": f"Organization: {distro.description or distro.id}",
            "downloadLocation": NOASSERTION,
            "filesAnalyzed": False,
        }
        if package.sha256:
            entry["checksums"] = [{"algorithm": "SHA256", "checksumValue": package.sha256}]
        entry["licenseConcluded"] = NOASSERTION
        entry["licenseDeclared"] = self.license(package)
        if package.license.problem and package.license.tag:
            entry["licenseComments"] = package.license.problem
        entry["copyrightText"] = NOASSERTION
        details = [f"NEVRA {package.nevra}"]
        if package.file_count is not None:
            details.append(f"{package.file_count} files")
        if package.header_sha256:
            details.append(f"header SHA-256 {package.header_sha256}")
        if package.channel:
            details.append(f"installed from publish channel {package.channel}")
        if comment:
            details.append(comment)
        entry["comment"] = "; ".join(details)
        entry["externalRefs"] = [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                                  "referenceLocator": package.purl(distro)}]
        entry["primaryPackagePurpose"] = purpose or ("SOURCE" if package.is_source else "INSTALL")
        return self.add(entry)

    def license(self, package: RpmPackage) -> str:
        """The declared license; each LicenseRef it uses is described once in hasExtractedLicensingInfos."""
        info = package.license
        for ref in info.refs:
            if ref in self.licenses:
                continue
            if info.problem:
                self.licenses[ref] = {"licenseId": ref, "extractedText": info.tag, "name": info.tag,
                                      "comment": info.problem}
            else:
                self.licenses[ref] = {"licenseId": ref, "extractedText": f"{ref} (named by an RPM License tag; "
                                      "its text is in the package)", "name": ref}
        return info.expression

    def component(self, component: Component) -> str | None:
        """The component's SRPM, upstream package and tarballs, with every change as an annotation."""
        if component.srpm is None:
            return None
        srpm = self.rpm(component.srpm, component.distro, comment=_source_info(component))
        self.packages[srpm]["annotations"] = [self.annotation(text) for text in change_notes(component)]
        if component.upstream is not None:
            upstream = component.upstream
            ident = self.add({
                "SPDXID": spdx_id("Upstream", component.name),
                "name": upstream.package,
                **({"versionInfo": upstream.version} if upstream.version else {}),
                "supplier": f"Organization: {upstream.distro}",
                "downloadLocation": download_location(upstream.vcs),
                "filesAnalyzed": False,
                "sourceInfo": f"dist-git {upstream.url} branch {upstream.branch} commit {upstream.commit or 'unknown'}",
                "licenseConcluded": NOASSERTION,
                "licenseDeclared": NOASSERTION,
                "copyrightText": NOASSERTION,
                "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                                  "referenceLocator": upstream.purl}],
                "primaryPackagePurpose": "SOURCE",
            })
            self.relate(srpm, "DESCENDANT_OF", ident)
        for source in component.sources:
            algorithm = hashes.algorithm(source.hash_type, source.digest, hashes.SPDX)
            comment = "lookaside tarball pinned by the component's sources file, " + (
                f"fetched from {source.url}" if source.url else "from a lookaside cache whose URL is not configured")
            if algorithm is None:
                comment += f"; pinned by {source.hash_type}:{source.digest}, which SPDX has no checksum algorithm for"
            ident = self.add({
                "SPDXID": spdx_id("Source", component.name, source.filename),
                "name": source.filename,
                "downloadLocation": download_location(source.url),
                "filesAnalyzed": False,
                **({"checksums": [{"algorithm": algorithm, "checksumValue": source.digest}]} if algorithm else {}),
                "licenseConcluded": NOASSERTION,
                "licenseDeclared": NOASSERTION,
                "copyrightText": NOASSERTION,
                "comment": comment,
                "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                                  "referenceLocator": source.purl}],
                "primaryPackagePurpose": "ARCHIVE",
            })
            self.relate(srpm, "CONTAINS", ident)
        return srpm

    def render(self, name: str, kind: str, describes: Iterable[str]) -> bytes:
        for ident in describes:
            self.relate("SPDXRef-DOCUMENT", "DESCRIBES", ident)
        document: dict[str, Any] = {
            "spdxVersion": "SPDX-2.3",
            "dataLicense": "CC0-1.0",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": name,
            "documentNamespace": "",
            "creationInfo": {"created": self.created, "creators": [TOOL]},
            "packages": list(self.packages.values()),
            "relationships": self.relationships,
        }
        if self.licenses:
            document["hasExtractedLicensingInfos"] = [self.licenses[key] for key in sorted(self.licenses)]
        digest = hashlib.sha256(dump(document)).hexdigest()
        document["documentNamespace"] = f"{NAMESPACE_BASE}/{kind}/{_ID_UNSAFE.sub('-', name)}-{digest}"
        return dump(document)


def _source_info(component: Component) -> str:
    upstream = component.upstream
    if upstream is None:
        reason = component.changes.fork_reason
        return f"component {component.name}: a local spec" + (f" ({reason})" if reason else "")
    return (f"component {component.name}: {upstream.distro} {upstream.distro_version} dist-git {upstream.package} "
            f"at {upstream.commit or 'an unlocked commit'} with {len(component.overlays)} overlays")


def change_notes(component: Component) -> list[str]:
    """One line per difference from upstream: each overlay (with its patch file), fork, build option."""
    notes = []
    changes = component.changes
    if changes.is_fork:
        notes.append(f"full fork (local spec): {changes.fork_reason or 'no reason given'}")
    for overlay in component.overlays:
        parts = [f"overlay {overlay.number} ({overlay.type}): {overlay.description or 'no description'}",
                 f"category: {overlay.category or 'none'}", f"upstream-status: {overlay.upstream_status or 'none'}"]
        patch = component.patch_of(overlay)
        if patch is not None:
            parts.append(f"patch: {patch.filename} sha256:{patch.sha256}")
        parts += [f"bug: {url}" for url in overlay.bugs] + [f"commit: {url}" for url in overlay.commits]
        if overlay.location:
            parts.append(f"defined at: {overlay.location}")
        notes.append(" | ".join(parts))
    notes += [f"local patch: {p.filename} sha256:{p.sha256}" for p in component.patches if p.overlay is None]
    for macro, value in sorted(changes.build_macros.items()):
        notes.append(f"build option: %{macro} {value}")
    if changes.check_skipped:
        notes.append(f"%check disabled: {changes.check_skipped}")
    if component.fingerprint:
        notes.append(f"configuration fingerprint: {component.fingerprint}")
    return notes


def component_document(component: Component, *, created: int | None = None) -> bytes:
    """The SPDX 2.3 JSON of one component's build."""
    document = _Document(component.created if created is None else created)
    srpm = document.component(component)
    rpms = [document.rpm(rpm, component.distro) for rpm in component.rpms]
    for rpm in rpms:
        if srpm is not None:
            document.relate(rpm, "GENERATED_FROM", srpm)
    name = f"{component.name}-{component.srpm.evr}" if component.srpm else component.name
    return document.render(name, "component", [*(x for x in [srpm] if x), *rpms])


def image_document(image: Image, *, created: int | None = None) -> bytes:
    """The SPDX 2.3 JSON of an image: every rpmdb package, with the sha256 of the RPM it came from."""
    document = _Document(image.created if created is None else created)
    ident = document.add({
        "SPDXID": spdx_id("Image", image.name),
        "name": image.name,
        "versionInfo": image.version,
        "supplier": f"Organization: {image.distro.description or image.distro.id}",
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": False,
        "licenseConcluded": NOASSERTION,
        "licenseDeclared": NOASSERTION,
        "copyrightText": NOASSERTION,
        "comment": f"{len(image.packages)} packages from {image.distro.id} {image.distro.version}",
        "primaryPackagePurpose": "CONTAINER" if image.kind == "container" else "OPERATING-SYSTEM",
    })
    for package in image.packages:
        component = image.component_of(package)
        srpm = document.component(component) if component is not None else None
        rpm = document.rpm(package, image.distro, comment=f"component {component.name}" if component else None)
        document.relate(ident, "CONTAINS", rpm)
        if srpm is not None:
            document.relate(rpm, "GENERATED_FROM", srpm)
    return document.render(f"{image.name}-{image.version}", "image", [ident])
