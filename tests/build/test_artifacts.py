"""The artifact store of distributed builds, over real HTTP on 127.0.0.1: every byte checked against its
sha256 name; a task's and a result's documents; what a worker checks before it builds."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import urllib.request
from pathlib import Path

import pytest

from tributary.build.artifacts import ArtifactError, ArtifactStore, StoreClient, StoreServer, unpack
from tributary.build.buildroot.repos import PinnedRepo
from tributary.build.buildroot.roots import RootRecipe
from tributary.build.task import BuildTask, FailureKind, Output, Status, TaskError, TaskResult
from tributary.build.worker import check_tools, mirror_repository
from tributary.errors import PathEscapeError
from tributary.tools.dnf import DnfError


@pytest.fixture
def served(tmp_path: Path):
    store = ArtifactStore(tmp_path / "store")
    server = StoreServer(store, host="127.0.0.1")
    try:
        yield store, server, StoreClient(server.url, server.token, timeout=30)
    finally:
        server.close()


def test_a_tree_travels_with_its_modes_and_times(served, tmp_path: Path) -> None:
    store, _, client = served
    source = tmp_path / "sources"
    (source / "sub").mkdir(parents=True)
    (source / "greet.spec").write_text("Name: greet\n")
    (source / "sub" / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(source / "sub" / "run.sh", 0o755)
    os.utime(source / "greet.spec", (1_700_000_000, 1_700_000_000))
    sha = store.add_tree(source)
    assert sha == store.add_tree(source), "the same tree is the same blob"
    fetched = client.fetch(sha, tmp_path / "got" / "sources.tar", what="sources")
    unpack(fetched, tmp_path / "out")
    assert (tmp_path / "out" / "greet.spec").read_text() == "Name: greet\n"
    assert os.stat(tmp_path / "out" / "sub" / "run.sh").st_mode & 0o777 == 0o755
    assert int(os.stat(tmp_path / "out" / "greet.spec").st_mtime) == 1_700_000_000


def test_a_blob_that_does_not_match_its_name_is_refused_and_nothing_is_written(served, tmp_path: Path) -> None:
    store, _, client = served
    sha = store.add_bytes(b"the real content\n")
    (store.directory / sha).write_bytes(b"something else\n")  # a store, or a disk, that altered it
    target = tmp_path / "fetched" / "file"
    with pytest.raises(ArtifactError, match=f"hash mismatch: the macros should have sha256 {sha}"):
        client.fetch(sha, target, what="the macros")
    assert not target.parent.exists() or not list(target.parent.iterdir())
    with pytest.raises(ArtifactError, match="hash mismatch"):
        client.read(sha, what="the macros")
    with pytest.raises(ArtifactError, match="hash mismatch"):  # and the client checks again when it publishes
        store.take(sha, tmp_path / "published.rpm", what="x.rpm")
    assert not (tmp_path / "published.rpm").exists()


def test_an_upload_is_kept_only_under_its_own_hash(served, tmp_path: Path) -> None:
    store, server, client = served
    package = tmp_path / "greet.rpm"
    package.write_bytes(b"an rpm\n")
    sha = client.put(package)
    assert store.path(sha) is not None and store.path(sha).read_bytes() == b"an rpm\n"
    lying = hashlib.sha256(b"another file").hexdigest()
    request = urllib.request.Request(f"{server.url}/blob/{lying}", data=b"an rpm\n", method="PUT",
                                     headers={"Authorization": f"Bearer {server.token}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400 and b"hash mismatch" in refused.value.read()
    assert store.path(lying) is None and not [p for p in store.directory.iterdir() if p.name.startswith(".")]


def test_the_store_answers_only_with_the_runs_token(served) -> None:
    store, server, _ = served
    sha = store.add_bytes(b"sources\n")
    with pytest.raises(ArtifactError, match="403"):
        StoreClient(server.url, "not-the-token").read(sha, what="sources")
    with pytest.raises(ArtifactError, match="unreachable"):
        StoreClient("http://127.0.0.1:1", server.token, timeout=5).read(sha, what="sources")


def test_unpack_accepts_files_and_directories_inside_only(tmp_path: Path) -> None:
    for name, kind in (("../escape", tarfile.REGTYPE), ("link", tarfile.SYMTYPE)):
        archive = tmp_path / f"{kind!r}.tar"
        with tarfile.open(archive, "w") as tar:
            entry = tarfile.TarInfo(name)
            entry.type = kind
            entry.linkname = "/etc/passwd"
            tar.addfile(entry, io.BytesIO(b""))
        with pytest.raises((ArtifactError, PathEscapeError)):
            unpack(archive, tmp_path / "out")
    assert not (tmp_path / "escape").exists() and not (tmp_path / "out" / "link").exists()


def repository(directory: Path) -> str:
    (directory / "repodata").mkdir(parents=True)
    (directory / "repodata" / "repomd.xml").write_text("<repomd/>\n")
    (directory / "Packages").mkdir()
    (directory / "Packages" / "bash.rpm").write_bytes(b"bash\n")
    return hashlib.sha256(b"<repomd/>\n").hexdigest()


def test_a_repository_is_mirrored_file_by_file_and_checked(served, tmp_path: Path) -> None:
    store, _, client = served
    checksum = repository(tmp_path / "repo")
    manifest = store.add_repository(tmp_path / "repo", checksum)
    mirror = mirror_repository(client, manifest, tmp_path / "mirrors")
    assert (mirror / "Packages" / "bash.rpm").read_bytes() == b"bash\n"
    assert mirror_repository(client, manifest, tmp_path / "mirrors") == mirror  # made once, kept

    (tmp_path / "repo" / "Packages" / "bash.rpm").write_bytes(b"tampered\n")  # served from where it is
    with pytest.raises(ArtifactError, match="hash mismatch"):
        mirror_repository(client, manifest, tmp_path / "other-mirrors")
    assert [p.name for p in (tmp_path / "other-mirrors").iterdir() if not p.name.endswith(".lock")] == []

    (tmp_path / "repo" / "repodata" / "repomd.xml").write_text("<repomd changed='1'/>\n")
    fresh = ArtifactStore(tmp_path / "store2")
    with pytest.raises(ArtifactError, match="changed since it was pinned"):
        fresh.add_repository(tmp_path / "repo", checksum)


def test_task_and_result_documents_round_trip_and_other_versions_are_refused() -> None:
    repo = PinnedRepo("stage0", "file:///cache/stage0/k", "a" * 64, True, ("file:///cache/stage0/k/KEY",), 99, ())
    task = BuildTask(id="0123456789ab", component="greet", sources="b" * 64, macros="c" * 64, check=True,
                     base=RootRecipe("x86_64", "1.0", (repo,), ("bash", "gcc")), requires_repos=(repo,),
                     store_url="http://127.0.0.1:1", store_token="token", optional=("tribex-rpm-config",),
                     repositories={repo.url: "d" * 64})
    again = BuildTask.from_json(task.to_json())
    assert again == task and again.base.key == task.base.key, "the worker's root has the client's key"
    assert task.key == "build-greet-0123456789ab"
    with pytest.raises(TaskError, match="install the client's tributary on the worker"):
        BuildTask.from_json(task.to_json().replace('"buildVersion": "', '"buildVersion": "old-'))
    result = TaskResult("greet", "w1", Status.FAILED, "e" * 64, (Output("rpms/x86_64/greet.rpm", "f" * 64),),
                        failure=FailureKind.BUILD, error="rpmbuild --rebuild failed", timings={"build": 1.5})
    assert TaskResult.from_json(result.to_json()) == result
    with pytest.raises(TaskError):
        TaskResult.from_json("{}")


def test_a_worker_without_dnf_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "bwrap").symlink_to("/usr/bin/bwrap")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(DnfError, match="dnf is not installed") as missing:
        check_tools()
    assert missing.value.hint == "apt-get install dnf"
