"""``images/<name>/manifest.json``: what an image build produced, and from which packages.

One entry per output format, each naming its file (relative to the image's directory), size and sha256,
so a download can be checked and a later build compared; and the packages in the image by NEVRA with
the sha256 of the RPM file each came from, so the image can be traced to exactly the signed packages
of the published channels (and an SBOM made without opening the image).

For the OCI layout, which is a directory, ``size`` is the sum of its files and ``sha256`` is the
image's manifest digest (what ``skopeo inspect`` and registries call the image's digest).
Keys are camelCase like every JSON tributary writes; the file is replaced atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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
