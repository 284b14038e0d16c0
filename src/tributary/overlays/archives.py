"""Archive-scoped file-remove and file-search-replace: extract a tarball, edit it, repack it
deterministically.

``archive`` names a tarball in the sources directory and ``file`` is a glob inside it, relative to
the archive's single top-level directory when there is exactly one (``p-1.0/``), else to its root.
All overlays for one archive share one extract-edit-repack cycle. The repacked archive depends only on
its contents: entries sorted by name, mtime 0, owner 0 with no user or group names, gzip at level 9
with a zero header mtime and no file name; the original compression (gzip, xz, bzip2, zstd or none)
is kept. Only regular files, directories and symlinks are accepted: hard links and devices are an
error, as are names that would leave the archive. Directories emptied by file-remove are dropped, so
removing ``vendor/**`` removes ``vendor/`` too. Rehashing the ``sources`` entry is the render stage's
job. zstd needs the optional ``zstandard`` module.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast

from tributary.errors import OverlayError
from tributary.fsutil import atomic_output, check_relative, is_inside, resolve_inside
from tributary.globbing import glob_files
from tributary.overlays.base import Overlay
from tributary.overlays.tree import ComponentTree

_MAGIC = ((b"\x1f\x8b", "gzip"), (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bzip2"), (b"\x28\xb5\x2f\xfd", "zstd"))
_SCRATCH_DIR_MODE = 0o700
_SCRATCH_FILE_MODE = 0o600


@dataclass(frozen=True)
class _Entry:
    """What the repack needs to know of an original entry beyond its content."""

    kind: str  # "file", "dir" or "symlink"
    mode: int
    linkname: str = ""


def sniff_compression(head: bytes) -> str:
    """The compression named by an archive's first bytes; "none" for a plain tar."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return "none"


def apply_archive_overlays(tree: ComponentTree, archive: str, overlays: Sequence[Overlay]) -> None:
    """Apply file-remove/file-search-replace overlays inside ``archive`` in one repack."""
    check_relative(archive, what="archive")
    if (tree.root / archive).is_symlink():
        raise OverlayError(f"archive {archive!r} is a symbolic link; overlays do not follow links")
    path = resolve_inside(tree.root, archive, what="archive")
    if not path.is_file():
        raise OverlayError(f"archive {archive!r} not found in the sources")
    with _extracted(path, archive) as (extracted, entries, compression):
        work = _content_root(extracted, entries)
        for overlay in overlays:
            overlay.apply_in_archive(work, archive)
        _repack(extracted, entries, path, compression)


@contextlib.contextmanager
def extracted_archive(path: Path) -> Iterator[Path]:
    """The content root of the tarball at ``path``, extracted into a temporary directory (with the same
    checks as for editing: nothing outside its root, no hard links or devices), for reading."""
    with _extracted(path, path.name) as (extracted, entries, _):
        yield _content_root(extracted, entries)


@contextlib.contextmanager
def _extracted(path: Path, archive: str) -> Iterator[tuple[Path, dict[str, _Entry], str]]:
    with path.open("rb") as handle:
        compression = sniff_compression(handle.read(6))
    with tempfile.TemporaryDirectory(prefix="trib-archive-") as scratch:
        yield Path(scratch), _extract(path, compression, Path(scratch), archive), compression


def archive_files(work: Path, pattern: str, archive: str) -> list[Path]:
    """The files a glob names inside the extracted archive; an error when it names none."""
    check_relative(pattern, what="file")
    found = glob_files(work, pattern)
    if not found:
        raise OverlayError(f"no file in archive {archive!r} matches {pattern!r}")
    return found


def prune_empty_parents(directory: Path, stop: Path) -> None:
    while directory != stop and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent


def _content_root(extracted: Path, entries: dict[str, _Entry]) -> Path:
    tops = {name.split("/", 1)[0] for name in entries}
    if len(tops) == 1:
        top = extracted / tops.pop()
        if top.is_dir() and not top.is_symlink():
            return top
    return extracted


# -- extraction ------------------------------------------------------------------------------


@contextlib.contextmanager
def _decompressed(path: Path, compression: str) -> Iterator[IO[bytes]]:
    with path.open("rb") as raw, _reader(raw, compression, path.name) as stream:
        yield stream


def _reader(raw: IO[bytes], compression: str, archive: str) -> IO[bytes]:
    """``raw`` read through its compression; the caller closes both."""
    if compression == "gzip":
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    if compression == "xz":
        return cast(IO[bytes], lzma.LZMAFile(raw, "rb"))
    if compression == "bzip2":
        return cast(IO[bytes], bz2.BZ2File(raw, "rb"))
    if compression == "zstd":
        return cast(IO[bytes], _zstandard(archive).ZstdDecompressor().stream_reader(raw))
    return raw


def _zstandard(archive: str) -> Any:
    try:
        import zstandard
    except ImportError as error:
        raise OverlayError(
            f"archive {archive!r} is zstd-compressed, which needs the Python module 'zstandard' (pip install zstandard)"
        ) from error
    return zstandard


def _extract(path: Path, compression: str, into: Path, archive: str) -> dict[str, _Entry]:
    entries: dict[str, _Entry] = {}
    try:
        with _decompressed(path, compression) as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                name = _entry_name(member.name, archive)
                if name is None:
                    continue
                entries[name] = _extract_member(tar, member, name, into, archive)
    except (tarfile.TarError, EOFError, OSError, lzma.LZMAError) as exc:
        raise OverlayError(f"cannot read archive {archive!r}: {exc}") from exc
    return entries


def _entry_name(raw: str, archive: str) -> str | None:
    """The entry's normalised relative name; None for the archive root itself."""
    pure = PurePosixPath(raw)
    if pure.is_absolute() or ".." in pure.parts:
        raise OverlayError(f"archive {archive!r} has an entry outside its root: {raw!r}")
    name = pure.as_posix()
    return None if name == "." else name


def _extract_member(tar: tarfile.TarFile, member: tarfile.TarInfo, name: str, into: Path, archive: str) -> _Entry:
    target = into / name
    if not is_inside(into, target.parent):
        raise OverlayError(
            f"archive {archive!r}: entry {member.name!r} passes through a symlink leading out of the archive"
        )
    target.parent.mkdir(parents=True, exist_ok=True, mode=_SCRATCH_DIR_MODE)
    mode = stat.S_IMODE(member.mode)
    if member.isdir():
        if not target.is_dir():
            target.mkdir(mode=_SCRATCH_DIR_MODE)
        return _Entry("dir", mode)
    if os.path.lexists(target) and not target.is_dir():
        target.unlink()  # a later entry of the same name wins, as with tar itself
    if member.isreg():
        source = tar.extractfile(member)
        if source is None:  # pragma: no cover - tarfile gives data for every regular member
            raise OverlayError(f"archive {archive!r}: no data for {member.name!r}")
        with source, open(target, "wb") as sink:
            shutil.copyfileobj(source, sink)
        target.chmod(_SCRATCH_FILE_MODE)
        return _Entry("file", mode)
    if member.issym():
        os.symlink(member.linkname, target)
        return _Entry("symlink", mode, member.linkname)
    kind = "hard link" if member.islnk() else "device or special file"
    raise OverlayError(
        f"archive {archive!r}: entry {member.name!r} is a {kind}; only files, directories and symlinks are supported"
    )


# -- repacking -------------------------------------------------------------------------------


def _repack(extracted: Path, entries: dict[str, _Entry], path: Path, compression: str) -> None:
    with atomic_output(path, mode=stat.S_IMODE(path.stat().st_mode)) as raw:
        with _compressed(raw, compression, path.name) as stream:
            _write_tar(stream, extracted, entries)


@contextlib.contextmanager
def _compressed(raw: IO[bytes], compression: str, archive: str) -> Iterator[IO[bytes]]:
    if compression == "none":
        yield raw  # tarfile never closes a stream it was handed
        return
    with _writer(raw, compression, archive) as stream:
        yield stream


def _writer(raw: IO[bytes], compression: str, archive: str) -> IO[bytes]:
    """A stream compressing into ``raw``, reproducibly (no name or time in the gzip header); closing it
    leaves ``raw`` open."""
    if compression == "gzip":
        return cast(IO[bytes], gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0))
    if compression == "xz":
        return cast(IO[bytes], lzma.LZMAFile(raw, "wb", format=lzma.FORMAT_XZ))
    if compression == "bzip2":
        return cast(IO[bytes], bz2.BZ2File(raw, "wb", compresslevel=9))
    return cast(IO[bytes], _zstandard(archive).ZstdCompressor().stream_writer(raw, closefd=False))


def _write_tar(stream: IO[bytes], extracted: Path, entries: dict[str, _Entry]) -> None:
    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for name, kind in sorted(_walk(extracted)):
            original = entries.get(name)
            if kind == "dir" and original is None:
                continue  # the original archive had no entry for this directory either
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = original.mode if original else 0o644
            full = extracted / name
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(full)
                tar.addfile(info)
            else:
                info.size = full.stat().st_size
                with full.open("rb") as data:
                    tar.addfile(info, data)


def _walk(root: Path, prefix: str = "") -> Iterator[tuple[str, str]]:
    for entry in os.scandir(root):
        name = prefix + entry.name
        if entry.is_symlink():
            yield name, "symlink"
        elif entry.is_dir():
            yield name, "dir"
            yield from _walk(Path(entry.path), name + "/")
        else:
            yield name, "file"
