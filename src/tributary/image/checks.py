"""``trib image test``: check the built artifacts themselves, not the work tree they came from.

The container check unpacks the OCI layer that was written and runs the image's command from it in a
sandbox (no network, no host files); skopeo must read the layout with the digest manifest.json
records; a WSL tarball must carry its two configuration files.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tributary.config import Project
from tributary.image.definition import load_image
from tributary.image.rootfs import ImageError
from tributary.tools import bwrap, skopeo

COMMAND_TIMEOUT_S = 60


@dataclass(frozen=True)
class CheckResult:
    check: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, object]:
        return {"check": self.check, "ok": self.ok, "detail": self.detail}


def test_image(project: Project, name: str) -> list[CheckResult]:
    spec = load_image(project, name).spec
    out_dir = project.output_dir / "images" / name
    manifest_path = out_dir / "manifest.json"
    if not manifest_path.is_file():
        raise ImageError(f"image {name!r} is not built ({manifest_path} is missing)", hint=f"run 'trib image build {name}'")
    manifest = json.loads(manifest_path.read_text())
    results: list[CheckResult] = []
    for entry in manifest["formats"]:
        artifact = out_dir / entry["file"]
        if entry["format"] == "oci":
            results += _check_oci(artifact, entry["digest"], spec.container.tag, [*spec.container.entrypoint, *spec.container.cmd])
        elif entry["format"] == "wsl":
            results.append(_check_wsl(artifact))
        elif entry["format"] == "docker-archive":
            found = skopeo.inspect(skopeo.docker_archive_reference(artifact))
            results.append(CheckResult("docker-archive readable", bool(found.get("Layers")), f"{len(found.get('Layers', []))} layer(s)"))
    return results


def _check_oci(layout: Path, digest: str, tag: str, command: list[str]) -> list[CheckResult]:
    inspected = skopeo.inspect(skopeo.oci_reference(layout, tag))
    results = [CheckResult("skopeo agrees with manifest.json", inspected.get("Digest") == digest,
                           f"skopeo {inspected.get('Digest')}, manifest.json {digest}")]
    if not command:
        return [*results, CheckResult("container command", True, "the image names no command: nothing to run")]
    index = json.loads((layout / "index.json").read_text())
    image_manifest = json.loads(_blob(layout, index["manifests"][0]["digest"]).read_text())
    with tempfile.TemporaryDirectory(prefix="trib-image-test-") as scratch:
        root = Path(scratch)
        for layer in image_manifest["layers"]:
            with tarfile.open(_blob(layout, layer["digest"])) as archive:
                archive.extractall(root, filter="tar")
        argv = bwrap.command(command, mounts=[bwrap.bind(str(root), "/"), bwrap.Mount("proc", "/proc"),
                                              bwrap.Mount("dev", "/dev"), bwrap.tmpfs("/tmp")],
                             env={"PATH": "/usr/bin:/usr/sbin:/bin:/sbin"}, uid=0, gid=0, chdir="/", hostname="image-test")
        try:
            run = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            return [*results, CheckResult("container command", False, f"{' '.join(command)} ran longer than {COMMAND_TIMEOUT_S} s")]
    output = (run.stdout + run.stderr).strip().splitlines()
    detail = f"{' '.join(command)} -> exit {run.returncode}" + (f": {output[-1]}" if output else "")
    return [*results, CheckResult("container command runs", run.returncode == 0, detail)]


def _blob(layout: Path, digest: str) -> Path:
    algorithm, value = digest.split(":", 1)
    return layout / "blobs" / algorithm / value


def _check_wsl(path: Path) -> CheckResult:
    with tarfile.open(path) as archive:
        names = {name.lstrip("./") for name in archive.getnames()}
    missing = [name for name in ("etc/wsl-distribution.conf", "etc/wsl.conf") if name not in names]
    return CheckResult("wsl configuration files", not missing, "present" if not missing else f"missing: {', '.join(missing)}")
