"""rpm, the program: list the packages an rpm database records; and NEVRA, as every stage writes it.

The database is queried by ``--dbpath`` alone (no ``--root``): the caller hands over a directory that
holds just the database files, so nothing else of an image has to be unpacked. The query format gives
tab-separated NEVRA fields with the epoch as a number (``%{EPOCHNUM}``, 0 when unset). rpm is run by
``tools.process``: a failure (or a query that hangs) is a ``ToolError`` naming the database.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tributary.tools import process

_FORMAT = r"%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n"
QUERY_TIMEOUT = 120.0
"""Seconds a ``rpm -qa`` may take: far more than any image's database needs."""


def nevra(name: str, epoch: int | str | None, version: str, release: str, arch: str) -> str:
    """``name-[epoch:]version-release.arch``, the epoch shown only when it is set and not 0 (as dnf
    prints it). ``epoch`` as rpm's header gives it (an int or None) or as repodata does (a string)."""
    shown = f"{epoch}:" if epoch not in (None, 0, "0", "") else ""
    return f"{name}-{shown}{version}-{release}.{arch}"


@dataclass(frozen=True, order=True)
class InstalledRpm:
    name: str
    epoch: int
    version: str
    release: str
    arch: str

    @property
    def nevra(self) -> str:
        return nevra(self.name, self.epoch, self.version, self.release, self.arch)


def require() -> str:
    return process.require("rpm", package="rpm", purpose="to read and change rpm databases")


def run(args: Sequence[str], *, dbpath: Path | str, root: Path | None = None, env: Mapping[str, str] | None = None,
        ok: Collection[int] | None = (0,), timeout: float = QUERY_TIMEOUT) -> process.CompletedProcess[str]:
    """``rpm [--root ROOT] --dbpath DBPATH ARGS`` (``dbpath`` inside ``root`` when one is given), ``env``
    added to the clean environment; a ToolError naming the database when its status is not in ``ok``."""
    command = [require(), *([f"--root={root}"] if root is not None else []), f"--dbpath={dbpath}", *args]
    try:
        return process.run(command, env=env, ok=ok, timeout=timeout)
    except process.ToolError as error:
        error.at(str(root or dbpath))
        raise


def query_all(dbpath: Path) -> list[InstalledRpm]:
    """Every package in the database at ``dbpath`` (signing keys, ``gpg-pubkey``, left out), sorted."""
    proc = run(["-qa", "--qf", _FORMAT], dbpath=Path(dbpath).absolute())
    packages = []
    for line in proc.stdout.splitlines():
        name, epoch, version, release, arch = line.split("\t")
        if name != "gpg-pubkey":
            packages.append(InstalledRpm(name, int(epoch or 0), version, release, arch))
    return sorted(packages)


_NEEDED = re.compile(r"^\s+(?P<capability>.+) is needed by (?P<package>\S+)$")
_CONFLICT = re.compile(r"^\s+(?P<what>file .+ conflicts with file from package \S+)$")


@dataclass(frozen=True)
class Unmet:
    """A requirement of ``package`` (a NEVRA) that nothing in an install transaction provides."""

    package: str
    capability: str


def test_install(paths: Sequence[Path], *, scratch: Path) -> tuple[list[Unmet], list[str]]:
    """What ``rpm -i --test`` of ``paths`` into an empty root under ``scratch`` refuses.

    Returns the unmet requirements and the file conflicts; both empty means the packages install
    together. rpm checks dependencies with its own rules (file requirements, versions, rpmlib
    features) and conflicts between files of different packages; nothing is installed.
    """
    root = scratch / "root"
    root.mkdir(parents=True, exist_ok=True)
    proc = run(["--test", "--nosignature", "-i", *(str(path) for path in paths)], dbpath="/rpmdb", root=root, ok=None)
    unmet, conflicts = [], []
    for line in (proc.stdout + (proc.stderr or "")).splitlines():
        if match := _NEEDED.match(line):
            unmet.append(Unmet(match["package"], match["capability"]))
        elif match := _CONFLICT.match(line):
            conflicts.append(match["what"])
    if proc.returncode != 0 and not unmet and not conflicts:
        said = process.last_line(proc.stderr or "") or f"exit status {proc.returncode}"
        raise process.ToolError(f"rpm --test failed: {said}", command=proc.args, stderr=proc.stderr or "")
    return unmet, conflicts
