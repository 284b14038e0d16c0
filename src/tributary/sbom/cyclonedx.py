"""CycloneDX 1.6 JSON from the model, with every change from upstream as machine-readable pedigree.

Each package (a component's SRPM and RPMs, an image's rpmdb packages) carries ``pedigree``: its
``ancestors`` is the upstream package (purl in the upstream distro's namespace, dist-git URL and
commit), its ``patches`` are the component's overlays, one each, in configuration order, plus the
patch files of a full fork. A patch's ``type`` comes from the overlay's category (``patch_type``,
documented in docs/SBOM.md) and its ``resolves`` entry carries the overlay's description, category,
upstream status, bug and commit links; a ``patch-add`` overlay's patch file is the diff's text.

Deterministic like the SPDX side: the serial number is a UUID made from a hash of the document.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from tributary import __version__
from tributary.render.changes import OverlayChange
from tributary.sbom import hashes
from tributary.sbom.jsonout import dump
from tributary.sbom.model import Component, Distro, Image, LocalPatch, RpmPackage
from tributary.sbom.spdx import timestamp

SCHEMA = "http://cyclonedx.org/schema/bom-1.6.schema.json"
_SECURITY = {"azl-security-compliance"}
_DEFECT = {"upstream-backport", "azl-temp-workaround", "azl-disable-flaky-tests"}


def patch_type(category: str | None, upstream_status: str | None) -> str:
    """The CycloneDX patch type of an overlay.

    ``upstream-backport`` is a fix taken from upstream: ``backport`` once upstream has it
    (``upstreamed``), ``cherry-pick`` while it is only proposed there (``upstreamable``). Every other
    category is the distribution's own change, ``unofficial``. ``monkey`` (a runtime patch) never
    applies: overlays change sources and spec before the build.
    """
    if category == "upstream-backport":
        return "cherry-pick" if upstream_status == "upstreamable" else "backport"
    return "unofficial"


def issue_type(category: str | None) -> str:
    """What the change resolves: a security concern, a defect (fixes, workarounds), else an enhancement."""
    if category in _SECURITY:
        return "security"
    if category in _DEFECT:
        return "defect"
    return "enhancement"


def _patch(component: Component, overlay: OverlayChange) -> dict[str, Any]:
    description = overlay.description or "no description"
    details = [f"category: {overlay.category or 'none'}", f"upstream-status: {overlay.upstream_status or 'none'}"]
    if overlay.location:
        details.append(f"defined at {overlay.location}")
    issue: dict[str, Any] = {
        "type": issue_type(overlay.category),
        "id": f"{component.name}/overlay-{overlay.number}",
        "name": f"overlay {overlay.number}: {overlay.type}",
        "description": f"{description} ({'; '.join(details)})",
        "source": {"name": f"{component.distro.id} overlay"},
    }
    references = [*overlay.bugs, *overlay.commits]
    if references:
        issue["references"] = references
    patch: dict[str, Any] = {"type": patch_type(overlay.category, overlay.upstream_status)}
    diff = _diff(component.patch_of(overlay), overlay.commits)
    if diff:
        patch["diff"] = diff
    patch["resolves"] = [issue]
    return patch


def _diff(local: LocalPatch | None, commits: tuple[str, ...]) -> dict[str, Any]:
    diff: dict[str, Any] = {}
    if local is not None:
        diff["text"] = {"contentType": "text/x-diff", "content": local.text}
    if commits:
        diff["url"] = commits[0]
    return diff


def _fork_patch(component: Component, local: LocalPatch) -> dict[str, Any]:
    return {"type": "unofficial", "diff": {"text": {"contentType": "text/x-diff", "content": local.text}},
            "resolves": [{"type": "enhancement", "id": f"{component.name}/{local.filename}",
                          "name": f"local patch {local.filename}",
                          "description": component.changes.fork_reason or "a patch of the local spec"}]}


def pedigree(component: Component) -> dict[str, Any]:
    """Where the package comes from (the upstream package) and every change made to it, in order."""
    out: dict[str, Any] = {}
    upstream = component.upstream
    if upstream is not None:
        ancestor: dict[str, Any] = {"type": "library", "name": upstream.package}
        if upstream.version:
            ancestor["version"] = upstream.version
        ancestor["supplier"] = {"name": upstream.distro}
        ancestor["purl"] = upstream.purl
        ancestor["externalReferences"] = [
            {
                "type": "vcs",
                "url": upstream.url,
                "comment": f"branch {upstream.branch}, commit {upstream.commit or 'unknown'}",
            }
        ]
        ancestor["properties"] = _properties(
            {
                "tributary:upstream-distro": f"{upstream.distro} {upstream.distro_version}",
                "tributary:upstream-commit": upstream.commit,
            }
        )
        out["ancestors"] = [ancestor]
    patches = [_patch(component, overlay) for overlay in component.overlays]
    patches += [_fork_patch(component, p) for p in component.patches if p.overlay is None]
    if patches:
        out["patches"] = patches
    notes = []
    if component.changes.is_fork:
        notes.append(f"Full fork (local spec): {component.changes.fork_reason or 'no reason given'}.")
    notes += [f"Build option %{k} {v}." for k, v in sorted(component.changes.build_macros.items())]
    if component.changes.check_skipped:
        notes.append(f"%check disabled: {component.changes.check_skipped}.")
    if notes:
        out["notes"] = " ".join(notes)
    return out


def _properties(values: dict[str, object]) -> list[dict[str, str]]:
    return [{"name": key, "value": str(value)} for key, value in values.items() if value is not None and value != ""]


def _licenses(package: RpmPackage) -> list[dict[str, Any]] | None:
    info = package.license
    if not info.tag:
        return None
    if info.problem:
        return [{"license": {"name": info.tag}}]
    return [{"expression": info.expression}]


def _hashes(pairs: list[tuple[str, str | None]]) -> list[dict[str, str]]:
    """CycloneDX hashes of ``(hash type, digest)`` pairs; one CycloneDX cannot name is left out (see ``hashes``)."""
    out = []
    for hash_type, digest in pairs:
        name = hashes.algorithm(hash_type, digest, hashes.CYCLONEDX) if digest else None
        if name is not None and digest is not None:
            out.append({"alg": name, "content": digest})
    return out


def _package(package: RpmPackage, distro: Distro, component: Component | None) -> dict[str, Any]:
    purl = package.purl(distro)
    entry: dict[str, Any] = {
        "type": "library",
        "bom-ref": purl,
        "supplier": {"name": distro.description or distro.id},
        "name": package.name,
        "version": f"{package.epoch}:{package.evr}" if package.epoch else package.evr,
    }
    digests = _hashes([("sha256", package.sha256)])
    if digests:
        entry["hashes"] = digests
    licenses = _licenses(package)
    if licenses:
        entry["licenses"] = licenses
    entry["purl"] = purl
    if component is not None:
        entry["pedigree"] = pedigree(component)
    entry["properties"] = _properties({
        "tributary:nevra": package.nevra,
        "tributary:file": package.filename,
        "tributary:source-rpm": package.source_rpm,
        "tributary:component": component.name if component else None,
        "tributary:file-count": package.file_count,
        "tributary:channel": package.channel,
        "tributary:header-sha256": package.header_sha256,
        "tributary:license-tag": package.license.tag if package.license.problem else None,
        "tributary:license-problem": package.license.problem,
    })
    return entry


def _sources(component: Component) -> list[dict[str, Any]]:
    out = []
    for source in component.sources:
        entry: dict[str, Any] = {"type": "file", "bom-ref": source.purl, "name": source.filename}
        listed = _hashes([(source.hash_type, source.digest)])
        if listed:
            entry["hashes"] = listed
        entry["purl"] = source.purl
        if source.url:
            entry["externalReferences"] = [{"type": "distribution", "url": source.url}]
        if not listed:
            entry["properties"] = _properties({"tributary:unlisted-hash": f"{source.hash_type}:{source.digest}"})
        out.append(entry)
    return out


def _bom(metadata_component: dict[str, Any], components: list[dict[str, Any]], created: int,
         dependencies: list[dict[str, Any]]) -> bytes:
    bom: dict[str, Any] = {
        "$schema": SCHEMA,
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "",
        "version": 1,
        "metadata": {
            "timestamp": timestamp(created),
            "lifecycles": [{"phase": "build"}],
            "tools": {"components": [{"type": "application", "name": "tributary", "version": __version__}]},
            "component": metadata_component,
        },
        "components": components,
        "dependencies": dependencies,
    }
    digest = hashlib.sha256(dump(bom)).digest()
    bom["serialNumber"] = uuid.UUID(bytes=digest[:16], version=4).urn
    return dump(bom)


def component_document(component: Component, *, created: int | None = None) -> bytes:
    """The CycloneDX 1.6 JSON of one component's build: the SRPM described, its RPMs as components."""
    if component.srpm is None:
        raise ValueError(f"component {component.name} has no SRPM")
    srpm = _package(component.srpm, component.distro, component)
    sources = _sources(component)
    if sources:
        srpm["components"] = sources
    rpms = [_package(rpm, component.distro, component) for rpm in component.rpms]
    dependencies = [{"ref": srpm["bom-ref"], "dependsOn": []}] + [{"ref": r["bom-ref"], "dependsOn": []} for r in rpms]
    return _bom(srpm, rpms, component.created if created is None else created, dependencies)


def image_document(image: Image, *, created: int | None = None) -> bytes:
    """The CycloneDX 1.6 JSON of an image: every rpmdb package, with pedigree back to upstream."""
    ref = f"image:{image.distro.id}/{image.name}@{image.version}"
    described = {"type": "container" if image.kind == "container" else "operating-system", "bom-ref": ref,
                 "supplier": {"name": image.distro.description or image.distro.id},
                 "name": image.name, "version": image.version}
    packages = [_package(p, image.distro, image.component_of(p)) for p in image.packages]
    dependencies = [{"ref": ref, "dependsOn": [p["bom-ref"] for p in packages]}]
    dependencies += [{"ref": p["bom-ref"], "dependsOn": []} for p in packages]
    return _bom(described, packages, image.created if created is None else created, dependencies)
