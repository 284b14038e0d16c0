"""dosfstools, the program ``mkfs.vfat``: the FAT file system of an EFI system partition, made in a file.

``--invariant`` with a fixed volume id and ``SOURCE_DATE_EPOCH`` writes the same bytes every time.
"""

from __future__ import annotations

from pathlib import Path

from tributary.tools import process

MKFS = "mkfs.vfat"


def mkfs_vfat(image: Path, *, size_kib: int, label: str, volume_id: str, epoch: int) -> None:
    """Create ``image`` as a FAT32 file system of ``size_kib`` KiB (the file must not exist)."""
    program = process.require(MKFS, package="dosfstools", purpose="to make EFI system partitions")
    # --invariant sets a constant volume id of its own: it must come before -i for ours to win.
    process.run([program, "-C", "-F", "32", "-n", label, "--invariant", "-i", volume_id, str(image), str(size_kib)],
                env={"SOURCE_DATE_EPOCH": str(epoch)})

