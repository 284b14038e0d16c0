"""dnf (version 4), the program: installing packages from local repositories into an empty root.

Runs offline: only the repositories given on the command line, no host repository files
(``reposdir=/dev/null``), no host configuration file, no plugins. ``HOME`` must hold an
``.rpmmacros`` that puts the rpmdb at ``/usr/lib/sysimage/rpm`` (Debian's rpm would put it in
``<root>/root/.rpmdb``) and the empty ``dnf.conf`` used instead of the host's; ``rpm_home`` writes both. Failures become DnfError, with the capabilities dnf
found no package for picked out of its output.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from tributary.errors import TribError
from tributary.fsutil import atomic_write

PROGRAM = "dnf"
RPMDB_PATH = "/usr/lib/sysimage/rpm"
CONFIG_NAME = "dnf.conf"

_NO_MATCH = re.compile(r"^No match for argument: (?P<arg>.+)$", re.MULTILINE)
_NOTHING_PROVIDES = re.compile(r"nothing provides (?P<cap>.+?) needed by (?P<by>\S+)")


class DnfError(TribError):
    """dnf failed; ``unmatched`` are the requested capabilities no repository provides."""

    def __init__(self, message: str, *, output: str, unmatched: Sequence[str] = (), missing: Sequence[str] = ()):
        super().__init__(message)
        self.output = output
        self.unmatched = list(unmatched)
        self.missing = list(missing)


def require() -> str:
    path = shutil.which(PROGRAM)
    if path is None:
        raise DnfError("dnf is not installed", output="")
    return path


def rpm_home(directory: Path) -> Path:
    """A ``HOME`` for dnf whose ``.rpmmacros`` puts the target root's rpmdb where Fedora keeps it.

    It also holds an empty ``dnf.conf``: dnf insists on reading a configuration file, and the host's
    (``/etc/dnf/dnf.conf``, e.g. ``skip_if_unavailable=True``) must not change what we install.
    """
    atomic_write(directory / ".rpmmacros", f"%_dbpath {RPMDB_PATH}\n")
    atomic_write(directory / CONFIG_NAME, "[main]\n")
    return directory


def _common_args(root: Path, *, releasever: str, config: Path) -> list[str]:
    return [PROGRAM, "-y", f"--config={config}", f"--installroot={root}", f"--releasever={releasever}",
            "--noplugins", "--setopt=install_weak_deps=False", "--setopt=skip_if_unavailable=False"]


def install_args(root: Path, packages: Sequence[str], *, releasever: str, repos: Mapping[str, Path],
                 config: Path, scripts: bool = True) -> list[str]:
    """``dnf install`` of ``packages`` (capabilities or local .rpm paths) into ``root`` from ``repos`` only.

    For build roots: the repositories are tributary's own unsigned ones, so signatures are not checked.
    ``scripts=False`` skips scriptlets and triggers, for a root that is read as files and never run.
    """
    args = [*_common_args(root, releasever=releasever, config=config), "--setopt=reposdir=/dev/null", "--nogpgcheck"]
    for name in sorted(repos):
        args += [f"--repofrompath={name},{Path(repos[name]).resolve().as_uri()}", f"--repo={name}"]
    if not repos:
        args.append("--disablerepo=*")
    if not scripts:
        args.append("--setopt=tsflags=noscripts,notriggers")
    return [*args, "install", *packages]


def install_from_repo_files_args(root: Path, packages: Sequence[str], *, releasever: str, reposdir: Path,
                                 config: Path) -> list[str]:
    """``dnf install`` into ``root`` from the ``.repo`` files in ``reposdir`` only (published channels).

    Unlike ``install_args`` the repositories are described by their ``.repo`` files, so their
    ``gpgcheck``/``repo_gpgcheck`` apply as published; documentation is left out and no cache kept.
    """
    return [*_common_args(root, releasever=releasever, config=config), f"--setopt=reposdir={reposdir}",
            "--setopt=tsflags=nodocs", "--setopt=keepcache=False", "install", *packages]


def install(root: Path, packages: Sequence[str], *, releasever: str, repos: Mapping[str, Path], home: Path,
            scripts: bool = True) -> str:
    """Run the installation; return dnf's output. DnfError names what could not be found."""
    require()
    env = {"PATH": "/usr/bin:/usr/sbin:/bin:/sbin", "HOME": str(home), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    proc = subprocess.run(install_args(root, packages, releasever=releasever, repos=repos,
                                       config=home / CONFIG_NAME, scripts=scripts),
                          capture_output=True, text=True, env=env, check=False)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        unmatched = unmatched_arguments(output)
        missing = missing_capabilities(output)
        reason = last_error(output) or f"exit status {proc.returncode}"
        raise DnfError(f"dnf install failed: {reason}", output=output, unmatched=unmatched, missing=missing)
    return output


def unmatched_arguments(output: str) -> list[str]:
    """Arguments of ``dnf install`` that no package provides (``No match for argument: X``)."""
    return list(dict.fromkeys(match["arg"].strip() for match in _NO_MATCH.finditer(output)))


def missing_capabilities(output: str) -> list[str]:
    """Dependencies of found packages that nothing provides (``nothing provides X needed by Y``)."""
    return list(dict.fromkeys(f"{m['cap']} (needed by {m['by']})" for m in _NOTHING_PROVIDES.finditer(output)))


def last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("Error:"):
            return line.removeprefix("Error:").strip()
    return lines[-1] if lines else ""

