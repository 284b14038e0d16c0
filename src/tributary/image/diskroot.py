"""Read a built disk image's root file system back, as a tar, without mounting it.

Later stages that look inside an image (the audit) read tars: a WSL tarball or OCI layers as they
ship. A disk has none, so this turns the ext4 root partition of the disk file itself into one:
``debugfs rdump`` copies contents, symlinks and times out, and a walk of ``debugfs ls -p`` over every
directory gives the modes and owners (rdump's own chown would clear set-id bits, which are exactly
what an audit looks for). A fixed VHD is read in place (it is the raw disk plus a footer); a qcow2 is
converted to a sparse raw copy first.
"""

from __future__ import annotations

import os
import stat
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from tributary.image.disk import ROOT_X86_64_TYPE, SECTOR
from tributary.image.errors import ImageError
from tributary.tools import e2fsprogs, qemu_img
from tributary.tools.e2fsprogs import Listed

_TYPES = {stat.S_IFDIR: tarfile.DIRTYPE, stat.S_IFREG: tarfile.REGTYPE, stat.S_IFLNK: tarfile.SYMTYPE,
          stat.S_IFCHR: tarfile.CHRTYPE, stat.S_IFBLK: tarfile.BLKTYPE, stat.S_IFIFO: tarfile.FIFOTYPE}


def root_offset(partitions: Sequence[Mapping[str, object]]) -> int:
    """Byte offset of the root partition, from a disk's ``partitions`` in manifest.json."""
    for partition in partitions:
        if str(partition.get("type", "")).upper() == ROOT_X86_64_TYPE:
            return int(str(partition["start"])) * SECTOR
    raise ImageError("the disk's manifest entry names no x86-64 root partition")


def list_tree(filesystem: str) -> dict[str, Listed]:
    """Every path of the file system (absolute, ``/`` excluded) -> its entry, one debugfs run per depth."""
    tree: dict[str, Listed] = {}
    level = ["/"]
    while level:
        listings = e2fsprogs.list_directories(filesystem, level)
        level = []
        for directory, entries in listings.items():
            for entry in entries:
                if "\n" in entry.name:
                    raise ImageError(f"{filesystem}: a file name with a newline in {directory} cannot be read back")
                path = f"{directory.rstrip('/')}/{entry.name}"
                tree[path] = entry
                if stat.S_ISDIR(entry.mode):
                    level.append(path)
    return tree


def write_root_tar(disk: Path, disk_format: str, partitions: Sequence[Mapping[str, object]], target: Path) -> None:
    """Write the root file system of ``disk`` to the tar file ``target``, entries sorted by path."""
    with tempfile.TemporaryDirectory(prefix="trib-disk-root-") as scratch:
        work = Path(scratch)
        source = disk
        if disk_format == "qcow2":
            source = work / "disk.raw"
            qemu_img.convert(disk, source, "raw", source_format="qcow2")
        filesystem = e2fsprogs.at_offset(source, root_offset(partitions))
        tree = list_tree(filesystem)
        copy = work / "root"
        copy.mkdir()
        e2fsprogs.rdump(filesystem, "/", copy)
        with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as archive:
            for path in sorted(tree):
                _add(archive, path, tree[path], copy)


def _add(archive: tarfile.TarFile, path: str, entry: Listed, copy: Path) -> None:
    kind = _TYPES.get(stat.S_IFMT(entry.mode))
    if kind is None:  # a socket: nothing a tar can hold
        return
    info = tarfile.TarInfo(path.lstrip("/"))
    info.type, info.mode, info.uid, info.gid = kind, stat.S_IMODE(entry.mode), entry.uid, entry.gid
    local = copy / path.lstrip("/")
    if os.path.lexists(local):
        info.mtime = int(os.lstat(local).st_mtime)
    if kind == tarfile.SYMTYPE:
        info.linkname = os.readlink(local)
    if kind == tarfile.REGTYPE:
        info.size = entry.size
        with open(local, "rb") as handle:
            archive.addfile(info, handle)
    else:
        archive.addfile(info)
