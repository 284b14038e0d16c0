"""rpmsign, the program: add an OpenPGP signature to RPM files in place, and its failures as RpmsignError.

rpm's default ``%__gpg`` is ``/usr/bin/gpg2``, which Debian does not ship, so the gpg path is always
passed. The key ring goes through ``%_gpg_path`` (rpm exports it as GNUPGHOME for gpg). Which files
to sign, with which key and at which time, is decided by ``tributary.repo``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tributary.tools import gpg, process

# Files per rpmsign call: one process for many files, without nearing the argument-length limit.
_BATCH = 200


TIMEOUT = 1800.0
"""Seconds one rpmsign call (up to ``_BATCH`` files) may take: it hashes every file it signs."""


class RpmsignError(process.ToolError):
    """rpmsign failed on one of the files it was given."""


def addsign(paths: Sequence[Path], *, gnupghome: Path, fingerprint: str, timestamp: int | None = None) -> None:
    """Sign every RPM in ``paths`` in place with the key ``fingerprint`` from ``gnupghome``.

    ``timestamp`` freezes gpg's clock for the signature packet, so signing the same file with the same
    key twice gives the same bytes (the signature time is otherwise "now").
    """
    program = process.require("rpmsign", package="rpm", purpose="to sign packages", error=RpmsignError)
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
        process.run([*base, "--addsign", *batch], environ=env, timeout=TIMEOUT, name="rpmsign --addsign",
                    complaint=_message, error=RpmsignError)


def _message(stderr: str) -> str:
    """The line that says what went wrong: the last ``error:`` line, else the last line that is not noise."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    if errors:
        return errors[-1].removeprefix("error:").strip()
    noise = ("gpg: WARNING: running with faked", "warning: Could not set GPG_TTY")
    useful = [line for line in lines if not line.startswith(noise)]
    return useful[-1] if useful else ""

