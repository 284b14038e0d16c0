"""Build dependencies: the part of a component's BuildRequires the distribution itself must supply.

The sandbox gives every build the host's toolchain (``HOST_TOOLCHAIN`` in ``tributary.build.requires``).
Everything else a spec BuildRequires must come from packages this distribution already built: dnf
installs them from the repository of built RPMs into a separate, initially empty root (the *deps
root*), which the sandbox mounts read-only at ``/deps``; our macros point the compiler, the linker,
pkg-config and ``%check`` at it (``CPATH``, ``LIBRARY_PATH``, ``PKG_CONFIG_PATH``, ``LD_LIBRARY_PATH``
and ``PATH``). The host's headers and libraries stay where they are: a build compiles against the
host's glibc, with the distribution's libraries added on top. That is the honest, simple form of a
buildroot on a host that is not an RPM system.

Those packages in turn require things the host already has (``libc.so.6(GLIBC_2.34)(64bit)``,
``rtld(GNU_HASH)``, ``/bin/sh``, ``make``...). So that dnf does not try to install the distribution's
own copies (or fail because there are none yet), each installation includes a stand-in package,
``tributary-host-toolchain``, that owns no files and *provides* those capabilities: the host
toolchain's names, a shell's paths, and what rpm's ELF dependency generator reads from the host's C
and compiler runtime libraries. It is made once per work directory and lives under
``<work-dir>/cache/host-toolchain/``.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import os
import platform
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from tributary.build.requires import HOST_TOOLCHAIN, MissingBuildRequirement
from tributary.errors import TribError
from tributary.tools import dnf, rpmbuild

HOST_STUB_NAME = "tributary-host-toolchain"
# The host's C library and compiler runtime: what every program built in the sandbox links against.
HOST_RUNTIME_LIBRARIES = (
    "ld-linux-*.so.2", "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1",
    "libresolv.so.2", "libutil.so.1", "libanl.so.1", "libgcc_s.so.1", "libstdc++.so.6", "libatomic.so.1",
)
# Capabilities the host has that no file or name above yields: glibc provides the first by hand.
HOST_EXTRA_PROVIDES = ("rtld(GNU_HASH)", "/usr/bin/env", "/usr/bin/perl", "/usr/bin/pkg-config")


class DependencyInstallError(TribError):
    """dnf could not install a component's build dependencies for a reason other than a missing one."""

    exit_code = 1


def library_directories() -> tuple[str, ...]:
    """Where the host keeps shared libraries: Debian's multiarch directory first, then the others."""
    return (f"/usr/lib/{platform.machine()}-linux-gnu", "/usr/lib64", "/usr/lib")


@functools.cache
def host_capabilities() -> tuple[str, ...]:
    """Everything the host toolchain stand-in provides, sorted (computed once per process)."""
    libraries: list[Path] = []
    for pattern in HOST_RUNTIME_LIBRARIES:
        for directory in library_directories():
            found = sorted(glob.glob(os.path.join(directory, pattern)))
            if found:
                libraries.append(Path(found[0]))
                break
    capabilities = set(HOST_TOOLCHAIN) | set(HOST_EXTRA_PROVIDES) | set(rpmbuild.elf_provides(libraries))
    return tuple(sorted(capabilities))


def host_stub_spec(capabilities: Sequence[str]) -> str:
    provides = "".join(f"Provides:       {capability}\n" for capability in capabilities)
    return (
        f"Name:           {HOST_STUB_NAME}\n"
        "Version:        1\n"
        "Release:        1\n"
        "Summary:        The build host's toolchain and C runtime, as seen by dependency resolution\n"
        "License:        MIT\n"
        f"{provides}\n"
        "%description\n"
        "Owns no files. tributary installs it into the roots that hold a build's dependencies so\n"
        "that dnf counts what the build host already has (compilers, shell, C library) as installed.\n"
        "\n"
        "%files\n"
    )


def host_stub_rpm(cache_dir: Path) -> Path:
    """The stand-in package for this host, built on first use and kept under ``cache_dir``.

    The directory is named after the spec's hash, so a changed host (a glibc update) makes a new one.
    Built beside its final place and renamed in; when another process got there first, its copy wins.
    """
    spec_text = host_stub_spec(host_capabilities())
    key = hashlib.sha256(spec_text.encode()).hexdigest()[:16]
    target = cache_dir / key
    rpm_path = target / f"{HOST_STUB_NAME}.rpm"
    if rpm_path.is_file():
        return rpm_path
    cache_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=cache_dir))
    try:
        spec = scratch / f"{HOST_STUB_NAME}.spec"
        spec.write_text(spec_text)
        top = scratch / "top"
        rpmbuild.run(rpmbuild.binary_args(str(spec), topdir=str(top)),
                     env={"PATH": "/usr/bin:/bin", "HOME": str(scratch), "LC_ALL": "C.UTF-8"})
        (built,) = (top / "RPMS").glob("*/*.rpm")
        os.replace(built, scratch / rpm_path.name)
        shutil.rmtree(top)
        try:
            os.rename(scratch, target)
        except OSError:
            if not rpm_path.is_file():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rpm_path


def install_build_dependencies(
    component: str,
    requirements: Sequence[str],
    *,
    repo_of_built: Path | None,
    deps_root: Path,
    releasever: str,
    cache_dir: Path,
    home: Path,
    log: BinaryIO,
) -> None:
    """Install ``requirements`` (and what they require) from ``repo_of_built`` into ``deps_root``.

    Offline, no scriptlets (the root is read as files, never run), no weak dependencies. dnf's output
    goes to ``log``. A requirement nothing provides raises MissingBuildRequirement naming it.
    """
    if not requirements:
        return
    if repo_of_built is None:
        raise MissingBuildRequirement(component, requirements, detail="no repository of built packages was given")
    stub = host_stub_rpm(cache_dir)
    deps_root.mkdir(parents=True, exist_ok=True)
    try:
        output = dnf.install(deps_root, [str(stub), *requirements], releasever=releasever,
                             repos={"built": repo_of_built}, home=dnf.rpm_home(home), scripts=False)
    except dnf.DnfError as error:
        log.write(error.output.encode())
        if error.unmatched:
            raise MissingBuildRequirement(component, error.unmatched) from None
        detail = "; ".join(error.missing) or error.message
        raise DependencyInstallError(f"cannot install the build dependencies: {detail}",
                                     where=f"component {component}") from None
    log.write(output.encode())
