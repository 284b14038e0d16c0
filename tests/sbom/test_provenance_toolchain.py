"""Provenance names the toolchain a build ran with (recorded in its build-cache stamp), not the one installed later."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from support import Published

from tributary.build.cache import BuildCache
from tributary.sbom import provenance, write
from tributary.sbom.collect import collect_component, component_outputs
from tributary.tools import toolchain


def statement_of(written: write.Written) -> dict:
    envelope = next(p for p in written.paths if p.name.endswith(".provenance.json"))
    return json.loads(base64.b64decode(json.loads(envelope.read_text())["payload"]))


def toolchain_of(statement: dict) -> dict[str, dict]:
    return {d["name"].removeprefix("toolchain:"): d for d in statement["predicate"]["buildDefinition"]["resolvedDependencies"]
            if d["name"].startswith("toolchain:")}


@pytest.fixture
def copy(published: Published, tmp_path):
    """The published greet's model, and a scratch project (output and work directories) to write its documents in."""
    project = published.project
    component = collect_component(project, "greet")
    outputs = component_outputs(project, "greet")
    scratch = SimpleNamespace(output_dir=tmp_path / "out", work_dir=tmp_path / "work")
    return scratch, component, outputs


def test_the_build_records_its_toolchain_in_the_cache_stamp(published: Published) -> None:
    cache = BuildCache(published.project)
    assert cache.toolchain("greet") == toolchain.versions()
    assert cache.recorded("greet")  # the stamp is still read as before


def test_provenance_names_the_recorded_toolchain_after_a_host_upgrade(copy, monkeypatch) -> None:
    scratch, component, outputs = copy
    BuildCache(scratch).record("greet", "key", outputs, toolchain={"gcc": "12.2.0", "rpmbuild": "4.18.0"})
    monkeypatch.setattr(write, "versions", lambda: {"gcc": "99.1.0", "rpmbuild": "9.9.9"})  # upgraded since
    statement = statement_of(write.write_component_documents(scratch, component, outputs, key=None))
    named = toolchain_of(statement)
    assert {program: entry["uri"] for program, entry in named.items()} == \
        {"gcc": "pkg:generic/gcc@12.2.0", "rpmbuild": "pkg:generic/rpmbuild@4.18.0"}
    assert not any("annotations" in entry for entry in named.values())
    assert statement["predicate"]["runDetails"]["builder"]["version"]["gcc"] == "12.2.0"
    assert "toolchainRecordedAtBuild" not in statement["predicate"]["buildDefinition"]["internalParameters"]


def test_a_stamp_without_a_toolchain_falls_back_to_the_installed_one_and_says_so(copy, monkeypatch) -> None:
    scratch, component, outputs = copy
    BuildCache(scratch).record("greet", "key", outputs)  # as an older tributary wrote it
    assert BuildCache(scratch).toolchain("greet") is None and BuildCache(scratch).recorded("greet", key="key")
    monkeypatch.setattr(write, "versions", lambda: {"gcc": "99.1.0"})
    statement = statement_of(write.write_component_documents(scratch, component, outputs, key=None))
    (gcc,) = toolchain_of(statement).values()
    assert gcc["uri"] == "pkg:generic/gcc@99.1.0"
    assert gcc["annotations"] == {"note": provenance.TOOLCHAIN_UNRECORDED}
    assert statement["predicate"]["buildDefinition"]["internalParameters"]["toolchainRecordedAtBuild"] is False


def test_a_stamp_from_before_the_toolchain_field_still_reads(tmp_path: Path) -> None:
    cache = BuildCache(SimpleNamespace(work_dir=tmp_path, output_dir=tmp_path / "out"))
    output = tmp_path / "x.rpm"  # stamps named outputs by absolute path then
    output.write_bytes(b"rpm")
    cache.directory.mkdir(parents=True)
    (cache.directory / "x.json").write_text(json.dumps({"key": "k", "outputs": [
        {"path": str(output), "sha256": hashlib.sha256(b"rpm").hexdigest()}]}))
    assert cache.toolchain("x") is None
    assert cache.recorded("x", key="k") == [output]


def test_a_moved_project_finds_its_own_outputs_not_those_where_it_was_built(tmp_path: Path) -> None:
    built, moved = tmp_path / "built", tmp_path / "moved"
    (built / "out" / "rpms").mkdir(parents=True)
    (built / "out" / "rpms" / "x.rpm").write_bytes(b"rpm")
    BuildCache(SimpleNamespace(work_dir=built / "work", output_dir=built / "out")).record(
        "x", "k", [built / "out" / "rpms" / "x.rpm"])
    shutil.copytree(built, moved)
    assert json.loads((moved / "work" / "build-cache" / "x.json").read_text())["outputs"][0]["path"] == "rpms/x.rpm"
    cache = BuildCache(SimpleNamespace(work_dir=moved / "work", output_dir=moved / "out"))
    assert cache.recorded("x", key="k") == [moved / "out" / "rpms" / "x.rpm"]
