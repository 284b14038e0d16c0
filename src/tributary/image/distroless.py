"""Distroless images: no shell, no package manager, and still a package list scanners can read.

The packages that provide a shell or manage packages are erased whole (``rpm -e``, no scriptlets, since
the shell they would need is going); what the rpmdb says stays true. The package list is also written
where CBL-Mariner and Azure Linux distroless images carry it (``container-manifest-2``), for scanners
that cannot open the rpmdb.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import BinaryIO

from tributary.fsutil import atomic_write
from tributary.image.rootpaths import exists_in_root, through_link
from tributary.image.rpmdb import PUBKEY_PACKAGE, owners, rpm_in_root

RPM_MANIFEST_PATH = "var/lib/rpmmanifest/container-manifest-2"

# The query CBL-Mariner's toolkit runs to write container-manifest-2 (syft and trivy parse exactly these
# ten tab-separated fields): name, version-release, install time, build time, vendor, epoch ("(none)"
# when unset), size, arch, epoch as a number, source RPM.
RPM_MANIFEST_FORMAT = ("%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{INSTALLTIME}\\t%{BUILDTIME}\\t%{VENDOR}\\t%{EPOCH}"
                       "\\t%{SIZE}\\t%{ARCH}\\t%{EPOCHNUM}\\t%{SOURCERPM}\\n")

# Shells and package managers by path, and package-manager packages by name.
_BIN_DIRS = ("usr/bin", "usr/sbin", "bin", "sbin", "usr/local/bin", "usr/local/sbin")
_SHELLS = ("sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "tcsh", "csh", "busybox", "toybox")
_PACKAGE_MANAGER_COMMANDS = ("rpm", "rpmdb", "rpmkeys", "rpmquery", "rpmverify", "rpm2archive", "rpm2cpio",
                             "rpmsign", "dnf", "dnf-3", "dnf4", "dnf5", "yum", "tdnf", "microdnf")
_PACKAGE_MANAGER_PACKAGES = frozenset({
    "rpm", "rpm-libs", "rpm-build-libs", "rpm-sign-libs", "rpm-sequoia", "python3-rpm", "rpm-plugin-selinux",
    "rpm-plugin-systemd-inhibit", "rpm-plugin-audit", "dnf", "dnf-data", "python3-dnf", "dnf-plugins-core",
    "python3-dnf-plugins-core", "libdnf", "python3-libdnf", "python3-hawkey", "dnf5", "libdnf5", "libdnf5-cli",
    "dnf5-plugins", "yum", "tdnf", "tdnf-cli-libs", "tdnf-plugin-repogpgcheck", "microdnf",
})


def make_distroless(root: Path, *, env: dict[str, str], log: BinaryIO) -> tuple[str, ...]:
    """Erase the packages that provide a shell or manage packages; return their names.

    Whole packages are erased (``rpm -e``: files and rpmdb entries together, no scriptlets, since the
    shell they would need is going), so the package list scanners read stays true: it does not claim
    a busybox the image no longer has. Shell and package-manager commands no package owns (made by
    scriptlets or the configuration script) and command links left dangling are removed too. The rpmdb
    itself is kept.
    """
    commands = [f"/{directory}/{name}" for directory in _BIN_DIRS
                for name in (*_SHELLS, *_PACKAGE_MANAGER_COMMANDS)]
    present = [path for path in commands if os.path.lexists(root / path.lstrip("/"))
               and not through_link(root, path)]
    owned_by = set(owners(root, env, present))
    names = rpm_in_root(root, env, ["-qa", "--qf", "%{NAME}\\n"])
    installed = {package.split("\t")[0] for package in names.splitlines()}
    doomed = sorted((owned_by | (installed & _PACKAGE_MANAGER_PACKAGES)) - {PUBKEY_PACKAGE})
    if doomed:
        log.write(f"tributary: distroless: erasing {' '.join(doomed)}\n".encode())
        rpm_in_root(root, env, ["-e", "--nodeps", "--noscripts", "--notriggers", *doomed])
    for path in commands:
        target = root / path.lstrip("/")
        if os.path.lexists(target) and not through_link(root, path):
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink()
    for directory in _BIN_DIRS:
        base = root / directory
        if base.is_symlink() or not base.is_dir():
            continue
        for entry in sorted(base.iterdir()):
            if entry.is_symlink() and not exists_in_root(root, "/" + str(entry.relative_to(root))):
                entry.unlink()
    return tuple(doomed)

def write_rpm_manifest(root: Path, env: dict[str, str]) -> Path:
    """``/var/lib/rpmmanifest/container-manifest-2``: the package list as CBL-Mariner distroless images carry it.

    One line per package in rpm's query format ``RPM_MANIFEST_FORMAT`` (ten tab-separated fields),
    sorted; scanners (trivy, syft) read it where they cannot open the rpmdb.
    """
    lines = [line for line in rpm_in_root(root, env, ["-qa", "--qf", RPM_MANIFEST_FORMAT]).splitlines()
             if line and not line.startswith(PUBKEY_PACKAGE + "\t")]
    target = root / RPM_MANIFEST_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(target.parent, 0o755)
    atomic_write(target, "".join(line + "\n" for line in sorted(lines)), mode=0o644)
    return target
