"""The root cache: roots made with the real dnf from real repositories, shared by hard links, never half-made."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from tributary.build.buildroot.definition import Repo
from tributary.build.buildroot.repos import RepositoryError, index_rpm_directory, pin
from tributary.build.buildroot.roots import RPMDB, RootCache, RootRecipe, UnsatisfiableError, clone_root
from tributary.tools.createrepo import index_directory


def noarch_rpm(top: Path, name: str, files: dict[str, str], requires: str = "", provides: str = "") -> None:
    """A small noarch package built with the host's rpmbuild (a fixture, not the code under test)."""
    install = "".join(f"install -D -m 0644 /dev/stdin %{{buildroot}}{path} <<'EOF'\n{text}\nEOF\n"
                      for path, text in files.items())
    spec = top / f"{name}.spec"
    spec.write_text(textwrap.dedent("""\
        Name: {name}
        Version: 1
        Release: 1
        Summary: {name}
        License: MIT
        BuildArch: noarch
        {requires}
        {provides}
        %description
        test package
        %install
        {install}
        %files
        {files}
        """).format(name=name, requires=f"Requires: {requires}" if requires else "",
                    provides=f"Provides: {provides}" if provides else "", install=install,
                    files="\n".join(files)))
    subprocess.run(["rpmbuild", "-bb", "--nodeps", "--define", f"_topdir {top}", "--define", "_rpmdir %{_topdir}/repo",
                    str(spec)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    top = tmp_path_factory.mktemp("rpms")
    noarch_rpm(top, "base-files", {"/usr/share/base/one": "one", "/etc/base.conf": "setting=1"})
    noarch_rpm(top, "tool", {"/usr/share/tool/data": "tool data"}, requires="base-files", provides="tool-capability")
    index_directory(top / "repo")
    return top / "repo"


def recipe(repo: Path, packages: tuple[str, ...], parent: str | None = None) -> RootRecipe:
    pinned = pin(Repo("local", repo.as_uri()), index_cache=repo.parent / "indexed")
    return RootRecipe("x86_64", "1", (pinned,), packages, parent)


def test_a_base_root_then_a_build_root_linked_to_it(repo: Path, tmp_path: Path) -> None:
    cache = RootCache(tmp_path / "roots")
    base = cache.get(recipe(repo, ("base-files",)))
    assert base.installed == ("base-files-1-1.noarch",)
    assert (base.path / "usr/share/base/one").read_text() == "one\n"
    for mountpoint in ("build", "proc", "dev", "tmp"):
        assert (base.path / mountpoint).is_dir(), "the sandbox binds here in a read-only root"
    assert not (base.path / RPMDB / "rpmdb.sqlite-wal").exists()

    derived = cache.get(recipe(repo, ("tool-capability",), parent=base.key), parent=base)
    assert derived.installed == ("base-files-1-1.noarch", "tool-1-1.noarch")
    shared = base.path / "usr/share/base/one"
    assert os.stat(derived.path / "usr/share/base/one").st_ino == os.stat(shared).st_ino, "linked, not copied"
    assert os.stat(derived.path / "etc/base.conf").st_ino != os.stat(base.path / "etc/base.conf").st_ino
    assert not (base.path / "usr/share/tool").exists(), "the base root never changes"
    assert json.loads((tmp_path / "roots" / f"{base.key}.json").read_text())["installed"] == ["base-files-1-1.noarch"]

    again = RootCache(tmp_path / "roots").get(recipe(repo, ("tool-capability",), parent=base.key), parent=base)
    assert again.path == derived.path


def test_an_unsatisfiable_package_names_it_and_the_repositories(repo: Path, tmp_path: Path) -> None:
    cache = RootCache(tmp_path / "roots")
    with pytest.raises(UnsatisfiableError) as caught:
        cache.get(recipe(repo, ("base-files", "no-such-thing")), what="BuildRequires", where="component x")
    message = str(caught.value)
    assert message.startswith("component x: BuildRequires 'no-such-thing': provided by no package")
    assert f"local ({repo.as_uri()})" in message
    assert sorted(p.name for p in (tmp_path / "roots").iterdir() if not p.name.endswith(".lock")) == [], \
        "nothing half-made is left in the cache"


def test_a_root_left_half_made_by_a_killed_process_is_removed(repo: Path, tmp_path: Path) -> None:
    cache = RootCache(tmp_path / "roots")
    wanted = recipe(repo, ("base-files",))
    leftover = tmp_path / "roots" / f".{wanted.key}.99999.new"
    (leftover / "root" / "usr").mkdir(parents=True)
    root = cache.get(wanted)
    assert not leftover.exists()
    assert root.installed == ("base-files-1-1.noarch",)


def test_clone_copies_what_is_written_in_place(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "usr/bin").mkdir(parents=True)
    (source / "usr/bin/tool").write_text("x")
    (source / RPMDB).mkdir(parents=True)
    (source / RPMDB / "rpmdb.sqlite").write_text("db")
    (source / "etc").mkdir()
    (source / "etc/conf").write_text("c")
    os.symlink("usr/bin", source / "bin")
    clone_root(source, tmp_path / "copy")
    copy = tmp_path / "copy"
    assert os.stat(copy / "usr/bin/tool").st_ino == os.stat(source / "usr/bin/tool").st_ino
    assert os.stat(copy / RPMDB / "rpmdb.sqlite").st_ino != os.stat(source / RPMDB / "rpmdb.sqlite").st_ino
    assert os.stat(copy / "etc/conf").st_ino != os.stat(source / "etc/conf").st_ino
    assert os.readlink(copy / "bin") == "usr/bin"


def test_a_directory_of_rpms_without_metadata_is_indexed_in_the_cache(repo: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    (plain / "noarch").mkdir(parents=True)
    for rpm in repo.rglob("*.rpm"):
        os.link(rpm, plain / "noarch" / rpm.name)
    indexed = index_rpm_directory(plain, tmp_path / "cache")
    assert (indexed / "repodata" / "repomd.xml").is_file()
    assert not (plain / "repodata").exists(), "the directory itself is left alone"
    assert index_rpm_directory(plain, tmp_path / "cache") == indexed
    pinned = pin(Repo("plain", plain.as_uri()), index_cache=tmp_path / "cache")
    assert pinned.url == indexed.as_uri() and len(pinned.checksum) == 64


def test_an_unreadable_repository_names_its_url(tmp_path: Path) -> None:
    with pytest.raises(RepositoryError, match=r"repository 'gone': file://.*/gone is not a directory"):
        pin(Repo("gone", (tmp_path / "gone").as_uri()), index_cache=tmp_path / "cache")
    with pytest.raises(RepositoryError, match=r"repository 'web': cannot read http://127\.0\.0\.1:9/repodata/repomd\.xml"):
        pin(Repo("web", "http://127.0.0.1:9"), index_cache=tmp_path / "cache")
