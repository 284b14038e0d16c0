"""rpmbuild (and rpm-build's ``elfdeps`` helper), the programs: argument lists and reading their output.

The build stage runs rpmbuild inside its sandbox, so this module does not start it; it spells the
two invocations tributary uses (SRPM from a spec, binary RPMs from that SRPM), and picks out of a log
what a person needs to see when a build failed. It does run ``elfdeps``, rpm's ELF dependency
generator, which is how rpm itself derives soname provides.

Build options are never passed here: a component's options reach rpmbuild through the
``<name>.azl.macros`` file its spec loads, so its SRPM rebuilds the same anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from tributary.tools import process

PROGRAM = "rpmbuild"
ELFDEPS = "/usr/lib/rpm/elfdeps"
BUILD_ERRORS_HEADER = "RPM build errors:"


TIMEOUT = 3600.0
"""Seconds an rpmbuild run on the host may take (tributary's own small packages, not component builds)."""


class RpmbuildError(process.ToolError):
    """rpmbuild or one of its helpers is missing or failed."""


def require() -> str:
    return process.require(PROGRAM, package="rpm", purpose="to build packages", error=RpmbuildError)


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


def binary_args(spec: str, *, topdir: str, defines: Mapping[str, str] | None = None) -> list[str]:
    """``rpmbuild -bb`` with a top directory and ``defines`` (for packages tributary writes itself)."""
    args = [PROGRAM, "-bb", "--nodeps", "--define", f"_topdir {topdir}"]
    for name, value in (defines or {}).items():
        args += ["--define", f"{name} {value}"]
    return [*args, spec]


def run(args: Sequence[str], *, env: Mapping[str, str],
        timeout: float = TIMEOUT) -> process.CompletedProcess[str]:
    """Run an rpmbuild command on the host with exactly ``env``; RpmbuildError with its last lines when it fails.

    stdout and stderr come back merged, in order, as ``stdout``.
    """
    require()
    return process.run(args, environ=env, timeout=timeout, merge_output=True, name=" ".join(args[:2]),
                       complaint=_tail, error=RpmbuildError)


def _tail(output: str) -> str:
    """rpmbuild's last 20 lines: one line rarely says why a build failed."""
    return "\n".join(["its last lines:", *output.splitlines()[-20:]])


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
    proc = process.run([ELFDEPS, "--provides"], input=files, name="elfdeps --provides", error=RpmbuildError)
    return sorted(set(proc.stdout.split()))
