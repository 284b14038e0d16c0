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
from tributary.fsutil import resolve_inside, staged_directory
from tributary.image.definition import DescriptionResult, load_image
from tributary.image.disk import DISK_FORMATS, write_disks
from tributary.image.errors import ImageError
from tributary.image.manifest import Artifact, write_manifest
from tributary.image.oci import (
    OciResult,
    check_with_skopeo,
    write_docker_archive,
    write_oci,
)
from tributary.image.rootfs import RootfsResult, build_rootfs
from tributary.image.spec import FORMATS
from tributary.image.wsl import write_wsl


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
        write_manifest(stage, spec, rootfs, artifacts)
    final = [Artifact(a.format, out_dir / a.path.relative_to(stage), a.digest, a.details) for a in artifacts]
    return ImageBuild(name, out_dir, rootfs, final, described.notes, oci)


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
