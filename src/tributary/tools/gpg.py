"""gpg, the program: key generation, key look-up, export and detached signatures, and their failures.

Every call names its key ring with ``--homedir`` and also exports ``GNUPGHOME``, because the gpg-agent
that gpg starts on demand finds its socket through the environment. Which key signs what, and when,
is decided by ``tributary.repo.sign``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tributary.errors import TribError

# sun_path of a Unix socket holds 108 bytes including the final NUL. gpg-agent makes several sockets in
# one directory; the longest name is S.gpg-agent.browser.
_SOCKET_PATH_MAX = 107
_LONGEST_SOCKET_SUFFIX = ".browser"


class GpgError(TribError):
    """A gpg command failed, or the key ring cannot be used (missing key, socket path too long)."""

    def __init__(self, message: str, *, command: Sequence[str] = (), stderr: str = "", hint: str | None = None):
        super().__init__(message, hint=hint)
        self.command = list(command)
        self.stderr = stderr


@dataclass(frozen=True)
class KeyInfo:
    """A secret key as ``gpg --list-secret-keys`` shows it: primary fingerprint, creation time, first uid."""

    fingerprint: str
    created: int
    uid: str
    algorithm: str


def executable() -> str:
    """The path of gpg (Debian has no ``gpg2``, which rpm's default ``%__gpg`` names)."""
    found = shutil.which("gpg")
    if found is None:
        raise GpgError("gpg is not installed (needed to sign packages and repository metadata)",
                       hint="apt-get install gnupg")
    return found


def environment(home: Path) -> dict[str, str]:
    """The caller's environment with ``GNUPGHOME`` set to ``home`` and English messages."""
    env = dict(os.environ)
    env.update({"GNUPGHOME": str(home), "LC_ALL": "C", "LANGUAGE": "C"})
    env.pop("GPG_AGENT_INFO", None)
    return env


def run(home: Path, args: Sequence[str], *, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``gpg --homedir HOME --batch --no-tty ARGS``; a non-zero status raises GpgError."""
    command = [executable(), "--homedir", str(home), "--batch", "--no-tty", *args]
    proc = subprocess.run(command, input=input, capture_output=True, env=environment(home), check=False)
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip()
        raise GpgError(f"gpg {_verb(args)} failed: {_last_message(stderr) or f'exit status {proc.returncode}'}",
                       command=command, stderr=stderr)
    return proc


def _verb(args: Sequence[str]) -> str:
    return next((arg for arg in args if arg.startswith("--") and arg not in _OPTION_WORDS), "")


_OPTION_WORDS = {"--armor", "--with-colons", "--pinentry-mode", "--passphrase", "--status-fd", "--local-user",
                 "--digest-algo", "--faked-system-time", "--output", "--quiet", "--yes"}


def _last_message(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and "WARNING: running with faked" not in line]
    return lines[-1].removeprefix("gpg: ") if lines else ""


def check_socket_path(home: Path) -> None:
    """Fail early, with advice, when gpg-agent's sockets would not fit a Unix socket address.

    Without ``/run/user/<uid>`` gpg puts its sockets in the home directory itself; a deep path then
    makes every signing command fail with an unhelpful "No agent running".
    """
    proc = subprocess.run(["gpgconf", "--list-dirs", "agent-socket"], capture_output=True,
                          env=environment(home), check=False)
    socket = proc.stdout.decode(errors="replace").strip()
    if proc.returncode == 0 and not socket_path_fits(socket):
        raise GpgError(
            f"GNUPGHOME {home} is too deep for gpg-agent's socket ({socket})",
            hint="use a shorter GNUPGHOME, for example a directory under /tmp, or create /run/user/<uid>",
        )


def socket_path_fits(socket: str) -> bool:
    """Whether gpg-agent's sockets named after ``socket`` (S.gpg-agent and its siblings) fit ``sun_path``."""
    return len(os.fsencode(socket + _LONGEST_SOCKET_SUFFIX)) <= _SOCKET_PATH_MAX


def generate_key(home: Path, uid: str, *, algorithm: str = "ed25519") -> str:
    """A new signing key without a passphrase that never expires; returns its fingerprint."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    check_socket_path(home)
    proc = run(home, ["--pinentry-mode", "loopback", "--passphrase", "", "--status-fd", "1",
                      "--quick-gen-key", uid, algorithm, "sign", "never"])
    for line in proc.stdout.decode(errors="replace").splitlines():
        parts = line.split()
        if parts[:2] == ["[GNUPG:]", "KEY_CREATED"] and len(parts) >= 4:
            return parts[3]
    raise GpgError(f"gpg made no key for {uid!r} (no KEY_CREATED status)", stderr=proc.stderr.decode(errors="replace"))


def secret_keys(home: Path, key: str) -> list[KeyInfo]:
    """Every secret key ``key`` (fingerprint, key id, e-mail or name) selects in the key ring at ``home``."""
    command = [executable(), "--homedir", str(home), "--batch", "--no-tty", "--with-colons",
               "--fixed-list-mode", "--list-secret-keys", "--", key]
    proc = subprocess.run(command, capture_output=True, env=environment(home), check=False)
    if proc.returncode != 0:
        return []  # gpg says "No secret key" with status 2
    keys: list[KeyInfo] = []
    current: dict[str, str] = {}
    for line in proc.stdout.decode(errors="replace").splitlines():
        fields = line.split(":")
        if fields[0] == "sec":
            if current:
                keys.append(_key_info(current))
            current = {"created": fields[5], "algorithm": fields[16] if len(fields) > 16 and fields[16] else fields[3]}
        elif fields[0] == "fpr" and current and "fingerprint" not in current:
            current["fingerprint"] = fields[9]
        elif fields[0] == "uid" and current and "uid" not in current:
            current["uid"] = fields[9]
    if current:
        keys.append(_key_info(current))
    return keys


def _key_info(fields: dict[str, str]) -> KeyInfo:
    return KeyInfo(fields.get("fingerprint", ""), int(fields.get("created") or 0), fields.get("uid", ""),
                   fields.get("algorithm", ""))


def export_public(home: Path, fingerprint: str) -> bytes:
    """The armored public key (what ``gpgkey=`` and ``rpm --import`` read)."""
    out = run(home, ["--armor", "--export", "--", fingerprint]).stdout
    if not out.strip():
        raise GpgError(f"gpg exported nothing for key {fingerprint}")
    return out


def detach_sign(home: Path, fingerprint: str, data: Path, *, timestamp: int | None = None) -> bytes:
    """An armored detached signature of ``data`` (as ``repomd.xml.asc``), made at ``timestamp``.

    With a timestamp, gpg's clock is frozen there (``--faked-system-time T!``), so the same key and
    data give the same signature bytes: EdDSA and RSA PKCS#1 v1.5 signatures are deterministic and the
    creation time is the only other input.
    """
    args = ["--armor", "--digest-algo", "SHA256", "--local-user", f"{fingerprint}!"]
    if timestamp is not None:
        args += ["--faked-system-time", f"{timestamp}!"]
    return run(home, [*args, "--output", "-", "--detach-sign", "--", str(data)]).stdout


def stop_agent(home: Path) -> None:
    """Stop the gpg-agent serving ``home`` (gpg starts one per key ring and leaves it running)."""
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], capture_output=True, env=environment(home), check=False)


def sign_data(home: Path, fingerprint: str, data: bytes, *, timestamp: int | None = None) -> bytes:
    """A binary detached signature of ``data`` (as DSSE envelopes carry it), made at ``timestamp``.

    Deterministic for a given key, data and timestamp, like ``detach_sign``.
    """
    args = ["--digest-algo", "SHA256", "--local-user", f"{fingerprint}!"]
    if timestamp is not None:
        args += ["--faked-system-time", f"{timestamp}!"]
    return run(home, [*args, "--output", "-", "--detach-sign"], input=data).stdout


def import_keys(home: Path, armored: bytes) -> None:
    """Import public keys into the key ring at ``home`` (created if missing)."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    run(home, ["--import"], input=armored)


def verify_data(home: Path, signature: bytes, data: bytes) -> str:
    """Check a detached signature of ``data`` with the keys in ``home``; the signer's primary fingerprint.

    A bad signature, or one by a key ``home`` does not hold, raises GpgError.
    """
    with tempfile.TemporaryDirectory(prefix="trib-verify-") as scratch:
        sig_path = Path(scratch) / "data.sig"
        sig_path.write_bytes(signature)
        command = [executable(), "--homedir", str(home), "--batch", "--no-tty", "--status-fd", "1",
                   "--verify", "--", str(sig_path), "-"]
        proc = subprocess.run(command, input=data, capture_output=True, env=environment(home), check=False)
    status = proc.stdout.decode(errors="replace").splitlines()
    for line in status:
        parts = line.split()
        if parts[:2] == ["[GNUPG:]", "VALIDSIG"] and len(parts) >= 3:
            return parts[-1] if len(parts) >= 12 else parts[2]
    if any(" BADSIG " in f" {line} " for line in status):
        raise GpgError("the signature does not match the signed data (BAD signature)", command=command)
    if any(" NO_PUBKEY " in f" {line} " or " ERRSIG " in f" {line} " for line in status):
        raise GpgError("the signature was made by a key the key ring does not hold", command=command)
    stderr = proc.stderr.decode(errors="replace").strip()
    raise GpgError(f"gpg --verify failed: {_last_message(stderr) or f'exit status {proc.returncode}'}",
                   command=command, stderr=stderr)
