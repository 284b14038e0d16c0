"""rpm on an image root: its database at ``/usr/lib/sysimage/rpm``, queried and changed from outside.

Every call runs the host's rpm with ``--root`` (through ``tools.rpm``), in the environment dnf used
(``rpm_environment``: our ``HOME`` with its ``.rpmmacros``, a fixed ``SOURCE_DATE_EPOCH``), so no
program of the image itself ever runs. A failure is an ImageError quoting rpm.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tributary.image.errors import ImageError
from tributary.tools import dnf, process, rpm

RPMDB_PATH = dnf.RPMDB_PATH  # /usr/lib/sysimage/rpm

# Keys rpm adds to the rpmdb when a signed channel's key is imported: not software, no RPM file.
PUBKEY_PACKAGE = "gpg-pubkey"


def rpm_environment(home: Path, epoch: int) -> dict[str, str]:
    """What dnf and rpm get beside the clean environment: our HOME (its .rpmmacros places the rpmdb), a
    fixed clock for rpm."""
    return {"HOME": str(home), "LANG": "C.UTF-8", "SOURCE_DATE_EPOCH": str(epoch)}


def rpm_in_root(root: Path, env: dict[str, str], args: Sequence[str]) -> str:
    """``rpm --root ROOT ARGS``'s output; an ImageError quoting rpm when it fails."""
    try:
        return rpm.run(args, root=root, dbpath=RPMDB_PATH, env=env).stdout
    except process.ToolError as error:
        message = process.last_line(error.stderr) or f"exit status {error.returncode}"
        raise ImageError(f"rpm {' '.join(args[:1])} in the image root failed: {message}") from error


def owners(root: Path, env: dict[str, str], paths: Sequence[str]) -> list[str]:
    """The names of the packages owning ``paths`` (paths nobody owns are skipped)."""
    if not paths:
        return []
    proc = rpm.run(["-qf", "--qf", "%{NAME}\\n", *paths], root=root, dbpath=RPMDB_PATH, env=env, ok=None)
    return sorted({line.strip() for line in proc.stdout.splitlines()
                   if line.strip() and not line.startswith("file ") and " " not in line.strip()})


def query_packages(root: Path) -> list[str]:
    """NEVRAs of every package in the rpmdb of ``root`` (``rpm -qa``), sorted, leaving ``root`` untouched.

    rpm opens its sqlite database for writing even to read it, and leaves ``-shm``/``-wal`` files (and
    a new directory mtime) behind; so the query runs on a copy of the rpmdb.
    """
    database = root / RPMDB_PATH.lstrip("/")
    if not (database / "rpmdb.sqlite").is_file():
        raise ImageError(f"{root} has no rpmdb at {RPMDB_PATH}")
    with tempfile.TemporaryDirectory(prefix="trib-rpmq-") as scratch:
        copy = Path(scratch) / "rpmdb"
        shutil.copytree(database, copy)
        env = rpm_environment(dnf.rpm_home(Path(scratch) / "home"), 0)
        try:
            proc = rpm.run(["-qa"], dbpath=copy, env=env)
        except process.ToolError as error:
            raise ImageError(f"rpm -qa on the rpmdb of {root} failed: {error.stderr.strip()}") from error
        return sorted(proc.stdout.split())
