"""e2fsprogs, the programs: ``mkfs.ext4 -d`` fills a file system from a directory without mounting it,
and ``debugfs`` edits it afterwards (files added, time stamps fixed), so an ext4 root needs neither a
loop device nor root.

Reproducibility: ``E2FSPROGS_FAKE_TIME`` fixes the times mkfs writes itself, ``-U`` and ``hash_seed``
the identifiers; the inode times copied from the source tree are reset with debugfs ``sif``.
"""

from __future__ import annotations

from pathlib import Path

from tributary.tools import process

MKFS = "mkfs.ext4"
DEBUGFS = "debugfs"


def mkfs_ext4(image: Path, source: Path, *, label: str, uuid: str, inodes: int, epoch: int) -> None:
    """Make an ext4 file system filling ``image`` (an existing file of the wanted size) with ``source``,
    with room for at least ``inodes`` files (mkfs's default of one per 16 KiB runs short for trees of
    many small files).

    A ToolError when it fails; "Could not allocate" in its stderr means the content does not fit.
    """
    program = process.require(MKFS, package="e2fsprogs", purpose="to make ext4 disk images")
    size = image.stat().st_size
    arguments = ["-N", str(inodes)] if inodes > size // 16384 else []
    process.run([program, "-q", "-F", "-t", "ext4", "-b", "4096", *arguments, "-L", label, "-U", uuid,
                 "-E", f"root_owner=0:0,hash_seed={uuid}", "-d", str(source), str(image)],
                env={"E2FSPROGS_FAKE_TIME": str(epoch)})


def debugfs(image: Path, commands: str, *, epoch: int) -> list[str]:
    """Run debugfs ``commands`` (one per line) writable on ``image``; return the complaints it printed.

    debugfs reports a failed command on stderr and carries on with exit status 0, so the caller gets
    those lines to decide on; its version banner is left out.
    """
    program = process.require(DEBUGFS, package="e2fsprogs", purpose="to finish ext4 disk images")
    proc = process.run([program, "-w", "-f", "-", str(image)], input=commands,
                       env={"E2FSPROGS_FAKE_TIME": str(epoch)})
    return [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("debugfs ")]
