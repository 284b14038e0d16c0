"""The build sandbox: what rpmbuild sees, as which user, with which environment.

Every command of a build runs inside bubblewrap (``tributary.tools.bwrap``):

* **no network**, and new IPC, PID, UTS and cgroup namespaces (``--unshare-all``): a build that
  downloads something is a build nobody can repeat;
* **as uid/gid 65534** in a new user namespace. When tributary runs as root, that user is host root
  seen from outside, without any capability; so every host file that only root may read (not
  world-readable: ``/etc/shadow``, private keys) is covered with an empty one, and the build sees
  exactly what an unprivileged user would. (Dropping to a real unprivileged uid with setpriv first is
  not workable: bwrap 0.8 then cannot reach a work directory under a mode-0700 parent, and
  ``--bind-fd`` fails for an unprivileged caller.)
* **a fixed path**: the build tree is always ``/build``. The path reaches build-ids and debug
  information, so two builds in different work directories differ unless it is fixed;
* **the host's ``/usr`` and ``/etc`` read-only**: the declared host toolchain (gcc, make, sh,
  coreutils, patch, tar, gzip, xz...) is the host's. ``/etc`` is needed because ``cc`` and friends are
  ``/etc/alternatives`` links. The bootstrap packages that repackage host files (glibc-bootstrap,
  busybox-bootstrap) read them under ``/usr`` through their default ``%{host_root}`` (empty): we do not
  bind the whole host at ``/run/host``, which would expose far more than those files;
* the distribution's own build dependencies, installed by dnf into a separate root, read-only at
  ``/deps`` (see ``tributary.build.buildroot`` and ``%tributary_deps_root`` in macros.tributary);
* our macros and gcc specs read-only at ``/tributary``; fresh ``/tmp`` and ``/var/tmp``; a private
  ``/proc`` and a minimal ``/dev``; ``HOME=/build/home``; a fixed ``PATH``, locale and time zone.
"""

from __future__ import annotations

import functools
import os
import stat
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tributary.tools import bwrap

SANDBOX_UID = 65534
SANDBOX_GID = 65534
BUILD_PATH = "/build"
DEPS_PATH = "/deps"
CONFIG_PATH = "/tributary"
HOME_PATH = f"{BUILD_PATH}/home"
HOSTNAME = "tributary-build"
# Host trees the toolchain lives in, bound read-only at the same place.
HOST_TREES = ("/usr", "/etc")
# Merged-/usr links, as on the host (Debian 12 and Fedora both merge /usr).
USR_LINKS = (("usr/bin", "/bin"), ("usr/sbin", "/sbin"), ("usr/lib", "/lib"), ("usr/lib64", "/lib64"))

ENVIRONMENT = {
    "PATH": "/usr/bin:/usr/sbin",
    "HOME": HOME_PATH,
    "USER": "nobody",
    "LOGNAME": "nobody",
    "SHELL": "/bin/sh",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
    "TMPDIR": "/tmp",
}


@dataclass(frozen=True)
class Sandbox:
    """A sandbox for one build: ``build_dir`` writable at /build, the rest read-only."""

    build_dir: Path
    config_dir: Path
    deps_root: Path | None = None

    def mounts(self) -> list[bwrap.Mount]:
        mounts = [bwrap.ro_bind(tree) for tree in HOST_TREES]
        mounts += [bwrap.symlink(target, link) for target, link in USR_LINKS]
        mounts += [bwrap.Mount("proc", "/proc"), bwrap.Mount("dev", "/dev"),
                   bwrap.tmpfs("/tmp"), bwrap.tmpfs("/var/tmp")]
        mounts += root_only_covers() if os.geteuid() == 0 else []
        mounts.append(bwrap.bind(str(self.build_dir), BUILD_PATH))
        mounts.append(bwrap.ro_bind(str(self.config_dir), CONFIG_PATH))
        if self.deps_root is not None:
            mounts.append(bwrap.ro_bind(str(self.deps_root), DEPS_PATH))
        return mounts

    def command(self, argv: Sequence[str]) -> list[str]:
        return bwrap.command(argv, mounts=self.mounts(), env=ENVIRONMENT, uid=SANDBOX_UID, gid=SANDBOX_GID,
                             chdir=BUILD_PATH, hostname=HOSTNAME)

    def run(self, argv: Sequence[str], log: BinaryIO) -> int:
        """Run ``argv`` inside; its output (stdout and stderr, interleaved) goes to ``log``.

        The umask is fixed because file modes created without an explicit mode (``mkdir -p`` in a
        spec) end up in the package.
        """
        bwrap.require()
        (self.build_dir / "home").mkdir(parents=True, exist_ok=True)
        log.flush()
        proc = subprocess.run(self.command(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, umask=0o022, check=False)
        return proc.returncode


_COVERS_LOCK = threading.Lock()


def root_only_covers() -> tuple[bwrap.Mount, ...]:
    """The covers below, computed once per process even when two builds start at the same moment."""
    with _COVERS_LOCK:
        return _root_only_covers()


@functools.cache
def _root_only_covers() -> tuple[bwrap.Mount, ...]:
    """Covers for everything under the host trees that only root may read, found once per process.

    A file without the world-read bit is covered by ``/dev/null`` (on a ``nodev`` mount, so opening it
    fails with "Permission denied", as it would for an unprivileged user), a directory without world
    read and search by an empty tmpfs. Symbolic links are left alone: what they point to is checked where
    it lives (or is outside the sandbox and dangles).
    """
    covers: list[bwrap.Mount] = []
    for tree in HOST_TREES:
        _collect_covers(tree, covers)
    return tuple(covers)


def _collect_covers(directory: str, covers: list[bwrap.Mount]) -> None:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:
        covers.append(bwrap.tmpfs(directory))
        return
    for entry in entries:
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
        except OSError:
            continue
        if stat.S_ISLNK(mode):
            continue
        if stat.S_ISDIR(mode):
            if mode & 0o005 != 0o005:
                covers.append(bwrap.tmpfs(entry.path))
            else:
                _collect_covers(entry.path, covers)
        elif stat.S_ISREG(mode) and not mode & 0o004:
            covers.append(bwrap.hide_file(entry.path))
