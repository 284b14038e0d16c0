"""Archive-scoped overlays: extract, edit, deterministic repack, compression kept, unsafe entries refused."""

from __future__ import annotations

import bz2
import gzip
import importlib.util
import io
import lzma
import tarfile
from pathlib import Path

import pytest
from overlay_kit import make_tree, overlay

from tributary.errors import OverlayError
from tributary.overlays import apply_archive_overlays, apply_overlay
from tributary.overlays.archives import sniff_compression

COMPRESSORS = {
    "gzip": lambda data: gzip.compress(data, mtime=1234567),
    "xz": lzma.compress,
    "bzip2": bz2.compress,
    "none": lambda data: data,
}


def make_tar(entries: list[tuple[str, bytes | None, dict]], compression: str = "gzip") -> bytes:
    """A tarball from (name, data or None for a directory, TarInfo attributes)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data, attributes in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1_700_000_000
            info.uid, info.gid, info.uname, info.gname = 1000, 1000, "dev", "dev"
            if data is None and "type" not in attributes:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
            else:
                info.size = len(data or b"")
            for key, value in attributes.items():
                setattr(info, key, value)
            tar.addfile(info, io.BytesIO(data) if data else None)
    return COMPRESSORS[compression](buffer.getvalue())


SOURCE = [
    ("p-1.0", None, {}),
    ("p-1.0/configure", b"#!/bin/sh\necho redhat\n", {"mode": 0o755}),
    ("p-1.0/vendor", None, {}),
    ("p-1.0/vendor/dep/lib.c", b"lib\n", {}),
    ("p-1.0/link", None, {"type": tarfile.SYMTYPE, "linkname": "configure"}),
]


def members(path: Path) -> list[tuple[str, int, int, int, str, str]]:
    with tarfile.open(path) as tar:
        return [(m.name, m.mode, m.mtime, m.uid, m.uname, m.linkname) for m in tar.getmembers()]


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
def test_edit_inside_archive_keeps_compression_and_normalises_metadata(tmp_path: Path, compression: str) -> None:
    tree = make_tree(tmp_path, files={"p.tar": make_tar(SOURCE, compression)})
    apply_overlay(overlay("file-search-replace", archive="p.tar", file="configure", regex="redhat", replacement="azl"), tree)
    archive = tmp_path / "p.tar"
    assert sniff_compression(archive.read_bytes()[:6]) == compression
    assert members(archive) == [
        ("p-1.0", 0o755, 0, 0, "", ""),
        ("p-1.0/configure", 0o755, 0, 0, "", ""),
        ("p-1.0/link", 0o644, 0, 0, "", "configure"),
        ("p-1.0/vendor", 0o755, 0, 0, "", ""),
        ("p-1.0/vendor/dep/lib.c", 0o644, 0, 0, "", ""),
    ]
    with tarfile.open(archive) as tar:
        assert tar.extractfile("p-1.0/configure").read() == b"#!/bin/sh\necho azl\n"


def test_repack_is_deterministic_and_gzip_header_is_pinned(tmp_path: Path) -> None:
    first = make_tree(tmp_path / "a", files={"p.tar.gz": make_tar(SOURCE)})
    shuffled = [SOURCE[i] for i in (4, 2, 0, 3, 1)]
    second = make_tree(tmp_path / "b", files={"p.tar.gz": gzip.compress(gzip.decompress(make_tar(shuffled)), mtime=99)})
    change = overlay("file-search-replace", archive="p.tar.gz", file="**/lib.c", regex="lib", replacement="LIB")
    apply_overlay(change, first)
    apply_overlay(change, second)
    one, two = (first.root / "p.tar.gz").read_bytes(), (second.root / "p.tar.gz").read_bytes()
    assert one == two
    assert one[4:8] == b"\0\0\0\0"  # gzip header mtime
    assert one[3] & 0x08 == 0  # no file name stored


def test_remove_drops_emptied_directories_and_batches_overlays(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"p.tgz": make_tar(SOURCE)})
    apply_archive_overlays(
        tree,
        "p.tgz",
        [
            overlay("file-remove", archive="p.tgz", file="vendor/**"),
            overlay("file-search-replace", archive="p.tgz", file="configure", regex="echo", replacement="printf"),
        ],
    )
    assert [m[0] for m in members(tmp_path / "p.tgz")] == ["p-1.0", "p-1.0/configure", "p-1.0/link"]


def test_root_is_the_archive_root_without_a_single_top_directory(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"flat.tar": make_tar([("a/x", b"1", {}), ("b/x", b"1", {})], "none")})
    apply_overlay(overlay("file-remove", archive="flat.tar", file="a/x"), tree)
    assert [m[0] for m in members(tmp_path / "flat.tar")] == ["b/x"]


def test_archive_file_mode_is_kept(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"p.tar": make_tar(SOURCE, "none")})
    (tmp_path / "p.tar").chmod(0o600)
    apply_overlay(overlay("file-remove", archive="p.tar", file="configure"), tree)
    assert (tmp_path / "p.tar").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (("p/hard", None, {"type": tarfile.LNKTYPE, "linkname": "p/f"}), "is a hard link"),
        (("p/dev", None, {"type": tarfile.CHRTYPE}), "is a device or special file"),
        (("../evil", b"x", {}), "entry outside its root"),
        (("/abs", b"x", {}), "entry outside its root"),
    ],
)
def test_unsafe_entries_are_refused(tmp_path: Path, entry: tuple, message: str) -> None:
    tree = make_tree(tmp_path / "src", files={"p.tar": make_tar([("p/f", b"f", {}), entry], "none")})
    before = (tree.root / "p.tar").read_bytes()
    with pytest.raises(OverlayError, match=message):
        apply_overlay(overlay("file-remove", archive="p.tar", file="f"), tree)
    assert (tree.root / "p.tar").read_bytes() == before
    assert not (tmp_path / "evil").exists()


def test_entry_through_a_symlink_out_of_the_archive_is_refused(tmp_path: Path) -> None:
    entries = [("p/out", None, {"type": tarfile.SYMTYPE, "linkname": str(tmp_path)}), ("p/out/planted", b"x", {})]
    tree = make_tree(tmp_path / "src", files={"p.tar": make_tar(entries, "none")})
    with pytest.raises(OverlayError, match="passes through a symlink leading out of the archive"):
        apply_overlay(overlay("file-remove", archive="p.tar", file="planted"), tree)
    assert not (tmp_path / "planted").exists()


def test_no_match_and_no_change_inside_an_archive_are_errors(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"p.tar": make_tar(SOURCE, "none")})
    with pytest.raises(OverlayError, match="no file in archive 'p.tar' matches 'missing/\\*\\*'"):
        apply_overlay(overlay("file-remove", archive="p.tar", file="missing/**"), tree)
    with pytest.raises(OverlayError, match="changed no file in archive 'p.tar'"):
        apply_overlay(overlay("file-search-replace", archive="p.tar", file="configure", regex="absent", replacement="x"), tree)
    with pytest.raises(OverlayError, match="archive 'nope.tar' not found"):
        apply_overlay(overlay("file-remove", archive="nope.tar", file="x"), tree)


def test_not_a_tar_is_a_clear_error(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"p.tar.gz": gzip.compress(b"not a tar at all" * 100)})
    with pytest.raises(OverlayError, match="cannot read archive 'p.tar.gz'"):
        apply_overlay(overlay("file-remove", archive="p.tar.gz", file="x"), tree)


@pytest.mark.skipif(importlib.util.find_spec("zstandard") is not None, reason="zstandard is installed")
def test_zstd_without_the_module_is_a_clear_error(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"p.tar.zst": b"\x28\xb5\x2f\xfd" + b"\0" * 20})
    with pytest.raises(OverlayError, match="needs the Python module 'zstandard'"):
        apply_overlay(overlay("file-remove", archive="p.tar.zst", file="x"), tree)
