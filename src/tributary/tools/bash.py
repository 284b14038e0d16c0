"""bash, the program: run a spec's ``%(...)`` the way the upstream distribution's rpm does.

Fedora's rpm runs ``%(...)`` with /bin/sh, which is bash there; specs rely on it
(``%(c=%{commit}; echo ${c:0:7})``). Debian's /bin/sh is dash, so we name bash. The command is an
upstream's text, so it runs in a bubblewrap sandbox as nobody: no network, the host's ``/usr``
read-only, the component's directory read-only (specs read version files from it), an empty ``/tmp``.
As in rpm, its exit status does not matter: its standard output is the expansion.
"""

from __future__ import annotations

import os
from pathlib import Path

from tributary.tools import bwrap, process

TIMEOUT = 30.0
"""Seconds one ``%(...)`` may run (they print a short string; a hanging one must not stop a render)."""

NOBODY = 65534


def sandbox_command(script: str, directory: Path | None) -> list[str]:
    """The bwrap command line that runs ``script`` with bash in ``directory`` (None: in the sandbox's
    empty ``/tmp``, with no directory of the host to read)."""
    mounts = [bwrap.ro_bind("/usr")]
    for top in ("bin", "sbin", "lib", "lib64"):
        path = Path("/") / top
        if path.is_symlink():
            mounts.append(bwrap.symlink(os.readlink(path), str(path)))
        elif path.is_dir():
            mounts.append(bwrap.ro_bind(str(path)))
    mounts += [bwrap.Mount("dev", "/dev"), bwrap.Mount("proc", "/proc"), bwrap.tmpfs("/tmp")]
    if directory is not None:
        mounts.append(bwrap.ro_bind(str(directory)))
    argv = ["/usr/bin/bash", "-c", script]
    return bwrap.command(argv, mounts=mounts, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/tmp"},
                         uid=NOBODY, gid=NOBODY, chdir=str(directory or "/tmp"), hostname="rpm")


def run_sandboxed(script: str, directory: Path | None, *, timeout: float = TIMEOUT) -> str:
    """bash's standard output for ``script`` whatever its exit status; a ToolError if the sandbox could
    not be set up or the script outlived ``timeout``."""
    bwrap.require()
    proc = process.run(sandbox_command(script, directory), timeout=timeout, ok=None, name="bash")
    problem = bwrap.setup_failure(proc.stderr or "")
    if problem is not None:
        raise process.ToolError(f"bash could not be sandboxed: {problem}", command=proc.args, stderr=proc.stderr or "")
    return proc.stdout
