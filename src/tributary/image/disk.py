"""VM disk images without loop devices: a GPT disk with an EFI system partition and an ext4 root.

Each part is made in a file by a program that needs neither root nor a mount: ``mkfs.vfat`` and mtools
for the ESP, ``mkfs.ext4 -d`` for the root (filled straight from the root directory) and ``debugfs``
to add ``/etc/fstab`` and fix every time stamp, ``sfdisk`` for the partition table. The parts are
then copied into the disk file at their offsets, sparsely, and qemu-img converts the raw disk to
qcow2 and to a fixed VHD.

Everything that would otherwise be random is derived from the image's name and version (disk and
partition GUIDs, file system UUIDs, the ext4 hash seed, the FAT volume id) or from its
SOURCE_DATE_EPOCH (every time stamp, the VHD footer), so two builds of the same packages give
byte-identical raw and qcow2 files. The layout: 1 MiB for the GPT, a 64 MiB FAT32 ESP, the root, and
1 MiB at the end for the backup GPT; the whole disk is a whole number of MiB, as Azure requires.

The example distributions carry no boot loader, so the ESP holds only ``/EFI/BOOT``; ``trib image
test`` boots the root with a kernel given from outside (see ``boottest``).
"""

from __future__ import annotations

import math
import os
import shutil
import stat
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tributary.image.errors import ImageError
from tributary.image.rootfs import RootfsResult
from tributary.image.spec import ImageSpec
from tributary.image.vhd import fix_identity
from tributary.tools import dosfstools, e2fsprogs, mtools, qemu_img, sfdisk
from tributary.tools.process import ToolError

DISK_FORMATS = ("raw", "qcow2", "vhd-fixed")
SECTOR = 512
MIB = 1 << 20
BLOCK = 4096
INODE_SIZE = 256
ESP_MIB = 64  # FAT32 needs at least about 33 MiB; 64 leaves room for a boot loader and kernels
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
ROOT_X86_64_TYPE = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"  # Discoverable Partitions: root, x86-64
ROOT_LABEL = "root"
ESP_MOUNT = "/boot/efi"
# The name space of the identifiers tributary derives for disks (uuid5 of it and the image).
_NAMESPACE = uuid.UUID("5f1b2d0e-8a47-4c1e-9f3a-6d2b7e4c9a10")


class DiskTooSmallError(ImageError):
    """The image's content does not fit the disk size it asked for."""


@dataclass(frozen=True)
class Partition:
    name: str
    type_guid: str
    guid: str
    start: int
    """First sector."""
    sectors: int

    @property
    def offset(self) -> int:
        return self.start * SECTOR

    @property
    def size(self) -> int:
        return self.sectors * SECTOR

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "type": self.type_guid, "partuuid": self.guid, "start": self.start,
                "sectors": self.sectors}


@dataclass(frozen=True)
class DiskLayout:
    size_mib: int
    disk_guid: str
    esp: Partition
    root: Partition
    root_uuid: str
    """The ext4 file system's UUID (what fstab and ``root=UUID=`` name)."""
    esp_volume_id: str
    """The FAT volume id, 8 hex digits; shown by blkid as ``XXXX-XXXX``."""

    @property
    def size(self) -> int:
        return self.size_mib * MIB

    @property
    def esp_uuid(self) -> str:
        return f"{self.esp_volume_id[:4]}-{self.esp_volume_id[4:]}".upper()

    def to_json(self) -> dict[str, object]:
        return {"virtualSize": self.size, "diskGuid": self.disk_guid, "rootUuid": self.root_uuid,
                "espUuid": self.esp_uuid, "partitions": [self.esp.to_json(), self.root.to_json()]}


@dataclass(frozen=True)
class DiskResult:
    layout: DiskLayout
    files: dict[str, Path]
    """Format -> file written."""


def derived_uuid(spec: ImageSpec, role: str) -> uuid.UUID:
    """A UUID fixed by the image's name, version and the role it plays (disk, esp, root…)."""
    return uuid.uuid5(_NAMESPACE, f"{spec.name}\0{spec.version}\0{role}")


@dataclass(frozen=True)
class Content:
    """What a root directory needs of an ext4 file system: data blocks and inodes."""

    bytes: int
    """Whole 4 KiB blocks for every file and directory, and the symlinks too long for their inode."""
    entries: int
    """Files, directories and links: one inode each."""


def content_of(root: Path) -> Content:
    """Measure the tree under ``root`` (an estimate that errs on the large side); an unreadable
    directory is an error rather than a smaller estimate."""
    blocks = 0
    entries = 1
    for directory, dirs, files in os.walk(root, onerror=_raise):
        blocks += 1 + len(dirs) // 64 + len(files) // 64  # the directory's own blocks
        entries += len(dirs) + len(files)
        for name in files:
            info = os.lstat(os.path.join(directory, name))
            if stat.S_ISLNK(info.st_mode):
                blocks += 1 if info.st_size >= 60 else 0
            else:
                blocks += math.ceil(info.st_size / BLOCK)
    return Content(blocks * BLOCK, entries)


def _raise(error: OSError) -> None:
    raise ImageError(f"cannot read {error.filename} in the image root: {error.strerror}")


def journal_mib(fs_mib: int) -> int:
    """The journal mkfs.ext4 gives a file system of this size (e2fsprogs' default table)."""
    if fs_mib < 128:
        return 4
    if fs_mib < 1024:
        return 16
    if fs_mib < 2048:
        return 32
    return 64 if fs_mib < 16384 else 128


def inodes_for(content: Content) -> int:
    """Inodes to ask mkfs for: every entry, a quarter more for what the system adds at run time, and
    at least 1,024."""
    return max(1024, math.ceil(content.entries * 1.25))


def minimum_root_mib(content: Content) -> int:
    """The smallest ext4 root that holds ``content``: the data, the inode tables (256 bytes an inode,
    at least mkfs's default of one per 16 KiB), the journal, group metadata and 10% to spare, in MiB."""
    data_mib = math.ceil((content.bytes * 1.10 + inodes_for(content) * INODE_SIZE) / MIB) + 2
    size = data_mib
    for _ in range(4):  # the journal and default inode tables depend on the size they help decide
        size = math.ceil((data_mib + journal_mib(size)) / (1 - 1 / 64 - 0.01))
    return size


def plan_layout(spec: ImageSpec, content: Content) -> DiskLayout:
    """Where every partition goes. With ``disk-size-mib`` the root takes what the ESP and GPT leave;
    without it the root is the content's minimum plus a quarter (at least 64 MiB) of free space."""
    needed = minimum_root_mib(content)
    overhead = 1 + ESP_MIB + 1
    if spec.disk_size_mib is not None:
        root_mib = spec.disk_size_mib - overhead
        if root_mib < needed:
            raise DiskTooSmallError(
                f"image {spec.name!r}: disk-size-mib {spec.disk_size_mib} is too small: the content needs a "
                f"root of at least {needed} MiB, so a disk of at least {needed + overhead} MiB",
                where=str(spec.source) if spec.source else None,
                hint="raise disk-size-mib, or leave it out to size the disk from its content")
    else:
        root_mib = needed + max(needed // 4, 64)
    esp = Partition("esp", ESP_TYPE, str(derived_uuid(spec, "esp-partition")).upper(), MIB // SECTOR,
                    ESP_MIB * MIB // SECTOR)
    root = Partition("root-x86-64", ROOT_X86_64_TYPE, str(derived_uuid(spec, "root-partition")).upper(),
                     esp.start + esp.sectors, root_mib * MIB // SECTOR)
    return DiskLayout(size_mib=overhead + root_mib, disk_guid=str(derived_uuid(spec, "disk")).upper(), esp=esp,
                      root=root, root_uuid=str(derived_uuid(spec, "root-filesystem")),
                      esp_volume_id=derived_uuid(spec, "esp-filesystem").hex[:8].upper())


def sfdisk_script(layout: DiskLayout) -> str:
    """The partition table in sfdisk's script format, every identifier given."""
    lines = ["label: gpt", f"label-id: {layout.disk_guid}", "unit: sectors", "first-lba: 2048"]
    for part in (layout.esp, layout.root):
        lines.append(f'start={part.start}, size={part.sectors}, type={part.type_guid}, uuid={part.guid}, '
                     f'name="{part.name}"')
    return "\n".join(lines) + "\n"


def fstab_text(layout: DiskLayout) -> str:
    """``/etc/fstab`` naming both file systems by UUID, so it holds whatever the disk is attached as."""
    return ("# Written by tributary for this disk image: file systems by UUID.\n"
            f"UUID={layout.root_uuid} / ext4 defaults 0 1\n"
            f"UUID={layout.esp_uuid} {ESP_MOUNT} vfat umask=0077,shortname=winnt 0 2\n")


def debugfs_script(root: Path, fstab: Path, *, epoch: int) -> str:
    """debugfs commands that put ``fstab`` in as ``/etc/fstab``, make the ESP's mount point, and stamp
    every inode's times with ``epoch`` (mkfs copies atime and ctime off the host tree)."""
    paths = ["/", "/lost+found"]
    for directory, dirs, files in os.walk(root):
        base = "/" + Path(directory).relative_to(root).as_posix()
        paths += [f"{base.rstrip('/')}/{name}" for name in sorted((*dirs, *files))]
    commands: list[str] = []
    if os.path.lexists(root / "etc" / "fstab"):
        commands.append('rm "/etc/fstab"')
    commands.append(f'write "{_quoted(str(fstab))}" "/etc/fstab"')
    for field, value in (("mode", "0100644"), ("uid", "0"), ("gid", "0")):
        commands.append(f'sif "/etc/fstab" {field} {value}')
    added = ["/etc/fstab"]
    if not os.path.lexists(root / ESP_MOUNT.lstrip("/")):
        parent = Path(ESP_MOUNT).parent.as_posix()
        if not os.path.lexists(root / parent.lstrip("/")):
            commands.append(f'mkdir "{parent}"')
            added.append(parent)
        commands.append(f'mkdir "{ESP_MOUNT}"')
        added.append(ESP_MOUNT)
        for field, value in (("mode", "040700"), ("uid", "0"), ("gid", "0")):
            commands.append(f'sif "{ESP_MOUNT}" {field} {value}')
    for path in sorted(set(paths) | set(added)):
        quoted = _quoted(path)
        commands += [f'sif "{quoted}" {field} @{epoch}' for field in ("atime", "ctime", "mtime", "crtime")]
    return "\n".join(commands) + "\n"


def _quoted(path: str) -> str:
    if '"' in path or "\n" in path or "\\" in path:
        raise ImageError(f"cannot put {path!r} on an ext4 disk image: debugfs cannot name a path with a "
                         "quote, backslash or newline")
    return path


def write_disks(rootfs: RootfsResult, spec: ImageSpec, formats: Sequence[str], out_dir: Path, work: Path) -> DiskResult:
    """Write the disk formats wanted (of ``DISK_FORMATS``) into ``out_dir``, using ``work`` as scratch.

    The raw disk is always made (in ``work`` when it is not wanted itself); the others are converted
    from it. Raises DiskTooSmallError when the content does not fit. ``work`` is removed either way:
    it holds a whole disk's worth of file system images.
    """
    epoch = rootfs.source_date_epoch
    content = content_of(rootfs.path)
    layout = plan_layout(spec, content)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        esp = work / "esp.img"
        dosfstools.mkfs_vfat(esp, size_kib=layout.esp.size // 1024, label="ESP", volume_id=layout.esp_volume_id,
                             epoch=epoch)
        mtools.make_directories(esp, ["/EFI", "/EFI/BOOT"], epoch=epoch)
        root = work / "root.ext4"
        _make_root(root, rootfs, spec, layout, content, work)
        stem = f"{spec.name}-{spec.version}"
        raw = (out_dir if "raw" in formats else work) / f"{stem}.raw"
        with open(raw, "wb") as handle:
            handle.truncate(layout.size)
        sfdisk.write_table(raw, sfdisk_script(layout))
        _copy_sparse(esp, raw, layout.esp.offset)
        _copy_sparse(root, raw, layout.root.offset)
        sfdisk.verify(raw)
        files = {"raw": raw} if "raw" in formats else {}
        if "qcow2" in formats:
            files["qcow2"] = out_dir / f"{stem}.qcow2"
            qemu_img.convert(raw, files["qcow2"], "qcow2")
        if "vhd-fixed" in formats:
            files["vhd-fixed"] = out_dir / f"{stem}.vhd"
            qemu_img.convert(raw, files["vhd-fixed"], "vhd-fixed")
            fix_identity(files["vhd-fixed"], epoch=epoch, unique_id=derived_uuid(spec, "vhd"))
        for path in files.values():
            os.utime(path, (epoch, epoch))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return DiskResult(layout, files)


def _make_root(image: Path, rootfs: RootfsResult, spec: ImageSpec, layout: DiskLayout, content: Content,
               work: Path) -> None:
    with open(image, "wb") as handle:
        handle.truncate(layout.root.size)
    try:
        e2fsprogs.mkfs_ext4(image, rootfs.path, label=ROOT_LABEL, uuid=layout.root_uuid,
                            inodes=inodes_for(content), epoch=rootfs.source_date_epoch)
    except ToolError as error:
        if "allocate" in error.stderr or "No space left" in error.stderr:
            sized = (f"disk-size-mib {spec.disk_size_mib}" if spec.disk_size_mib is not None
                     else f"the {layout.size_mib} MiB tributary estimated from the content")
            raise DiskTooSmallError(
                f"image {spec.name!r}: the content does not fit {sized} "
                f"(mkfs.ext4: {error.message.split(': ', 1)[-1]})",
                where=str(spec.source) if spec.source else None,
                hint=f"set disk-size-mib above {layout.size_mib}") from error
        raise
    fstab = work / "fstab"
    fstab.write_text(fstab_text(layout))
    complaints = e2fsprogs.debugfs(image, debugfs_script(rootfs.path, fstab, epoch=rootfs.source_date_epoch),
                                   epoch=rootfs.source_date_epoch)
    if complaints:
        raise ImageError(f"image {spec.name!r}: debugfs could not finish the root file system: {complaints[0]}")


def _copy_sparse(source: Path, disk: Path, offset: int, chunk: int = MIB) -> None:
    """Copy ``source`` into ``disk`` at ``offset``, skipping all-zero chunks (the disk file is sparse
    and already zero there), so a mostly empty file system costs no disk space."""
    zero = bytes(chunk)
    with open(source, "rb") as reader, open(disk, "r+b") as writer:
        position = offset
        while data := reader.read(chunk):
            if data != zero[:len(data)]:
                writer.seek(position)
                writer.write(data)
            position += len(data)
