"""An image's SBOMs: made while `trib image build` runs, carried inside the image, every RPM by its real sha256."""

from __future__ import annotations

import hashlib
import json

import pytest
from support import Published
from test_sbom import check_cdx, check_spdx

from tributary.sbom import EMBED_DIR

# Every image of the example distribution, each in one of its formats (the SBOM does not depend on it).
IMAGES = {"container-base": "oci", "container-distroless": "oci", "wsl": "wsl", "vm-base": "raw"}


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_an_image_carries_its_sbom_and_lists_every_rpm_with_its_sha256(published: Published, trib, tmp_path, name: str) -> None:
    project = published.project
    args = ["-C", str(project.root), "--config-file", str(project.files[-1].path)]
    built = trib(*args, "image", "build", name, "--format", IMAGES[name])
    assert built.code == 0, built.err
    written = {kind: project.output_dir / "sbom" / "images" / f"{name}.{kind}.json" for kind in ("spdx", "cdx")}
    root = project.work_dir / "images" / name / "rootfs"
    for path in written.values():
        assert (root / EMBED_DIR.lstrip("/") / path.name).read_bytes() == path.read_bytes()
    document = check_spdx(written["spdx"].read_bytes(), tmp_path, name)
    bom = check_cdx(written["cdx"].read_bytes())

    manifest = json.loads((project.output_dir / "images" / name / "manifest.json").read_text())
    assert manifest["packages"]
    rpms = {p["packageFileName"]: p for p in document["packages"] if p["SPDXID"].startswith("SPDXRef-RPM-")}
    components = {c["properties"][0]["value"]: c for c in bom["components"]}  # tributary:nevra comes first
    image_id = next(p["SPDXID"] for p in document["packages"] if p["SPDXID"].startswith("SPDXRef-Image-"))
    contains = {r["relatedSpdxElement"] for r in document["relationships"]
                if r["spdxElementId"] == image_id and r["relationshipType"] == "CONTAINS"}
    for package in manifest["packages"]:
        filename = f"{package['nevra']}.rpm"
        channel_file = project.output_dir / "repo" / package["channel"] / "Packages" / filename[0].lower() / filename
        real = hashlib.sha256(channel_file.read_bytes()).hexdigest()
        assert rpms[filename]["checksums"] == [{"algorithm": "SHA256", "checksumValue": real}]
        assert rpms[filename]["SPDXID"] in contains
        assert components[package["nevra"]]["hashes"] == [{"alg": "SHA-256", "content": real}]
    assert len(rpms) == len(manifest["packages"]) == len(bom["components"])
    greet = components[next(n for n in components if n.startswith("greet-1"))]
    assert greet["pedigree"]["ancestors"][0]["name"] == "greet" and len(greet["pedigree"]["patches"]) == 5

    again = trib(*args, "-O", "json", "sbom", "--image", name)
    assert again.code == 0, again.err
    assert {row["path"] for row in json.loads(again.out)} == {str(p) for p in written.values()}
    assert (root / EMBED_DIR.lstrip("/") / f"{name}.spdx.json").read_bytes() == written["spdx"].read_bytes()
