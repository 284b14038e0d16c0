"""The build sandbox: a buildroot as ``/``, and nothing of the build host.

Every command of a build runs inside bubblewrap (``tributary.tools.bwrap``):

* **the root is the buildroot**, bound read-only at ``/`` (``tributary.build.buildroot.roots``): the
  compiler, rpmbuild, shell and libraries are the root's own, installed from repositories by dnf. No
  host ``/usr`` is visible, so a header or library on the build host cannot leak into a build, and two
  machines given the same repositories build the same bytes;
* **no network**, and new IPC, PID, UTS and cgroup namespaces (``--unshare-all``);
* **as uid/gid 65534** in a new user namespace, without any capability;
* **a fixed path**: the build tree is always ``/build`` (the path reaches build-ids and debug
  information), the only writable place with fresh ``/tmp`` and ``/var/tmp``, a private ``/proc``
  and a minimal ``/dev``;
* ``HOME=/build/home``, whose ``.rpmmacros`` holds the buildroot definition's macros (``%dist``,
  ``%vendor``...), where mock puts them; a fixed ``PATH``, locale and time zone.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tributary.tools import bwrap, process

SANDBOX_UID = 65534
SANDBOX_GID = 65534
BUILD_PATH = "/build"
HOME_PATH = f"{BUILD_PATH}/home"
HOSTNAME = "tributary-build"
STEP_TIMEOUT_ENV = "TRIB_BUILD_TIMEOUT"
DEFAULT_STEP_TIMEOUT = 4 * 3600.0
"""Seconds one rpmbuild step may take before it is killed (``$TRIB_BUILD_TIMEOUT`` overrides)."""

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


def step_timeout() -> float:
    configured = os.environ.get(STEP_TIMEOUT_ENV)
    return float(configured) if configured else DEFAULT_STEP_TIMEOUT


@dataclass(frozen=True)
class Sandbox:
    """One build's sandbox: ``root`` read-only as ``/``, ``build_dir`` writable at ``/build``."""

    root: Path
    build_dir: Path

    def mounts(self) -> list[bwrap.Mount]:
        return [bwrap.ro_bind(str(self.root), "/"), bwrap.Mount("proc", "/proc"), bwrap.Mount("dev", "/dev"),
                bwrap.tmpfs("/tmp"), bwrap.tmpfs("/var/tmp"), bwrap.tmpfs("/run"),
                bwrap.bind(str(self.build_dir), BUILD_PATH)]

    def command(self, argv: Sequence[str]) -> list[str]:
        return bwrap.command(argv, mounts=self.mounts(), env=ENVIRONMENT, uid=SANDBOX_UID, gid=SANDBOX_GID,
                             chdir=BUILD_PATH, hostname=HOSTNAME)

    def run(self, argv: Sequence[str], log: BinaryIO, *, timeout: float | None = None) -> int:
        """Run ``argv`` inside; its output goes to ``log``. The umask is fixed: modes of files a spec
        creates without an explicit mode end up in the package."""
        bwrap.require()
        return process.run_logged(self.command(argv), log=log, timeout=timeout or step_timeout(), umask=0o022,
                                  name="the build sandbox")
