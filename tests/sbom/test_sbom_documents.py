"""Document details: SPDX ids that never merge two packages, every sources-file hash named as each format
wants it (or reported), a source without a URL, and --gnupghome on its own."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest
from support import Published
from test_sbom import check_cdx, check_spdx

from tributary.cli.sbom import provenance_key
from tributary.sbom import cyclonedx, hashes, spdx, write
from tributary.sbom.collect import collect_component, hash_problems
from tributary.sbom.model import SourceArchive


@pytest.fixture(scope="module")
def greet(published: Published):
    return collect_component(published.project, "greet")


def test_ids_of_names_that_fold_together_differ() -> None:
    assert spdx.spdx_id("Upstream", "greet") == "SPDXRef-Upstream-greet"  # a clean name is kept as it is
    folded = {spdx.spdx_id("RPM", name) for name in ("a+b", "a-b", "a_b", "a b", "a++b")}
    assert len(folded) == 5 and "SPDXRef-RPM-a-b" in folded
    assert all(ident.startswith("SPDXRef-RPM-a-b") for ident in folded)
    assert spdx.spdx_id("RPM", "x-1.x86_64") != spdx.spdx_id("RPM", "x-1.x86-64")


def test_packages_whose_names_fold_together_are_both_described(greet, tmp_path) -> None:
    rpm = greet.rpms[0]
    twins = tuple(replace(rpm, name=name, filename=f"{name}-{rpm.evr}.{rpm.arch}.rpm") for name in ("foo+bar", "foo-bar"))
    document = check_spdx(spdx.component_document(replace(greet, rpms=twins)), tmp_path, "twins")
    described = {p["packageFileName"] for p in document["packages"] if "packageFileName" in p}
    assert {t.filename for t in twins} <= described
    ids = [p["SPDXID"] for p in document["packages"]]
    assert len(ids) == len(set(ids))


def test_a_different_package_under_a_taken_id_is_kept_under_another() -> None:
    document = spdx._Document(0)
    first = document.add({"SPDXID": "SPDXRef-X", "name": "one"})
    assert document.add({"SPDXID": "SPDXRef-X", "name": "one"}) == first  # the same package once
    second = document.add({"SPDXID": "SPDXRef-X", "name": "two"})
    assert second == "SPDXRef-X-2" and [p["name"] for p in document.packages.values()] == ["one", "two"]


@pytest.mark.parametrize(("hash_type", "digest_bytes", "spdx_name", "cdx_name"), [
    ("md5", 16, "MD5", "MD5"),
    ("sha1", 20, "SHA1", "SHA-1"),
    ("sha224", 28, "SHA224", None),
    ("sha256", 32, "SHA256", "SHA-256"),
    ("sha384", 48, "SHA384", "SHA-384"),
    ("sha512", 64, "SHA512", "SHA-512"),
    ("sha3_224", 28, None, None),
    ("sha3_256", 32, "SHA3-256", "SHA3-256"),
    ("sha3-384", 48, "SHA3-384", "SHA3-384"),
    ("SHA3_512", 64, "SHA3-512", "SHA3-512"),
    ("blake2b", 64, "BLAKE2b-512", "BLAKE2b-512"),
    ("blake2b", 32, "BLAKE2b-256", "BLAKE2b-256"),
    ("blake2b-384", 48, "BLAKE2b-384", "BLAKE2b-384"),
    ("blake2b", 20, None, None),
    ("blake2s", 32, None, None),
    ("blake3", 32, "BLAKE3", "BLAKE3"),
    ("shake_128", 32, None, None),
])
def test_hash_names_per_format(hash_type, digest_bytes, spdx_name, cdx_name) -> None:
    digest = "ab" * digest_bytes
    assert hashes.algorithm(hash_type, digest, hashes.SPDX) == spdx_name
    assert hashes.algorithm(hash_type, digest, hashes.CYCLONEDX) == cdx_name


def _source(name: str, hash_type: str, url: str | None = "https://lookaside.example.org/x") -> SourceArchive:
    digest = hashlib.new(hash_type.replace("-", "_")).hexdigest() if "shake" not in hash_type else "ab" * 32
    return SourceArchive(name, hash_type, digest, url)


def test_sources_with_any_hash_make_valid_documents_and_unnamed_ones_are_reported(greet, tmp_path) -> None:
    sources = tuple(_source(f"{t}.tar.gz", t) for t in ("sha224", "sha3_256", "blake2b", "blake2s", "md5", "sha512"))
    component = replace(greet, sources=sources)
    document = check_spdx(spdx.component_document(component), tmp_path, "hashes")
    checksums = {p["name"]: p.get("checksums") for p in document["packages"] if p["name"].endswith(".tar.gz")}
    assert {name: [c["algorithm"] for c in value or []] for name, value in checksums.items()} == {
        "sha224.tar.gz": ["SHA224"], "sha3_256.tar.gz": ["SHA3-256"], "blake2b.tar.gz": ["BLAKE2b-512"],
        "blake2s.tar.gz": [], "md5.tar.gz": ["MD5"], "sha512.tar.gz": ["SHA512"]}
    blake2s = next(p for p in document["packages"] if p["name"] == "blake2s.tar.gz")
    assert f"blake2s:{sources[3].digest}" in blake2s["comment"]

    bom = check_cdx(cyclonedx.component_document(component))
    files = {c["name"]: c for c in bom["metadata"]["component"]["components"]}
    assert {name: [h["alg"] for h in c.get("hashes", [])] for name, c in files.items()} == {
        "sha224.tar.gz": [], "sha3_256.tar.gz": ["SHA3-256"], "blake2b.tar.gz": ["BLAKE2b-512"],
        "blake2s.tar.gz": [], "md5.tar.gz": ["MD5"], "sha512.tar.gz": ["SHA-512"]}
    assert "hashes" not in files["sha224.tar.gz"]
    assert {"name": "tributary:unlisted-hash", "value": f"sha224:{sources[0].digest}"} in files["sha224.tar.gz"]["properties"]

    problems = hash_problems(component)
    assert len(problems) == 2
    assert problems[0].startswith("source sha224.tar.gz: CycloneDX cannot name its sha224 hash")
    assert problems[1].startswith("source blake2s.tar.gz: SPDX and CycloneDX cannot name its blake2s hash")


def test_a_source_without_a_url_says_so(greet, tmp_path) -> None:
    component = replace(greet, sources=(_source("local.tar.gz", "sha512", url=None),))
    document = check_spdx(spdx.component_document(component), tmp_path, "nourl")
    (package,) = [p for p in document["packages"] if p["name"] == "local.tar.gz"]
    assert "None" not in package["comment"] and "URL is not configured" in package["comment"]
    assert package["downloadLocation"] == "NOASSERTION"


def test_gnupghome_alone_is_trib_gpg_keys_key_ring_or_an_error(published, trib, signing_key, monkeypatch,
                                                              tmp_path) -> None:
    project = published.project
    args = ["-C", str(project.root), "--config-file", str(project.files[-1].path)]
    keys = []

    def writer(project, name, outputs=None, *, key=None):
        keys.append(key)
        return write.Written(name, "component", [Path(f"/nowhere/{name}.spdx.json")])

    monkeypatch.setattr(write, "write_component", writer)
    monkeypatch.delenv("TRIB_GPG_KEY", raising=False)
    refused = trib(*args, "sbom", "greet", "--gnupghome", str(signing_key.gnupghome))
    assert refused.code == 2 and "--gnupghome" in refused.err and "--sign-key" in refused.err
    assert keys == []

    monkeypatch.setenv("TRIB_GPG_KEY", signing_key.fingerprint)
    monkeypatch.setenv("TRIB_GNUPGHOME", str(tmp_path / "not-this-one"))
    signed = trib(*args, "-O", "json", "sbom", "greet", "--gnupghome", str(signing_key.gnupghome))
    assert signed.code == 0, signed.err
    assert json.loads(signed.out)[0]["subject"] == "greet"
    assert keys[-1].fingerprint == signing_key.fingerprint and keys[-1].gnupghome == signing_key.gnupghome
    key = provenance_key(None, signing_key.gnupghome)
    assert key is not None and key.gnupghome == signing_key.gnupghome
