"""rpmbuild, the program: argument lists and reading its output.

The build stage runs the buildroot's own rpmbuild inside its sandbox, so this module does not start
it there; it spells the two invocations tributary uses (SRPM from a spec, binary RPMs from that
SRPM), and picks out of a log what a person needs to see when a build failed. The host's rpmbuild
runs only for packages tributary writes itself (``binary_args``, ``run``: the stage-0 repository).

Build options are never passed here: a component's options reach rpmbuild through the
``<name>.azl.macros`` file its spec loads, so its SRPM rebuilds the same anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tributary.tools import process

PROGRAM = "rpmbuild"
BUILD_ERRORS_HEADER = "RPM build errors:"


TIMEOUT = 3600.0
"""Seconds an rpmbuild run on the host may take (tributary's own small packages, not component builds)."""


class RpmbuildError(process.ToolError):
    """rpmbuild or one of its helpers is missing or failed."""


def require() -> str:
    return process.require(PROGRAM, package="rpm", purpose="to build packages", error=RpmbuildError)


def srpm_args(spec: str, *, topdir: str, sourcedir: str) -> list[str]:
    """``rpmbuild -bs``: the SRPM of ``spec``, its Source and Patch files read from ``sourcedir``.

    rpmbuild does not check BuildRequires when it only packs the sources.
    """
    return [PROGRAM, "-bs", "--define", f"_topdir {topdir}", "--define", f"_sourcedir {sourcedir}",
            "--define", f"_specdir {sourcedir}", spec]


def rebuild_args(srpm: str, *, topdir: str, check: bool = True) -> list[str]:
    """``rpmbuild --rebuild``: install ``srpm`` under ``topdir`` and build its binary packages.

    No ``--nodeps``: rpmbuild checks the BuildRequires against the root's own rpm database.
    """
    return [PROGRAM, "--rebuild", "--define", f"_topdir {topdir}", *([] if check else ["--nocheck"]), srpm]


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
