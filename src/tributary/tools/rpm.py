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


# --- signatures and digests, as dnf has rpm check them -----------------------------------------------

_BATCH = 200  # files per ``rpm -K``: one process for many, far below the argument-length limit
_VERDICT = re.compile(r"^\s+(?P<what>.+?): (?P<status>OK|BAD|NOKEY|NOTTRUSTED|NOTFOUND|NOTOK)\b(?P<detail>.*)$")


def import_key(dbpath: Path, key: Path) -> None:
    """Import an OpenPGP public key file into the (new) rpm database at ``dbpath``, as dnf does ``gpgkey``."""
    Path(dbpath).mkdir(parents=True, exist_ok=True)
    run(["--import", str(key)], dbpath=Path(dbpath).absolute())


def check_signatures(paths: Sequence[Path], *, dbpath: Path, require_signature: bool) -> dict[Path, str]:
    """``rpm -Kv`` of every file: the header and payload digests and, with ``require_signature``, a good
    signature by a key of ``dbpath`` (an unsigned package fails then, as with dnf's gpgcheck=1).

    Returns the files rpm refuses, each with the first check that failed, as rpm words it.
    """
    Path(dbpath).mkdir(parents=True, exist_ok=True)
    level = "all" if require_signature else "digest"
    refused: dict[Path, str] = {}
    for start in range(0, len(paths), _BATCH):
        batch = list(paths[start:start + _BATCH])
        proc = run(["--define", f"_pkgverify_level {level}", "-Kv", *(str(path) for path in batch)],
                   dbpath=Path(dbpath).absolute(), ok=None)
        lines: dict[str, list[tuple[str, str, str]]] = {}
        current = None
        for line in proc.stdout.splitlines():
            match = _VERDICT.match(line)
            if match is None and line.endswith(":") and not line.startswith(" "):
                current = lines.setdefault(line[:-1], [])
            elif match is not None and current is not None:
                current.append((match["what"], match["status"], match["detail"].strip()))
        complaints = (proc.stderr or "").splitlines()
        for path in batch:
            verdicts = lines.get(str(path))
            if not verdicts:  # not a package rpm can read: it says why on stderr, if at all
                said = next((line.removeprefix("error: ").removeprefix(f"{path}: ") for line in complaints
                             if f"{path}:" in line), "")
                refused[path] = said or "not an RPM package rpm can read"
                continue
            bad = [f"{what}: {status}" for what, status, _detail in verdicts if status not in ("OK", "NOTFOUND")]
            signed = any("signature" in what.lower() and status == "OK" for what, status, _detail in verdicts)
            if bad:
                refused[path] = bad[0]
            elif require_signature and not signed:
                refused[path] = "not signed (gpgcheck=1)"
    return refused
