"""The versions of the host programs a build runs, as provenance records them.

Only the programs that run on the build host itself: the compiler and rpmbuild run inside the
buildroot, and the buildroot's exact packages are recorded with every build instead.

Each program answers ``--version``; the first line is kept and the version number taken from it
(``gcc (Debian 12.2.0-14) 12.2.0`` -> ``12.2.0``). A program that is missing is simply absent.
"""

from __future__ import annotations

import re
import shutil
from functools import cache

from tributary.tools import process

PROGRAMS = ("bwrap", "dnf", "createrepo_c")
_VERSION = re.compile(r"\d+(?:\.\d+)+")


@cache
def version_of(program: str) -> str | None:
    """The version number ``program --version`` prints first, or None when it is not installed."""
    path = shutil.which(program)
    if path is None:
        return None
    try:
        proc = process.run([path, "--version"], env={"LC_ALL": "C"}, timeout=30, ok=None)
    except process.ToolError:
        return None
    first = next((line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()), "")
    numbers = _VERSION.findall(first)
    return numbers[-1] if numbers else (first.strip() or None)


def versions(programs: tuple[str, ...] = PROGRAMS) -> dict[str, str]:
    """``{program: version}`` for every installed program of ``programs``."""
    found = {program: version_of(program) for program in programs}
    return {program: version for program, version in found.items() if version}
