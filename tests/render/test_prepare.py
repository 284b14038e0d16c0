"""`comp prep-sources`: rendered files plus verified lookaside tarballs, served over HTTP on loopback."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from support import copy_example_distro


@pytest.fixture
def served(tmp_path: Path, example_upstream, http_server, trib):
    """The example distro with dist-git on file:// and the lookaside on a real HTTP server."""
    shutil.copytree(example_upstream.root / "lookaside", http_server.root / "lookaside")
    distro = copy_example_distro(tmp_path, example_upstream.root, git_repository=False)
    with distro.mirror.open("a") as handle:
        handle.write(f'lookaside-base-uri = "{http_server.url}/lookaside/$pkg/$filename/$hashtype/$hash/$filename"\n')

    def cli(*args: str):
        return trib(*distro.args(*args))

    return distro, cli


def test_sources_with_overlays_and_a_verified_tarball(served, tmp_path: Path, http_server) -> None:
    distro, cli = served
    out = tmp_path / "greet-src"
    result = cli("-O", "json", "comp", "prep-sources", "greet", "-o", str(out))
    assert result.code == 0, result.err
    (row,) = json.loads(result.out)
    assert row["file"] == "greet-1.1.tar.gz" and row["fromCache"] is False
    assert sorted(p.name for p in out.iterdir()) == ["greet-1.1-tribex-default-name.patch", "greet-1.1.tar.gz", "greet.spec", "sources"]
    assert hashlib.sha512((out / "greet-1.1.tar.gz").read_bytes()).hexdigest() == row["hash"]
    assert "Vendor: Tributary Example Linux" in (out / "greet.spec").read_text()

    requests = http_server.count("/lookaside/")
    again = cli("-O", "json", "comp", "prep-sources", "greet", "-o", str(tmp_path / "again"))
    assert json.loads(again.out)[0]["fromCache"] is True
    assert http_server.count("/lookaside/") == requests  # the content-addressed cache served it


def test_skip_overlays_gives_upstream_as_it_is(served, tmp_path: Path) -> None:
    _, cli = served
    out = tmp_path / "raw"
    assert cli("comp", "prep-sources", "greet", "-o", str(out), "--skip-overlays").code == 0
    assert "Vendor:" not in (out / "greet.spec").read_text()
    assert not (out / "greet-1.1-tribex-default-name.patch").exists()


def test_a_bad_download_leaves_nothing_behind(served, tmp_path: Path, http_server) -> None:
    _, cli = served
    tarball = next(p for p in (http_server.root / "lookaside" / "greet").rglob("greet-1.1.tar.gz") if p.is_file())
    tarball.write_bytes(b"not the tarball upstream recorded")
    out = tmp_path / "broken"
    result = cli("comp", "prep-sources", "greet", "-o", str(out))
    assert result.code == 2
    assert "greet-1.1.tar.gz" in result.err and "sha512" in result.err.lower()
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".broken")]


def test_refuses_a_non_empty_directory(served, tmp_path: Path) -> None:
    _, cli = served
    out = tmp_path / "used"
    out.mkdir()
    (out / "keep.txt").write_text("mine\n")
    result = cli("comp", "prep-sources", "greet", "-o", str(out))
    assert result.code == 2 and "not an empty directory" in result.err
    assert (out / "keep.txt").read_text() == "mine\n"


def test_archive_overlays_wait_for_the_tarball(make_project, tmp_path: Path, trib) -> None:
    """Render skips edits inside tarballs (render never ships tarballs); prep-sources applies them."""
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in (("pkg-1.0/keep.c", b"int main(void){return 0;}\n"), ("pkg-1.0/vendor/blob.bin", b"\0\1")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    root = make_project({
        "azldev.toml": 'includes = ["pkg/*.comp.toml"]\n',
        "pkg/pkg.comp.toml": '[components.pkg]\nspec = { type = "local", path = "pkg.spec", reason = "r" }\n'
                             '[[components.pkg.overlays]]\ntype = "file-remove"\narchive = "pkg-1.0.tar.gz"\n'
                             'file = "vendor/**"\ndescription = "no vendored blobs"\n',
        "pkg/pkg.spec": "Name: pkg\nVersion: 1.0\nRelease: 1\nSummary: s\nLicense: MIT\nSource0: pkg-1.0.tar.gz\n\n"
                        "%description\nd\n\n%files\n",
    })
    (root / "pkg/pkg-1.0.tar.gz").write_bytes(buffer.getvalue())
    assert trib("-C", str(root), "comp", "render", "pkg").code == 0
    rendered = root / "specs/p/pkg/pkg-1.0.tar.gz"
    assert rendered.read_bytes() == buffer.getvalue()  # untouched by render
    out = tmp_path / "pkg-src"
    result = trib("-C", str(root), "comp", "prep-sources", "pkg", "-o", str(out))
    assert result.code == 0, result.err
    with tarfile.open(out / "pkg-1.0.tar.gz") as archive:
        assert archive.getnames() == ["pkg-1.0/keep.c"]  # the original had no directory entries; none are added
