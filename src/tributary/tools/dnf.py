"""dnf (version 4), the program: installing packages from given repositories into a root.

Runs offline: only the repositories given on the command line, no host repository files
(``reposdir=/dev/null``), no host configuration file, no plugins. ``HOME`` must hold an
``.rpmmacros`` that puts the rpmdb at ``/usr/lib/sysimage/rpm`` (Debian's rpm would put it in
``<root>/root/.rpmdb``) and the empty ``dnf.conf`` used instead of the host's; ``rpm_home`` writes
both. Failures become DnfError, with the capabilities dnf found no package for picked out of its output.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tributary.fsutil import atomic_write
from tributary.tools import process

PROGRAM = "dnf"
RPMDB_PATH = "/usr/lib/sysimage/rpm"
CONFIG_NAME = "dnf.conf"

_NO_MATCH = re.compile(r"^No match for argument: (?P<arg>.+)$", re.MULTILINE)
_NOTHING_PROVIDES = re.compile(r"nothing provides (?P<cap>.+?) needed by (?P<by>\S+)")


TIMEOUT = 3600.0
"""Seconds one ``dnf install`` may take: a whole image's packages, read and unpacked from local files."""


class DnfError(process.ToolError):
    """dnf failed: ``output`` is everything it printed (stdout and stderr in order), ``unmatched`` the
    requested capabilities no repository provides, ``missing`` the dependencies nothing provides."""

    @property
    def output(self) -> str:
        return self.stdout

    @property
    def unmatched(self) -> list[str]:
        return unmatched_arguments(self.stdout)

    @property
    def missing(self) -> list[str]:
        return missing_capabilities(self.stdout)


def require() -> str:
    return process.require(PROGRAM, package="dnf", purpose="to install packages into a root", error=DnfError)


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


@dataclass(frozen=True)
class RepoOption:
    """A repository given to dnf on the command line, with the settings a buildroot definition gives it."""

    id: str
    url: str
    gpgcheck: bool = False
    gpgkeys: tuple[str, ...] = ()
    priority: int = 99
    excludes: tuple[str, ...] = ()

    def args(self) -> list[str]:
        args = [f"--repofrompath={self.id},{self.url}", f"--repo={self.id}",
                f"--setopt={self.id}.gpgcheck={1 if self.gpgcheck else 0}",
                f"--setopt={self.id}.priority={self.priority}"]
        if self.gpgkeys:
            args.append(f"--setopt={self.id}.gpgkey={' '.join(self.gpgkeys)}")
        if self.excludes:
            args.append(f"--setopt={self.id}.excludepkgs={','.join(self.excludes)}")
        return args


def install_args(root: Path, packages: Sequence[str], *, releasever: str, arch: str, repos: Sequence[RepoOption],
                 config: Path) -> list[str]:
    """``dnf install`` of ``packages`` (names, capabilities, ``@groups``) into ``root`` from ``repos`` only.

    For buildroots: scriptlets run (in a chroot, as dnf does), signatures are checked where a repository
    says so, no weak dependencies, documentation kept (a build may read it), no cache kept.
    """
    args = [*_common_args(root, releasever=releasever, config=config), f"--forcearch={arch}",
            "--setopt=reposdir=/dev/null", "--setopt=keepcache=False"]
    for repo in repos:
        args += repo.args()
    return [*args, "install", *packages]


def install_from_repo_files_args(root: Path, packages: Sequence[str], *, releasever: str, reposdir: Path,
                                 cachedir: Path, config: Path) -> list[str]:
    """``dnf install`` into ``root`` from the ``.repo`` files in ``reposdir`` only (published channels).

    Unlike ``install_args`` the repositories are described by their ``.repo`` files, so their
    ``gpgcheck``/``repo_gpgcheck`` apply as published; documentation is left out and the metadata
    cached in ``cachedir``, outside the root.
    """
    return [*_common_args(root, releasever=releasever, config=config), f"--setopt=reposdir={reposdir}",
            f"--setopt=cachedir={cachedir}", "--setopt=tsflags=nodocs", "--setopt=keepcache=False", "install",
            *packages]


def download_closure(root: Path, packages: Sequence[str], *, directory: Path, releasever: str, arch: str,
                     repos: Sequence[RepoOption], home: Path) -> str:
    """Download ``packages`` and everything they need at run time into ``directory``, as an install into
    the empty ``root`` would pick them (nothing is installed); dnf's output. A package whose own needs
    cannot be met is left out (``--skip-broken``); a name nothing provides is still an error."""
    args = install_args(root, packages, releasever=releasever, arch=arch, repos=repos, config=home / CONFIG_NAME)
    verb = args.index("install")
    return run([*args[:verb], "--downloadonly", f"--downloaddir={directory}", "--skip-broken", *args[verb:]],
               home=home)


def install(root: Path, packages: Sequence[str], *, releasever: str, arch: str, repos: Sequence[RepoOption],
            home: Path) -> str:
    """Run the installation; return dnf's output. DnfError names what could not be found."""
    return run(install_args(root, packages, releasever=releasever, arch=arch, repos=repos, config=home / CONFIG_NAME),
               home=home)


READ_ONLY_VERBS = frozenset({"repoquery", "rq", "list", "ls", "info", "if", "search", "se", "repolist", "repoinfo",
                             "provides", "whatprovides", "prov", "deplist", "makecache", "mc", "check-update"})
"""dnf commands that only read repositories: what ``query`` runs (nothing installed on the host)."""


def query(repos: Sequence[RepoOption], arguments: Sequence[str], *, home: Path, cachedir: Path,
          releasever: str) -> process.CompletedProcess[str]:
    """``dnf ARGUMENTS`` (a read-only command, see READ_ONLY_VERBS) against ``repos`` only, each allowed to
    be unreachable (dnf skips it with a warning); metadata cached in ``cachedir``. Any exit status is
    returned, with stdout and stderr apart, for the caller to pass on."""
    program = require()
    command = [program, f"--config={home / CONFIG_NAME}", "--noplugins", f"--releasever={releasever}",
               "--setopt=reposdir=/dev/null", f"--setopt=cachedir={cachedir}"]
    for repo in repos:
        command += [*repo.args(), f"--setopt={repo.id}.skip_if_unavailable=1"]
    return process.run([*command, *arguments], env={"HOME": str(home), "LANG": "C.UTF-8"}, timeout=TIMEOUT,
                       ok=None, name=f"dnf {_verb(['dnf', *arguments])}", error=DnfError)


def run(args: Sequence[str], *, home: Path, env: Mapping[str, str] | None = None,
        timeout: float = TIMEOUT) -> str:
    """Run a dnf command line made here (``args[0]`` is ``dnf``) with ``home`` as ``HOME`` (see ``rpm_home``)
    and ``env`` added; return its output, stdout and stderr in order. DnfError with dnf's ``Error:`` line."""
    program = require()
    # dnf fills a root for minutes; tributary killed, that root is thrown away, so dnf must not go on.
    proc = process.run([program, *args[1:]], env={"HOME": str(home), "LANG": "C.UTF-8", **(env or {})},
                       timeout=timeout, merge_output=True, name=f"dnf {_verb(args)}", complaint=last_error,
                       error=DnfError, dies_with_caller=True)
    return proc.stdout


def _verb(args: Sequence[str]) -> str:
    return next((arg for arg in args[1:] if not arg.startswith("-")), "")


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

