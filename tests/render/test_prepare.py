"""`comp prep-sources`: rendered files plus verified lookaside tarballs, served over HTTP on loopback."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tarfile
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
    _, cli = served
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


GREET_DATA = "base/comps/greet-data/greet-data.comp.toml"


def test_an_archive_overlay_edits_the_tarball_and_sources_pins_the_declared_hash(served, tmp_path: Path) -> None:
    """The example's greet-data edits greet-motd inside upstream's tarball; its source-files entry
    (origin overlay) records the edited tarball's hash, which the prepared `sources` then pins."""
    distro, cli = served
    out = tmp_path / "greet-data-src"
    result = cli("comp", "prep-sources", "greet-data", "-o", str(out))
    assert result.code == 0, result.err
    with tarfile.open(out / "greet-data-1.0.tar.gz") as archive:
        script = archive.extractfile("greet-data-1.0/greet-motd").read().decode()
    assert "\nGREET_NAME=Tributary\n" in script and "GREET_NAME=world" not in script
    declared = re.search(r'hash = "([0-9a-f]{128})"', (distro.root / GREET_DATA).read_text()).group(1)
    assert hashlib.sha512((out / "greet-data-1.0.tar.gz").read_bytes()).hexdigest() == declared
    assert (out / "sources").read_text() == f"SHA512 (greet-data-1.0.tar.gz) = {declared}\n"
    untouched = cli("comp", "prep-sources", "greet-data", "-o", str(tmp_path / "upstream-as-is"), "--skip-overlays")
    assert untouched.code == 0, untouched.err
    assert declared not in (tmp_path / "upstream-as-is" / "sources").read_text()


@pytest.mark.parametrize(("change", "message"), [
    (lambda text: re.sub(r'hash = "[0-9a-f]{128}"\n', "", text),
     "source file 'greet-data-1.0.tar.gz' records no hash for the edited tarball; it is sha512:"),
    (lambda text: re.sub(r'hash = "[0-9a-f]{128}"', 'hash = "' + "0" * 128 + '"', text),
     "the archive overlays turn 'greet-data-1.0.tar.gz' into sha512:"),
    (lambda text: text[:text.index("[[components.greet-data.source-files]]")],
     "archive overlays change 'greet-data-1.0.tar.gz', which upstream's sources pins, and no source-files entry"),
    (lambda text: text.replace("replace-upstream = true\n", ""),
     "origin type 'overlay' needs replace-upstream = true"),
    (lambda text: text[:text.index("# An edit inside upstream's tarball")] + text[text.index("# The edited tarball"):],
     "has origin 'overlay', but no archive overlay edits it"),
    (lambda text: text + '\n[[components.greet-data.overlays]]\ntype = "file-remove"\nfile = "greet-data-1.0.tar.gz"\n'
                         'description = "d"\n',
     "targets 'greet-data-1.0.tar.gz' as a file, while archive overlays edit inside it"),
])
def test_archive_hash_pairing_errors_name_the_entry_and_leave_nothing(served, tmp_path: Path, change, message) -> None:
    distro, cli = served
    config = distro.root / GREET_DATA
    config.write_text(change(config.read_text()))
    out = tmp_path / "out"
    result = cli("comp", "prep-sources", "greet-data", "-o", str(out))
    assert result.code == 2, result.out + result.err
    assert message in result.err and "greet-data.comp.toml:" in result.err
    assert not out.exists()
