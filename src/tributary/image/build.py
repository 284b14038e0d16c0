"""Build an image end to end: root filesystem from the published repositories, then each format.

The outputs of one image (``<output-dir>/images/<name>/``) are assembled beside the old ones and
swapped in whole, so a failed build (a missing package, a failing ``config.sh``) leaves the previous
image as it was and nothing half-written.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tributary.config import Project
from tributary.fsutil import atomic_write, resolve_inside, staged_directory
from tributary.image.definition import DescriptionResult, load_image
from tributary.image.disk import DISK_FORMATS, write_disks
from tributary.image.manifest import MANIFEST_NAME, Artifact, write_manifest
from tributary.image.oci import (
    OciResult,
    check_with_skopeo,
    write_docker_archive,
    write_oci,
)
from tributary.image.rootfs import ImageError, RootfsResult, build_rootfs
from tributary.image.spec import FORMATS
from tributary.image.wsl import write_wsl
from tributary.upstream.fingerprint import file_sha256


@dataclass
class ImageBuild:
    name: str
    out_dir: Path
    rootfs: RootfsResult
    artifacts: list[Artifact]
    notes: list[str]
    oci: OciResult | None = None

    def to_json(self) -> dict[str, object]:
        return {"image": self.name, "outDir": str(self.out_dir), "notes": self.notes,
                "packages": len(self.rootfs.packages),
                "artifacts": [{"format": a.format, "path": str(a.path), **({"digest": a.digest} if a.digest else {})}
                              for a in self.artifacts]}


def published_channels(project: Project) -> list[Path]:
    from tributary.repo.publish import repo_root

    root = repo_root(project)
    channels = sorted(p for p in root.iterdir() if (p / "repodata" / "repomd.xml").is_file()) if root.is_dir() else []
    if not channels:
        raise ImageError(f"no published repository in {root}", hint="run 'trib build -a' and 'trib repo publish' first")
    return channels


ROOT_STAMP = "rootfs.manifest-sha256"
"""In the image's work directory: the sha256 of the manifest.json its root was last packaged into."""

Embedder = Callable[[RootfsResult], Mapping[str, bytes]]
"""Given the finished root, the files (path inside the root -> content) to add before it is packaged.

Later stages use it to put what they derive from the root into the image itself (the SBOM), without
the image stage knowing about them.
"""


def build_image(project: Project, name: str, *, formats: list[str] | None = None,
                embed: Embedder | None = None, on_step: Callable[[str], None] = lambda text: None) -> ImageBuild:
    """Build image ``name`` (its own formats, or ``formats``); ``on_step`` hears what is being done."""
    described: DescriptionResult = load_image(project, name)
    spec = described.spec
    wanted = formats or list(spec.formats)
    for value in wanted:
        if value not in FORMATS:
            raise ImageError(f"unknown image format {value!r} (choose from {', '.join(FORMATS)})")
    channels = published_channels(project)
    work = project.work_dir / "images" / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out_dir = project.output_dir / "images" / name
    capabilities = project.images[name].capabilities
    on_step("installing packages")
    with (work / "rootfs.log").open("wb") as log:
        rootfs = build_rootfs(project, spec, channels, work / "rootfs", log=log)
    if embed is not None:
        add_files(rootfs, embed(rootfs))
    with staged_directory(out_dir) as stage:
        artifacts: list[Artifact] = []
        oci = None
        if "oci" in wanted or "docker-archive" in wanted:
            on_step("writing the OCI layout")
            oci = write_oci(rootfs.path, spec, stage, created=rootfs.source_date_epoch, packages=rootfs.packages)
            check_with_skopeo(oci)
            artifacts.append(Artifact("oci", oci.layout, digest=oci.manifest_digest))
            if "docker-archive" in wanted:
                archive = write_docker_archive(oci, stage / f"{name}-{spec.version}.docker.tar")
                artifacts.append(Artifact("docker-archive", archive))
        if "wsl" in wanted:
            on_step("writing the WSL tarball")
            systemd = capabilities.systemd if capabilities else None
            wsl = write_wsl(rootfs.path, spec, stage / f"{name}-{spec.version}.wsl", systemd=systemd)
            artifacts.append(Artifact("wsl", wsl.path))
        disks = [value for value in DISK_FORMATS if value in wanted]
        if disks:
            on_step(f"writing the {', '.join(disks)} disk{'s' if len(disks) > 1 else ''}")
            written = write_disks(rootfs, spec, disks, stage, work / "disk")
            details = written.layout.to_json()
            artifacts += [Artifact(value, path, details=details) for value, path in written.files.items()]
        manifest = write_manifest(stage, spec, rootfs, artifacts)
    # The root stays in the work directory; the stamp ties it to the outputs it was made into.
    atomic_write(work / ROOT_STAMP, file_sha256(out_dir / manifest.name) + "\n")
    final = [Artifact(a.format, out_dir / a.path.relative_to(stage), a.digest, a.details) for a in artifacts]
    return ImageBuild(name, out_dir, rootfs, final, described.notes, oci)


def built_root(project: Project, name: str) -> Path:
    """The root directory that the image's current outputs were made from.

    Disk images cannot be read without mounting them, so later stages that must look inside one
    (the audit) read the root the build left in the work directory. It is only that root while the
    stamp the build wrote matches ``manifest.json``: a failed or partial rebuild leaves the previous
    outputs in place but not their root, and reading it then would report on a root nobody shipped.
    """
    work = project.work_dir / "images" / name
    manifest = project.output_dir / "images" / name / MANIFEST_NAME
    if not manifest.is_file():
        raise ImageError(f"image {name!r} is not built ({manifest} is missing)", hint=f"run 'trib image build {name}'")
    try:
        stamp = (work / ROOT_STAMP).read_text().strip()
    except FileNotFoundError:
        stamp = ""
    if not (work / "rootfs").is_dir() or stamp != file_sha256(manifest):
        raise ImageError(f"image {name!r}: the root in {work / 'rootfs'} is not the one {manifest} was built from "
                         "(a later build failed or the work directory was cleaned)",
                         hint=f"run 'trib image build {name}' again")
    return work / "rootfs"


def add_files(rootfs: RootfsResult, files: Mapping[str, bytes]) -> None:
    """Write files into a finished root, owned by root, mode 0644, stamped like everything else in it."""
    for relative, content in sorted(files.items()):
        target = resolve_inside(rootfs.path, relative.lstrip("/"))
        parents = []
        parent = target.parent
        while not parent.exists():
            parents.append(parent)
            parent = parent.parent
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.chmod(0o644)
        for path in (target, target.parent, *parents):
            os.utime(path, (rootfs.source_date_epoch, rootfs.source_date_epoch), follow_symlinks=False)
