"""rpm, the program: list the packages an rpm database records, and its failures as RpmQueryError.

The database is queried by ``--dbpath`` alone (no ``--root``): the caller hands over a directory that
holds just the database files, so nothing else of an image has to be unpacked. The query format gives
tab-separated NEVRA fields with the epoch as a number (``%{EPOCHNUM}``, 0 when unset).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tributary.errors import TribError

_FORMAT = r"%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n"


class RpmQueryError(TribError):
    """rpm could not read the database."""


@dataclass(frozen=True, order=True)
class InstalledRpm:
    name: str
    epoch: int
    version: str
    release: str
    arch: str

    @property
    def nevra(self) -> str:
        epoch = f"{self.epoch}:" if self.epoch else ""
        return f"{self.name}-{epoch}{self.version}-{self.release}.{self.arch}"


def query_all(dbpath: Path) -> list[InstalledRpm]:
    """Every package in the database at ``dbpath`` (signing keys, ``gpg-pubkey``, left out), sorted."""
    program = shutil.which("rpm")
    if program is None:
        raise RpmQueryError("rpm is not installed (needed to read an rpm database)", hint="apt-get install rpm")
    command = [program, "--dbpath", str(Path(dbpath).absolute()), "-qa", "--qf", _FORMAT]
    proc = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    if proc.returncode != 0:
        message = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        raise RpmQueryError(f"rpm -qa failed: {message[0]}", where=str(dbpath))
    packages = []
    for line in proc.stdout.splitlines():
        name, epoch, version, release, arch = line.split("\t")
        if name != "gpg-pubkey":
            packages.append(InstalledRpm(name, int(epoch or 0), version, release, arch))
    return sorted(packages)
