"""e2fsprogs, the programs: ``mkfs.ext4 -d`` fills a file system from a directory without mounting it,
and ``debugfs`` edits it afterwards (files added, time stamps fixed), so an ext4 root needs neither a
loop device nor root.

Reproducibility: ``E2FSPROGS_FAKE_TIME`` fixes the times mkfs writes itself, ``-U`` and ``hash_seed``
the identifiers; the inode times copied from the source tree are reset with debugfs ``sif``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tributary.tools import process

MKFS = "mkfs.ext4"
DEBUGFS = "debugfs"
TIMEOUT = 3600.0
"""Seconds one mkfs or debugfs run may take: writing or reading back a whole root of many files."""


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
                env={"E2FSPROGS_FAKE_TIME": str(epoch)}, timeout=TIMEOUT)


def debugfs(image: Path, commands: str, *, epoch: int) -> list[str]:
    """Run debugfs ``commands`` (one per line) writable on ``image``; return the complaints it printed.

    debugfs reports a failed command on stderr and carries on with exit status 0, so the caller gets
    those lines to decide on; its version banner is left out.
    """
    program = process.require(DEBUGFS, package="e2fsprogs", purpose="to finish ext4 disk images")
    proc = process.run([program, "-w", "-f", "-", str(image)], input=commands,
                       env={"E2FSPROGS_FAKE_TIME": str(epoch)}, timeout=TIMEOUT)
    return [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("debugfs ")]


@dataclass(frozen=True)
class Listed:
    """One directory entry as ``debugfs ls -p`` gives it: name, full mode (type and bits), owner, size."""

    name: str
    mode: int
    uid: int
    gid: int
    size: int


def at_offset(image: Path, offset: int) -> str:
    """The name e2fsprogs opens a file system at byte ``offset`` of ``image`` by (a partition of a disk)."""
    return f"{image}?offset={offset}"


def list_directories(filesystem: str, directories: list[str]) -> dict[str, list[Listed]]:
    """Each of ``directories`` (absolute paths in the file system) -> its entries (without . and ..).

    One debugfs session for all of them: it echoes each command as ``debugfs: <command>`` on stdout,
    which separates one directory's listing from the next. A directory it cannot list is a ToolError.
    """
    program = process.require(DEBUGFS, package="e2fsprogs", purpose="to read ext4 disk images")
    commands = "".join(f'ls -p "{directory}"\n' for directory in directories)
    proc = process.run([program, "-f", "-", filesystem], input=commands, timeout=TIMEOUT)
    problems = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("debugfs ")]
    if problems:
        raise process.ToolError(f"debugfs cannot list {filesystem}: {problems[0]}", stderr=proc.stderr)
    listings: dict[str, list[Listed]] = {}
    current: list[Listed] | None = None
    pending = iter(directories)
    for line in proc.stdout.splitlines():
        if line.startswith("debugfs: "):
            current = listings.setdefault(next(pending), [])
        elif line.startswith("/") and current is not None:
            _, _inode, mode, uid, gid, name, size, _ = line.split("/")
            if name not in (".", ".."):
                current.append(Listed(name, int(mode, 8), int(uid), int(gid), int(size or 0)))
    return listings


def rdump(filesystem: str, source: str, destination: Path) -> None:
    """Copy directory ``source`` of the file system, recursively, into the existing ``destination``.

    Contents, symlinks and times come out right; modes do not always (debugfs sets the owner after the
    mode, and a chown clears set-id bits), so callers take modes from ``list_directories``.
    """
    program = process.require(DEBUGFS, package="e2fsprogs", purpose="to read ext4 disk images")
    proc = process.run([program, "-R", f'rdump "{source}" "{destination}"', filesystem], timeout=TIMEOUT)
    problems = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("debugfs ")]
    if problems:
        raise process.ToolError(f"debugfs cannot copy out {filesystem}: {problems[0]}", stderr=proc.stderr)
