"""The tar writer behind OCI layers and .wsl files, on a small hand-made tree; skopeo's errors."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from tributary.image.errors import ImageError
from tributary.image.oci import write_gzip_root_tar, write_root_tar
from tributary.tools import skopeo

EPOCH = 1767225600  # 2026-01-01


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Every kind of entry a root holds: directories, setuid file, links both ways, a FIFO, odd owners."""
    root = tmp_path / "root"
    (root / "usr/bin").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "home/alice").mkdir(parents=True)
    (root / "usr/bin/tool").write_bytes(b"#!/bin/sh\necho tool\n")
    os.chmod(root / "usr/bin/tool", 0o4755)
    os.link(root / "usr/bin/tool", root / "usr/bin/tool-again")
    (root / "bin").symlink_to("usr/bin")
    (root / "etc/zz.conf").write_text("last\n")
    (root / "etc/aa.conf").write_text("first\n")
    (root / "etc/café").write_text("non-ASCII name\n")
    os.mkfifo(root / "etc/fifo")
    (root / "home/alice/notes").write_text("mine\n")
    os.chown(root / "home/alice", 1000, 1000)
    os.chown(root / "home/alice/notes", 1000, 1000)
    os.utime(root / "etc/aa.conf", (EPOCH - 500, EPOCH - 500))  # older: kept
    os.utime(root / "etc/zz.conf", (EPOCH + 999, EPOCH + 999))  # newer: clamped
    return root


def tar_bytes(root: Path, **options) -> bytes:
    out = io.BytesIO()
    write_root_tar(root, out, mtime=EPOCH, **options)
    return out.getvalue()


def test_the_archive_is_sorted_complete_and_clamped(tree: Path, tmp_path: Path) -> None:
    data = tar_bytes(tree, extra={"etc/wsl.conf": b"[boot]\n"})
    archive = tmp_path / "root.tar"
    archive.write_bytes(data)
    listing = subprocess.run(["tar", "-tf", str(archive)], capture_output=True, text=True, check=True).stdout
    assert listing.splitlines() == [
        "bin", "etc/", "etc/aa.conf", "etc/café", "etc/fifo", "etc/wsl.conf", "etc/zz.conf", "home/", "home/alice/",
        "home/alice/notes", "usr/", "usr/bin/", "usr/bin/tool", "usr/bin/tool-again"]
    with tarfile.open(archive) as reader:
        members = {member.name.rstrip("/"): member for member in reader.getmembers()}
        assert reader.extractfile("etc/wsl.conf").read() == b"[boot]\n"
    assert members["bin"].issym() and members["bin"].linkname == "usr/bin"
    assert members["usr/bin/tool"].isfile() and members["usr/bin/tool"].mode == 0o4755
    assert members["usr/bin/tool-again"].islnk() and members["usr/bin/tool-again"].linkname == "usr/bin/tool"
    assert members["etc/fifo"].isfifo()
    assert (members["home/alice/notes"].uid, members["home/alice/notes"].gid) == (1000, 1000)
    assert members["usr/bin/tool"].uname == "" and members["usr/bin/tool"].uid == 0
    assert members["etc/aa.conf"].mtime == EPOCH - 500 and members["etc/zz.conf"].mtime == EPOCH
    assert (members["etc/wsl.conf"].uid, members["etc/wsl.conf"].mode) == (0, 0o644)


def test_the_same_tree_gives_the_same_bytes(tree: Path) -> None:
    first = tar_bytes(tree)
    os.utime(tree / "etc/zz.conf", (EPOCH + 5000, EPOCH + 5000))  # still clamped to the same time
    assert tar_bytes(tree) == first
    (tree / "etc/aa.conf").write_text("changed\n")
    os.utime(tree / "etc/aa.conf", (EPOCH - 500, EPOCH - 500))
    assert tar_bytes(tree) != first


def test_gzip_has_no_name_or_time_and_the_digests_are_of_both_streams(tree: Path) -> None:
    out = io.BytesIO()
    digests = write_gzip_root_tar(tree, out, mtime=EPOCH)
    compressed = out.getvalue()
    assert compressed[3] & 0x08 == 0 and compressed[4:8] == b"\0\0\0\0"  # no FNAME flag, MTIME 0
    assert digests.gzip_digest == "sha256:" + hashlib.sha256(compressed).hexdigest()
    assert digests.gzip_size == len(compressed)
    assert digests.diff_id == "sha256:" + hashlib.sha256(gzip.decompress(compressed)).hexdigest()
    assert gzip.decompress(compressed) == tar_bytes(tree)


def test_an_added_file_may_not_replace_one_of_the_root(tree: Path) -> None:
    with pytest.raises(ImageError, match="etc/aa.conf is already in the image root"):
        tar_bytes(tree, extra={"etc/aa.conf": b"x"})
    with pytest.raises(ImageError, match="no directory 'opt'"):
        tar_bytes(tree, extra={"opt/thing": b"x"})


def test_skopeo_failures_carry_its_message() -> None:
    with pytest.raises(skopeo.SkopeoError) as caught:
        skopeo.inspect("oci:/nonexistent-layout:latest")
    message = str(caught.value)
    assert message.startswith("skopeo inspect failed: ") and "no such file or directory" in message
    assert "level=fatal" not in message and "level=fatal" in caught.value.stderr
