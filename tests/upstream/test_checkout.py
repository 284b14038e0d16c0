"""Writing a commit's tree into a directory, fetch_sources for upstream components, and render_tree."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tributary.errors import PathEscapeError
from tributary.render.render import render_tree
from tributary.upstream.checkout import checkout_upstream, export_tree
from tributary.upstream.errors import UpstreamError
from tributary.upstream.sources import fetch_sources

CHECK = "8a703d672120f80ce19dbe4ea275515d3ef949cc"
ENV_NAME = "a0450aa6d35979c6e7e0f6a54f1bfe2ec901d320"


def fast_import(repo: Path, files: list[tuple[str, str, bytes]]) -> str:
    """A bare repository with one commit holding ``(mode, path, content)`` entries; its id."""
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    stream = b"commit refs/heads/f43\ncommitter U <u@example.org> 1735689600 +0000\ndata 2\nc\n"
    for mode, path, content in files:
        if mode == "160000":
            stream += f"M 160000 {content.decode()} {path}\n".encode()
        else:
            stream += f"M {mode} inline {path}\ndata {len(content)}\n".encode() + content + b"\n"
    subprocess.run(["git", f"--git-dir={repo}", "fast-import", "--quiet"], input=stream + b"\ndone\n", check=True)
    return subprocess.run(["git", f"--git-dir={repo}", "rev-parse", "f43"], capture_output=True, text=True,
                          check=True).stdout.strip()


def listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_export_writes_the_tree_with_modes_and_links_and_no_git_dir(tmp_path):
    commit = fast_import(tmp_path / "r.git", [
        ("100644", "pkg.spec", b"Name: pkg\n"),
        ("100755", "scripts/gen.sh", b"#!/bin/sh\n"),
        ("120000", "scripts/current", b"gen.sh"),
        ("160000", "vendored", b"1" * 40),  # a submodule link: skipped
        ("100644", ".gitattributes", b"* text eol=crlf\n"),  # no filter is applied
    ])
    dest = tmp_path / "out"
    dest.mkdir()
    written = export_tree(tmp_path / "r.git", commit, dest)
    assert sorted(written) == [".gitattributes", "pkg.spec", "scripts/current", "scripts/gen.sh"]
    assert listing(dest) == [".gitattributes", "pkg.spec", "scripts", "scripts/current", "scripts/gen.sh"]
    assert (dest / "pkg.spec").read_bytes() == b"Name: pkg\n"
    assert (dest / "pkg.spec").stat().st_mode & 0o777 == 0o644
    assert (dest / "scripts/gen.sh").stat().st_mode & 0o777 == 0o755
    assert (dest / "scripts/current").readlink() == Path("gen.sh")


@pytest.mark.parametrize("target", [b"../../outside", b"/etc/passwd"])
def test_a_symlink_leading_out_of_the_tree_is_refused(tmp_path, target):
    commit = fast_import(tmp_path / "r.git", [("100644", "pkg.spec", b"x\n"), ("120000", "evil", target)])
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(PathEscapeError, match="dist-git symlink 'evil'"):
        export_tree(tmp_path / "r.git", commit, dest)
    assert not (dest / "evil").is_symlink()


def test_a_file_is_never_written_through_a_symlink(tmp_path):
    commit = fast_import(tmp_path / "r.git", [("100644", "a", b"x\n")])
    dest = tmp_path / "out"
    dest.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    (dest / "a").symlink_to(victim)
    with pytest.raises(UpstreamError, match="dist-git path 'a' is already in"):
        export_tree(tmp_path / "r.git", commit, dest)
    assert victim.read_text() == "keep\n"


def test_fetch_sources_for_an_upstream_component(example_upstream, example_project, tmp_path):
    project = example_project(f"file://{example_upstream.root}/git/$pkg.git")
    dest = tmp_path / "greet"
    dest.mkdir()
    fetch_sources(project, project.resolve("greet"), dest)
    assert listing(dest) == [".gitignore", "greet.spec", "sources"]
    assert "%check" in (dest / "greet.spec").read_text()  # the pinned 2025-04-14 commit


def test_the_spec_is_renamed_after_the_component(example_upstream, example_project, tmp_path):
    project = example_project(
        f"file://{example_upstream.root}/git/$pkg.git",
        extra=f'[components.hello]\nspec = {{ type = "upstream", upstream-name = "greet", upstream-commit = "{ENV_NAME[:7]}" }}\n',
    )
    dest = tmp_path / "hello"
    dest.mkdir()
    resolution = checkout_upstream(project, project.resolve("hello"), dest)
    assert (resolution.commit, resolution.reason, resolution.source.package) == (ENV_NAME, "pinned", "greet")
    assert listing(dest) == [".gitignore", "greet-1.0-env-name.patch", "hello.spec", "sources"]
    assert resolution.to_json()["url"].endswith("/git/greet.git")


def test_a_repository_without_the_spec_is_an_error(example_project, tmp_path):
    commit = fast_import(tmp_path / "nospec.git", [("100644", "README", b"no spec here\n")])
    project = example_project(f"file://{tmp_path}/$pkg.git",
                              extra='[components.other]\nspec = { type = "upstream", upstream-name = "nospec" }\n')
    dest = tmp_path / "other"
    dest.mkdir()
    with pytest.raises(UpstreamError, match=rf"commit {commit[:12]} of file://.*/nospec.git has no nospec.spec"):
        checkout_upstream(project, project.resolve("other"), dest)


def test_render_tree_of_upstream_components(example_upstream, example_project, tmp_path):
    project = example_project(f"file://{example_upstream.root}/git/$pkg.git")
    greet = tmp_path / "greet"
    greet.mkdir()
    render_tree(project, project.resolve("greet"), greet)
    names = listing(greet)
    assert "greet.spec" in names and "greet-1.1-tribex-default-name.patch" in names
    assert not [n for n in names if n.endswith(".tar.gz") or n.startswith(".git/")]
    spec = (greet / "greet.spec").read_text()
    assert "Vendor: Tributary Example Linux" in spec and "greet-1.1-tribex-default-name.patch" in spec

    libgreet = tmp_path / "libgreet"
    libgreet.mkdir()
    render_tree(project, project.resolve("libgreet"), libgreet)
    names = listing(libgreet)
    assert {"libgreet.spec", "libgreet-2.0-ldflags.patch", "libgreet-2.0-null-name.backport.patch", "sources"} <= set(names)
    assert not [n for n in names if n.endswith(".tar.gz")]
