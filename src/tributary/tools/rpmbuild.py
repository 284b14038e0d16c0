"""rpmbuild (and rpm-build's ``elfdeps`` helper), the programs: argument lists and reading their output.

The build stage runs rpmbuild inside its sandbox, so this module does not start it; it spells the
two invocations tributary uses (SRPM from a spec, binary RPMs from that SRPM), and picks out of a log
what a person needs to see when a build failed. It does run ``elfdeps``, rpm's ELF dependency
generator, which is how rpm itself derives soname provides.

Build options are never passed here: a component's options reach rpmbuild through the
``<name>.azl.macros`` file its spec loads, so its SRPM rebuilds the same anywhere.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from tributary.errors import TribError

PROGRAM = "rpmbuild"
ELFDEPS = "/usr/lib/rpm/elfdeps"
BUILD_ERRORS_HEADER = "RPM build errors:"


class RpmbuildError(TribError):
    """rpmbuild or one of its helpers is missing or failed."""


def require() -> str:
    path = shutil.which(PROGRAM)
    if path is None:
        raise RpmbuildError("rpmbuild is not installed", hint="apt-get install rpm")
    return path


def _common(topdir: str, macro_files: Sequence[str], check: bool) -> list[str]:
    # --nodeps: the host's rpmdb is empty; BuildRequires are resolved by tributary instead.
    args = ["--nodeps", "--define", f"_topdir {topdir}"]
    for path in macro_files:
        args += ["--load", path]
    if not check:
        args.append("--nocheck")
    return args


def srpm_args(spec: str, *, topdir: str, sourcedir: str, macro_files: Sequence[str]) -> list[str]:
    """``rpmbuild -bs``: the SRPM of ``spec``, its Source and Patch files read from ``sourcedir``."""
    return [PROGRAM, "-bs", *_common(topdir, macro_files, True),
            "--define", f"_sourcedir {sourcedir}", "--define", f"_specdir {sourcedir}", spec]


def rebuild_args(srpm: str, *, topdir: str, macro_files: Sequence[str], check: bool = True) -> list[str]:
    """``rpmbuild --rebuild``: install ``srpm`` under ``topdir`` and build its binary packages."""
    return [PROGRAM, "--rebuild", *_common(topdir, macro_files, check), srpm]


def binary_args(spec: str, *, topdir: str) -> list[str]:
    """``rpmbuild -bb`` with nothing but a top directory (for packages tributary writes itself)."""
    return [PROGRAM, "-bb", "--nodeps", "--define", f"_topdir {topdir}", spec]


def run(args: Sequence[str], *, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run an rpmbuild command on the host; RpmbuildError with its last lines when it fails."""
    require()
    proc = subprocess.run(list(args), capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).splitlines()
        raise RpmbuildError(f"{' '.join(args[:2])} failed with exit status {proc.returncode}:\n"
                            + "\n".join(output[-20:]))
    return proc


def build_errors(log: str) -> list[str]:
    """The ``RPM build errors:`` block rpmbuild prints last when it fails (header included)."""
    lines = log.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip() == BUILD_ERRORS_HEADER:
            block = [lines[index]]
            for line in lines[index + 1:]:
                if not line.startswith((" ", "\t")):
                    break
                block.append(line)
            return block
    return []


def elf_provides(paths: Iterable[Path]) -> list[str]:
    """What rpm would record as ``Provides`` for these ELF files (``libc.so.6(GLIBC_2.34)(64bit)``...)."""
    if not Path(ELFDEPS).exists():
        raise RpmbuildError(f"{ELFDEPS} is missing (it comes with rpmbuild)", hint="apt-get install rpm")
    files = "".join(f"{path}\n" for path in paths)
    proc = subprocess.run([ELFDEPS, "--provides"], input=files, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RpmbuildError(f"elfdeps --provides failed: {proc.stderr.strip()}")
    return sorted(set(proc.stdout.split()))
