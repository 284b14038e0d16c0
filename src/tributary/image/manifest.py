"""``images/<name>/manifest.json``: what an image build produced, and from which packages.

One entry per output format, each naming its file (relative to the image's directory), size and sha256,
so a download can be checked and a later build compared; and the packages in the image by NEVRA with
the sha256 of the RPM file each came from, so the image can be traced to exactly the signed packages
of the published channels (and an SBOM made without opening the image).

For the OCI layout, which is a directory, ``size`` is the sum of its files and ``sha256`` is the
image's manifest digest (what ``skopeo inspect`` and registries call the image's digest).
Keys are camelCase like every JSON tributary writes; the file is replaced atomically. Later stages
(``image test``, the audit, SBOMs) read it with ``read_manifest``, the one reader of the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tributary.fsutil import atomic_write
from tributary.image.errors import ImageError
from tributary.image.rootfs import RootfsResult
from tributary.image.rootpaths import os_release_name
from tributary.image.spec import FORMATS, ImageSpec
from tributary.upstream.fingerprint import file_sha256

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class Artifact:
    """One output of an image build: its format (one of ``spec.FORMATS``) and where it was written.

    ``digest`` (``sha256:...``) identifies a directory output (the OCI layout's manifest digest).
    """

    format: str
    path: Path
    digest: str | None = None
    details: Mapping[str, object] | None = None
    """More about the output, recorded in its manifest entry (a disk's layout and identifiers)."""


def _tree_size(path: Path) -> int:
    return sum(os.lstat(os.path.join(directory, name)).st_size
               for directory, _dirs, files in os.walk(path) for name in files)


def _relative(path: Path, base: Path) -> str:
    try:
        return Path(path).absolute().relative_to(base.absolute()).as_posix()
    except ValueError:
        return str(Path(path).absolute())


def artifact_entry(artifact: Artifact, out_dir: Path) -> dict[str, object]:
    """The manifest's entry for one output: format, file, size, sha256 (and the digest for a directory)."""
    if artifact.format not in FORMATS:
        raise ImageError(f"unknown image format {artifact.format!r} (known: {', '.join(FORMATS)})")
    path = Path(artifact.path)
    entry: dict[str, object] = {"format": artifact.format, "file": _relative(path, out_dir)}
    if path.is_dir():
        if artifact.digest is None:
            raise ImageError(f"the {artifact.format} output {path} is a directory; its digest must be given")
        entry.update(size=_tree_size(path), sha256=artifact.digest.removeprefix("sha256:"), digest=artifact.digest)
    elif path.is_file():
        entry.update(size=path.stat().st_size, sha256=file_sha256(path))
        if artifact.digest is not None:
            entry["digest"] = artifact.digest
    else:
        raise ImageError(f"the {artifact.format} output {path} does not exist")
    entry.update(artifact.details or {})
    return entry


def manifest_data(out_dir: Path, spec: ImageSpec, rootfs: RootfsResult,
                  artifacts: Sequence[Artifact]) -> dict[str, object]:
    """The manifest as data: the image, its time stamp and channels, each output, each package."""
    order = {name: index for index, name in enumerate(FORMATS)}
    entries = [artifact_entry(artifact, out_dir)
               for artifact in sorted(artifacts, key=lambda a: (order.get(a.format, len(order)), str(a.path)))]
    return {
        "image": spec.name,
        "version": spec.version,
        "distroless": spec.distroless,
        "osReleaseName": os_release_name(rootfs.path),
        "sourceDateEpoch": rootfs.source_date_epoch,
        "releasever": rootfs.releasever,
        "channels": list(rootfs.channels),
        "formats": entries,
        "packages": [{"nevra": package.nevra, "sha256": package.sha256, "license": package.license,
                      "channel": package.channel} for package in rootfs.packages],
        "removed": list(rootfs.removed),
    }


def write_manifest(out_dir: Path, spec: ImageSpec, rootfs: RootfsResult, artifacts: Sequence[Artifact]) -> Path:
    """Write ``out_dir/manifest.json`` atomically; return its path."""
    data = manifest_data(Path(out_dir), spec, rootfs, artifacts)
    target = Path(out_dir) / MANIFEST_NAME
    atomic_write(target, json.dumps(data, indent=2, sort_keys=False) + "\n", mode=0o644)
    return target


# --- reading it back ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    """One output as the manifest records it; ``details`` holds a disk's layout (``virtualSize``,
    ``rootUuid``, ``partitions``...)."""

    format: str
    path: Path
    """Where the output is (the manifest's relative ``file`` resolved against the image's directory)."""
    sha256: str
    digest: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    size: int = 0
    """Bytes: the file's, or the sum of a directory's files (an OCI layout)."""


@dataclass(frozen=True)
class ManifestPackage:
    nevra: str
    sha256: str | None
    license: str
    channel: str | None


@dataclass(frozen=True)
class ImageManifest:
    """``images/<name>/manifest.json``, read."""

    path: Path
    image: str
    version: str
    os_release_name: str | None
    source_date_epoch: int
    releasever: str
    channels: tuple[str, ...]
    outputs: tuple[Output, ...]
    packages: tuple[ManifestPackage, ...]
    distroless: bool = False
    sha256: str = ""
    """The manifest file's own: it names this build of the image (an image test records which it tested)."""

    def output(self, image_format: str) -> Output | None:
        return next((found for found in self.outputs if found.format == image_format), None)


def read_manifest(out_dir: Path, name: str) -> ImageManifest:
    """The manifest of the image built into ``out_dir`` (``<output-dir>/images/<name>``); an ImageError
    when the image is not built or the file is not a manifest, naming the file."""
    path = Path(out_dir) / MANIFEST_NAME
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except FileNotFoundError as error:
        raise ImageError(f"image {name!r} is not built ({path} is missing)",
                         hint=f"run 'trib image build {name}'") from error
    except (OSError, ValueError) as error:
        raise ImageError(f"not an image manifest: {error}", where=str(path)) from error
    try:
        outputs = tuple(
            Output(str(entry["format"]), path.parent / str(entry["file"]), str(entry.get("sha256", "")),
                   entry.get("digest"),
                   {key: value for key, value in entry.items() if key not in _OUTPUT_KEYS}, int(entry.get("size") or 0))
            for entry in data["formats"])
        packages = tuple(
            ManifestPackage(str(entry.get("nevra", "")), entry.get("sha256") or None, str(entry.get("license") or ""),
                            entry.get("channel") or None)
            for entry in data.get("packages", []))
        return ImageManifest(path, str(data.get("image") or name), str(data.get("version") or ""),
                             data.get("osReleaseName"), int(data.get("sourceDateEpoch") or 0),
                             str(data.get("releasever") or ""), tuple(data.get("channels") or ()), outputs, packages,
                             bool(data.get("distroless")), hashlib.sha256(raw).hexdigest())
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ImageError(f"not an image manifest: {error!r} is wrong or missing", where=str(path)) from error


_OUTPUT_KEYS = frozenset({"format", "file", "size", "sha256", "digest"})
