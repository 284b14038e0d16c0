"""Running a command-line program the same way for every disk tool: a clean environment, no stdin,
its output captured, and a failure turned into a one-line ``ToolError`` naming the program and quoting
its last complaint (the whole of stderr stays on the error for ``-v`` and logs).

The image stage calls many small programs (sfdisk, mkfs.ext4, debugfs, mkfs.vfat, mtools, qemu-img,
qemu-system); each has a module of its own that knows its arguments, and this one knows how to run them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence

from tributary.errors import TribError


class ToolError(TribError):
    """A program is missing or failed; ``stderr`` keeps everything it printed there."""

    def __init__(self, message: str, *, command: Sequence[str] = (), stderr: str = "", hint: str | None = None):
        super().__init__(message, hint=hint)
        self.command = list(command)
        self.stderr = stderr


def require(program: str, *, package: str, purpose: str) -> str:
    """The path of ``program``; a ToolError saying which Debian package provides it when missing."""
    path = shutil.which(program, path=_path())
    if path is None:
        raise ToolError(f"{program} is not installed (needed {purpose})", hint=f"apt-get install {package}")
    return path


def run(command: Sequence[str], *, env: Mapping[str, str] | None = None, input: str | None = None,
        timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``command`` and return it; a ToolError with the program's last stderr line if it fails."""
    try:
        proc = subprocess.run(list(command), input=input, capture_output=True, text=True, env=environment(env),
                              stdin=None if input is not None else subprocess.DEVNULL, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        raise ToolError(f"{os.path.basename(command[0])} did not finish within {timeout:g} s",
                        command=command, stderr=decoded(error.stderr)) from None
    if proc.returncode != 0:
        raise ToolError(f"{os.path.basename(command[0])} failed: {last_line(proc.stderr or proc.stdout) or f'exit status {proc.returncode}'}",
                        command=command, stderr=proc.stderr)
    return proc


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment tools run in: a PATH with sbin, a C locale, the caller's TMPDIR and HOME only."""
    return {"PATH": _path(), "LC_ALL": "C.UTF-8", "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
            "HOME": os.environ.get("HOME", "/"), **(extra or {})}


def last_line(text: str) -> str:
    """The last non-blank line a program printed, which is where most of them say what went wrong."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _path() -> str:
    # The disk tools live in sbin, which a non-root PATH often leaves out.
    return os.pathsep.join(dict.fromkeys([*os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep),
                                          "/usr/sbin", "/sbin"]))


def decoded(value: bytes | str | None) -> str:
    """A program's output as text, whether it was captured as bytes or str (or not at all)."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value or ""
