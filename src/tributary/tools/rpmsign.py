"""rpmsign, the program: add an OpenPGP signature to RPM files in place, and its failures as RpmsignError.

rpm's default ``%__gpg`` is ``/usr/bin/gpg2``, which Debian does not ship, so the gpg path is always
passed. The key ring goes through ``%_gpg_path`` (rpm exports it as GNUPGHOME for gpg). Which files
to sign, with which key and at which time, is decided by ``tributary.repo``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tributary.errors import TribError
from tributary.tools import gpg

# Files per rpmsign call: one process for many files, without nearing the argument-length limit.
_BATCH = 200


class RpmsignError(TribError):
    """rpmsign failed on one of the files it was given."""

    def __init__(self, message: str, *, command: Sequence[str] = (), stderr: str = "", hint: str | None = None):
        super().__init__(message, hint=hint)
        self.command = list(command)
        self.stderr = stderr


def addsign(paths: Sequence[Path], *, gnupghome: Path, fingerprint: str, timestamp: int | None = None) -> None:
    """Sign every RPM in ``paths`` in place with the key ``fingerprint`` from ``gnupghome``.

    ``timestamp`` freezes gpg's clock for the signature packet, so signing the same file with the same
    key twice gives the same bytes (the signature time is otherwise "now").
    """
    program = shutil.which("rpmsign")
    if program is None:
        raise RpmsignError("rpmsign is not installed (needed to sign packages)", hint="apt-get install rpm")
    defines = {
        "__gpg": gpg.executable(),
        "_gpg_path": str(gnupghome),
        # The trailing '!' selects exactly this key, not a subkey gpg might prefer.
        "_gpg_name": f"{fingerprint}!",
        "_gpg_digest_algo": "sha256",
    }
    if timestamp is not None:
        defines["_gpg_sign_cmd_extra_args"] = f"--faked-system-time {timestamp}!"
    base = [program]
    for name, value in defines.items():
        base += ["--define", f"{name} {value}"]
    env = gpg.environment(gnupghome)
    for start in range(0, len(paths), _BATCH):
        batch = [str(path) for path in paths[start:start + _BATCH]]
        command = [*base, "--addsign", *batch]
        proc = subprocess.run(command, capture_output=True, env=env, stdin=subprocess.DEVNULL, check=False)
        if proc.returncode != 0:
            stderr = proc.stderr.decode(errors="replace").strip()
            raise RpmsignError(f"rpmsign --addsign failed: {_message(stderr) or f'exit status {proc.returncode}'}",
                               command=command, stderr=stderr)


def _message(stderr: str) -> str:
    """The line that says what went wrong: the last ``error:`` line, else the last line that is not noise."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    if errors:
        return errors[-1].removeprefix("error:").strip()
    noise = ("gpg: WARNING: running with faked", "warning: Could not set GPG_TTY")
    useful = [line for line in lines if not line.startswith(noise)]
    return useful[-1] if useful else ""

