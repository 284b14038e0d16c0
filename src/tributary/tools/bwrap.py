"""bubblewrap (``bwrap``), the program: the command line for a sandbox described as a list of mounts.

What the sandbox contains and why is ``tributary.build.sandbox``'s decision; this module only spells
it in bwrap's options, checks that bwrap is installed, runs the command line it made (through
``tools.process``), and recognises bwrap's own failures (it prints them as ``bwrap: ...`` and exits 1,
which would otherwise look like a failure of the command inside).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from tributary.tools import process

PROGRAM = "bwrap"


class BwrapError(process.ToolError):
    """bubblewrap is missing, could not start, or the sandboxed command outlived its time limit."""


@dataclass(frozen=True)
class Mount:
    """One entry of the sandbox's file system, in the order bwrap must apply it.

    ``kind`` is a bwrap option without its dashes: ``ro-bind``/``bind`` (``source`` on the host to
    ``dest``), ``symlink`` (``source`` is the link's target), ``tmpfs``, ``proc``, ``dev``, ``dir``.
    """

    kind: str
    dest: str
    source: str | None = None

    def args(self) -> list[str]:
        if self.kind in ("ro-bind", "bind", "symlink"):
            if self.source is None:
                raise ValueError(f"--{self.kind} needs a source")
            return [f"--{self.kind}", self.source, self.dest]
        if self.kind in ("tmpfs", "proc", "dev", "dir"):
            return [f"--{self.kind}", self.dest]
        raise ValueError(f"unknown bwrap mount kind {self.kind!r}")


def ro_bind(source: str, dest: str | None = None) -> Mount:
    return Mount("ro-bind", dest or source, source)


def bind(source: str, dest: str) -> Mount:
    return Mount("bind", dest, source)


def symlink(target: str, dest: str) -> Mount:
    return Mount("symlink", dest, target)


def tmpfs(dest: str) -> Mount:
    return Mount("tmpfs", dest)


def hide_file(dest: str) -> Mount:
    """Cover a file with ``/dev/null``; bwrap binds it ``nodev``, so opening the path is refused."""
    return Mount("ro-bind", dest, "/dev/null")


def command(
    argv: Sequence[str],
    *,
    mounts: Sequence[Mount],
    env: Mapping[str, str],
    uid: int | None,
    gid: int | None,
    chdir: str,
    hostname: str,
    network: bool = False,
    capabilities: Sequence[str] = (),
) -> list[str]:
    """``bwrap`` with every namespace unshared (no network unless asked), running ``argv`` as ``uid``.

    ``uid=None`` keeps the caller's (real) root and adds no user namespace: a user namespace maps only
    one uid, so a program that must give files to other users (an image's ``config.sh`` running
    ``chown``) runs as real root, confined by the other namespaces and ``capabilities`` alone.
    The environment is exactly ``env`` (``--clearenv`` first). ``--die-with-parent`` so an interrupted
    tributary leaves no build running; ``--new-session`` so the build cannot push input into our terminal.
    """
    if uid is None:
        args = [PROGRAM, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    else:
        args = [PROGRAM, "--unshare-all", "--unshare-user", "--uid", str(uid), "--gid", str(gid)]
    args += ["--hostname", hostname, "--die-with-parent", "--new-session", "--clearenv"]
    if network:
        args.append("--share-net")
    for capability in capabilities:
        args += ["--cap-add", capability]
    for mount in mounts:
        args += mount.args()
    for key in sorted(env):
        args += ["--setenv", key, env[key]]
    args += ["--chdir", chdir, "--", *argv]
    return args


def require() -> str:
    """The path of ``bwrap``; BwrapError saying how to install it when it is missing."""
    return process.require(PROGRAM, package="bubblewrap", purpose="to run builds and image scripts in a sandbox",
                           error=BwrapError)


def run(command: Sequence[str], *, timeout: float) -> process.CompletedProcess[bytes]:
    """Run a ``command(...)`` line; its output (stdout and stderr in order) as ``stdout``, any exit status.

    The exit status is the sandboxed program's, or 1 with a ``bwrap: ...`` line when the sandbox could
    not be set up (``setup_failure`` tells which). BwrapError only when bwrap is missing, cannot start,
    or the command outlives ``timeout`` seconds (it is then killed with everything it started).
    """
    require()
    return process.run_bytes(command, timeout=timeout, ok=None, merge_output=True, name=PROGRAM, error=BwrapError)


def run_logged(command: Sequence[str], *, log: BinaryIO, timeout: float, umask: int | None = None) -> int:
    """``run``, with the output appended to the open file ``log`` instead of kept (a build's log);
    ``umask`` for the files the sandboxed program creates. Returns the exit status."""
    require()
    return process.run_logged(command, log=log, timeout=timeout, umask=umask, name=PROGRAM, error=BwrapError)


def setup_failure(output: str) -> str | None:
    """bwrap's own complaint in a command's output (``bwrap: Can't mount ...``), if there is one."""
    for line in output.splitlines():
        if line.startswith("bwrap: "):
            return line.removeprefix("bwrap: ").strip()
    return None
