"""SBOMs and provenance of the example distribution, built once per session (the ``published`` fixture).

Every document is checked by the ecosystem's own validators (spdx-tools, cyclonedx-python-lib's strict
1.6 schema), against the example's configuration (each overlay a pedigree patch), and against the files
it describes (every sha256 recomputed).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
from support import Published

from tributary.sbom import cyclonedx, provenance, spdx
from tributary.sbom.collect import collect_component, license_problems
from tributary.sbom.licenses import parse_license
from tributary.sbom.model import Component

CDX = JsonStrictValidator(SchemaVersion.V1_6)


def check_spdx(content: bytes, tmp_path: Path, name: str) -> dict:
    path = tmp_path / f"{name}.spdx.json"
    path.write_bytes(content)
    messages = validate_full_spdx_document(parse_file(str(path)))
    assert messages == [], [m.validation_message for m in messages]
    return json.loads(content)


def check_cdx(content: bytes) -> dict:
    error = CDX.validate_str(content.decode())
    assert error is None, str(error)
    return json.loads(content)


@pytest.fixture(scope="module")
def components(published: Published) -> dict[str, Component]:
    project = published.project
    return {name: collect_component(project, name) for name in project.component_names}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_component_sbom_is_valid_spdx_and_cyclonedx(components, published, tmp_path) -> None:
    output = published.project.output_dir
    for name, component in components.items():
        document = check_spdx(spdx.component_document(component), tmp_path, name)
        bom = check_cdx(cyclonedx.component_document(component))
        packages = {p["packageFileName"]: p for p in document["packages"] if "packageFileName" in p}
        for rpm in (component.srpm, *component.rpms):
            where = output / ("srpms" if rpm.is_source else f"rpms/{rpm.arch}") / rpm.filename
            assert packages[rpm.filename]["checksums"][0]["checksumValue"] == sha256(where)
        assert {c["purl"] for c in bom["components"]} == {r.purl(component.distro) for r in component.rpms}


def test_each_overlay_is_a_pedigree_patch_and_an_annotation(components, published) -> None:
    project = published.project
    for name, component in components.items():
        overlays = project.resolve(name).config.overlays
        bom = json.loads(cyclonedx.component_document(component))
        described = bom["metadata"]["component"]
        patches = described["pedigree"].get("patches", [])
        assert [p["resolves"][0]["description"].split(" (category:")[0] for p in patches] == \
            [o.description or "no description" for o in overlays]
        for rpm in bom["components"]:
            assert rpm["pedigree"].get("patches", []) == patches
        notes = [a["comment"] for a in json.loads(spdx.component_document(component))["packages"][0]["annotations"]]
        for number, overlay in enumerate(overlays, 1):
            assert any(note.startswith(f"overlay {number} ({overlay.type}): ") for note in notes)
    greet = json.loads(cyclonedx.component_document(components["greet"]))["metadata"]["component"]["pedigree"]
    patch_file = components["greet"].srpm and project.resolve("greet").rendered_dir / "greet-1.1-tribex-default-name.patch"
    assert greet["patches"][0]["diff"]["text"]["content"] == patch_file.read_text()
    assert greet["ancestors"][0]["purl"].startswith("pkg:rpm/example-upstream/greet@1.1?arch=src&distro=example-upstream-43")
    libgreet = json.loads(cyclonedx.component_document(components["libgreet"]))["metadata"]["component"]["pedigree"]
    types = [p["type"] for p in libgreet["patches"]]
    assert types.count("backport") == 2 and set(types) == {"backport", "unofficial"}
    assert {p["resolves"][0]["type"] for p in libgreet["patches"]} == {"security", "enhancement", "defect"}


def test_purls_and_the_trail_back_to_upstream(components, published, tmp_path) -> None:
    greet = components["greet"]
    lock_commit = pinned_commit(published.project)
    assert greet.upstream is not None and greet.upstream.commit == lock_commit
    assert all(len(c.upstream.commit or "") == 40 for c in components.values() if c.upstream)  # snapshot-resolved
    rpm = next(r for r in greet.rpms if r.name == "greet")
    purl = rpm.purl(greet.distro)
    assert purl == f"pkg:rpm/tribex/greet@{rpm.version}-{rpm.release}?arch={rpm.arch}&distro=tribex-1.0&upstream={greet.srpm.filename}"
    assert PackageURL.from_string(purl).to_string() == purl
    assert PackageURL.from_string(greet.upstream.purl).qualifiers["vcs_url"].endswith(f"@{lock_commit}")
    document = check_spdx(spdx.component_document(greet), tmp_path, "greet")
    ids = {p["packageFileName"]: p["SPDXID"] for p in document["packages"] if "packageFileName" in p}
    relations = {(r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"]) for r in document["relationships"]}
    srpm = ids[greet.srpm.filename]
    assert (ids[rpm.filename], "GENERATED_FROM", srpm) in relations
    assert (srpm, "DESCENDANT_OF", "SPDXRef-Upstream-greet") in relations
    (tarball,) = greet.sources
    assert (srpm, "CONTAINS", spdx.spdx_id("Source", "greet", tarball.filename)) in relations
    source = next(p for p in document["packages"] if p["name"] == tarball.filename)
    assert source["checksums"] == [{"algorithm": "SHA512", "checksumValue": tarball.digest}]


def test_an_invalid_license_tag_is_reported_not_dropped(components, tmp_path) -> None:
    assert parse_license("MIT AND GPL-2.0-or-later").expression == "MIT AND GPL-2.0-or-later"
    assert parse_license("gpl-2.0+").expression == "GPL-2.0-or-later"
    assert parse_license("LicenseRef-Fedora-Public-Domain").expression == "LicenseRef-Fedora-Public-Domain"
    bad = parse_license("GPLv2+ and (MIT")
    assert bad.problem and "GPLv2+ and (MIT" in bad.problem and bad.expression.startswith("LicenseRef-rpm-")
    greet = components["greet"]
    broken = replace(greet, rpms=tuple(replace(r, license=bad) for r in greet.rpms))
    assert license_problems(broken.rpms) == [f"{r.filename}: {bad.problem}" for r in broken.rpms]
    document = check_spdx(spdx.component_document(broken), tmp_path, "broken")
    (extracted,) = document["hasExtractedLicensingInfos"]
    assert extracted["licenseId"] == bad.expression and extracted["extractedText"] == "GPLv2+ and (MIT"
    assert any(p.get("licenseComments") == bad.problem for p in document["packages"])
    bom = check_cdx(cyclonedx.component_document(broken))
    component = bom["components"][0]
    assert component["licenses"] == [{"license": {"name": "GPLv2+ and (MIT"}}]
    assert {"name": "tributary:license-problem", "value": bad.problem} in component["properties"]


def test_documents_are_byte_identical_from_run_to_run(components, published) -> None:
    for name in ("greet", "libgreet"):
        again = collect_component(published.project, name)
        assert spdx.component_document(again) == spdx.component_document(components[name])
        assert cyclonedx.component_document(again) == cyclonedx.component_document(components[name])


def refuse_to_sign(*args: object, **kwargs: object) -> bytes:
    raise AssertionError("signed again, though nothing changed")


def test_signed_provenance_verifies_and_a_tampered_rpm_does_not(published, trib, signing_key, tmp_path,
                                                                monkeypatch) -> None:
    project = published.project
    args = ["-C", str(project.root), "--config-file", str(project.files[-1].path)]
    key = ["--sign-key", signing_key.fingerprint, "--gnupghome", str(signing_key.gnupghome)]
    first = trib(*args, "-O", "json", "sbom", "greet", *key)
    assert first.code == 0, first.err
    written = [Path(row["path"]) for row in json.loads(first.out)]
    assert sorted(p.name for p in written) == ["greet.cdx.json", "greet.provenance.json", "greet.spdx.json"]
    before = {p: p.read_bytes() for p in written}
    files = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in written}
    with monkeypatch.context() as patched:  # the same build again: nothing to sign, nothing rewritten
        patched.setattr(provenance.gpg, "sign_data", refuse_to_sign)
        again = trib(*args, "sbom", "greet", *key)
    assert again.code == 0, again.err
    assert {p: p.read_bytes() for p in written} == before
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in written} == files
    envelope = project.output_dir / "sbom" / "greet.provenance.json"
    envelope.chmod(0o600)  # a file that is not as it should be is written again, to the same bytes
    assert trib(*args, "sbom", "greet", *key).code == 0
    assert {p: p.read_bytes() for p in written} == before  # deterministic, signature included
    assert envelope.stat().st_mode & 0o777 == 0o644
    statement = json.loads(__import__("base64").b64decode(json.loads(envelope.read_text())["payload"]))
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    materials = {d["name"]: d for d in statement["predicate"]["buildDefinition"]["resolvedDependencies"]}
    assert materials["upstream:greet"]["digest"]["gitCommit"] == pinned_commit(project)
    assert "config-fingerprint" in materials and "source:greet-1.1.tar.gz" in materials
    # The buildroot: its repositories by repomd checksum, and every package installed in it.
    stage0 = materials["buildroot-repository:tribex-stage0"]
    assert stage0["uri"].startswith("file://") and len(stage0["digest"]["sha256"]) == 64
    installed = [name for name in materials if name.startswith("buildroot-package:")]
    assert "buildroot-package:tribex-rpm-config-1.0-1.tribex10.noarch" in installed
    assert any(name.startswith("buildroot-package:gcc-") for name in installed)
    assert materials["buildroot-package:tribex-rpm-config-1.0-1.tribex10.noarch"]["uri"] == \
        "pkg:rpm/tribex-rpm-config@1.0-1.tribex10?arch=noarch"
    assert statement["predicate"]["buildDefinition"]["internalParameters"]["buildroot"]

    public = tmp_path / "key.asc"
    public.write_bytes(signing_key.public_key())
    ok = trib("verify", str(envelope), "--key", str(public))
    assert ok.code == 0, ok.err
    monkeypatch.setenv("TRIB_GPG_KEY", signing_key.fingerprint)
    monkeypatch.setenv("TRIB_GNUPGHOME", str(signing_key.gnupghome))
    assert trib("verify", str(envelope)).code == 0

    copy = tmp_path / "out"
    for kind in ("srpms", "rpms", "sbom"):
        shutil.copytree(project.output_dir / kind, copy / kind)
    victim = copy / statement["subject"][-1]["name"]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    tampered = trib("verify", str(copy / "sbom" / "greet.provenance.json"))
    assert tampered.code == 1
    assert tampered.err.count("\n") == 1 and "does not match" in tampered.err and victim.name in tampered.err

    forged = json.loads(envelope.read_text())
    forged["payload"] = __import__("base64").b64encode(json.dumps({**statement, "subject": []}).encode()).decode()
    (copy / "forged.json").write_text(json.dumps(forged))
    refused = trib("verify", str(copy / "forged.json"))
    assert refused.code == 1 and "signature check failed" in refused.err
    monkeypatch.delenv("TRIB_GPG_KEY")
    signed = envelope.read_bytes()
    kept = trib(*args, "sbom", "greet")  # no key, the same packages: the signed provenance stays
    assert kept.code == 0 and "kept as it is" in kept.err
    assert envelope.read_bytes() == signed
    envelope.unlink()  # deleting it is how a user accepts unsigned provenance
    unsigned = trib(*args, "-q", "sbom", "greet")
    assert unsigned.code == 0
    assert "not signed" in trib("verify", str(envelope)).err
    assert trib("verify", str(envelope), "--allow-unsigned").code == 0


def pinned_commit(project) -> str:
    """greet's upstream commit: the example pins it (the session's build has no locks)."""
    return project.resolve("greet").config.spec.upstream_commit
