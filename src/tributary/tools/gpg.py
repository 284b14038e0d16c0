"""gpg, the program: key generation, key look-up, export and detached signatures, and their failures.

Every call names its key ring with ``--homedir`` and also exports ``GNUPGHOME``, because the gpg-agent
that gpg starts on demand finds its socket through the environment. Which key signs what, and when,
is decided by ``tributary.repo.sign``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tributary.tools import process

# sun_path of a Unix socket holds 108 bytes including the final NUL. gpg-agent makes several sockets in
# one directory; the longest name is S.gpg-agent.browser.
_SOCKET_PATH_MAX = 107
_LONGEST_SOCKET_SUFFIX = ".browser"

TIMEOUT = 120.0
"""Seconds any one gpg command may take. Nothing tributary asks of gpg takes long; one that does is
waiting for someone to type a passphrase (a protected key and a graphical pinentry, say)."""


class GpgError(process.ToolError):
    """A gpg command failed, or the key ring cannot be used (missing key, socket path too long)."""


@dataclass(frozen=True)
class KeyInfo:
    """A secret key as ``gpg --list-secret-keys`` shows it: primary fingerprint, creation time, first uid."""

    fingerprint: str
    created: int
    uid: str
    algorithm: str
    validity: str = ""  # gpg's letter: "e" expired, "r" revoked, "u" ultimate...
    expires: int = 0  # seconds since the epoch; 0 when it never does


def executable() -> str:
    """The path of gpg (Debian has no ``gpg2``, which rpm's default ``%__gpg`` names)."""
    return process.require("gpg", package="gnupg", purpose="to sign packages and repository metadata", error=GpgError)


def environment(home: Path) -> dict[str, str]:
    """The caller's environment with ``GNUPGHOME`` set to ``home`` and English messages."""
    env = dict(os.environ)
    env.update({"GNUPGHOME": str(home), "LC_ALL": "C", "LANGUAGE": "C"})
    env.pop("GPG_AGENT_INFO", None)
    return env


def run(home: Path, args: Sequence[str], *, input: bytes | None = None) -> process.CompletedProcess[bytes]:
    """Run ``gpg --homedir HOME --batch --no-tty ARGS``; a non-zero status raises GpgError."""
    return _execute(home, args, input=input, ok=(0,))


def _execute(home: Path, args: Sequence[str], *, input: bytes | None = None,
             ok: tuple[int, ...] | None = None) -> process.CompletedProcess[bytes]:
    """``gpg --homedir HOME --batch --no-tty ARGS``; GpgError when it hangs or its status is not in ``ok``.

    Bytes in and out (keys, signatures and signed data are binary). stdin is closed unless ``input``
    is given, so gpg can never wait on the terminal.
    """
    command = [executable(), "--homedir", str(home), "--batch", "--no-tty", *args]
    try:
        return process.run_bytes(command, environ=environment(home), input=input, timeout=TIMEOUT, ok=ok,
                                 name=f"gpg {_verb(args)}", complaint=_last_message, error=GpgError)
    except GpgError as error:
        if error.timed_out:
            error.hint = ("gpg is probably waiting for a passphrase: tributary needs a key without one "
                          "(or a gpg-agent with the passphrase preset)")
        raise


def _verb(args: Sequence[str]) -> str:
    return next((arg for arg in args if arg.startswith("--") and arg not in _OPTION_WORDS), "")


_OPTION_WORDS = {
    "--armor",
    "--with-colons",
    "--fixed-list-mode",
    "--pinentry-mode",
    "--passphrase",
    "--status-fd",
    "--local-user",
    "--digest-algo",
    "--faked-system-time",
    "--output",
    "--quiet",
    "--yes",
}


def _last_message(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines()
             if line.strip() and "WARNING: running with faked" not in line and not line.startswith("[GNUPG:]")]
    return lines[-1].removeprefix("gpg: ") if lines else ""


def check_socket_path(home: Path) -> None:
    """Fail early, with advice, when gpg-agent's sockets would not fit a Unix socket address.

    Without ``/run/user/<uid>`` gpg puts its sockets in the home directory itself; a deep path then
    makes every signing command fail with an unhelpful "No agent running".
    """
    try:
        socket = process.run(["gpgconf", "--list-dirs", "agent-socket"], environ=environment(home),
                             timeout=TIMEOUT).stdout.strip()
    except process.ToolError:
        return  # no gpgconf, or it failed: gpg itself will say what is wrong
    if not socket_path_fits(socket):
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
    for line in process.decoded(proc.stdout).splitlines():
        parts = line.split()
        if parts[:2] == ["[GNUPG:]", "KEY_CREATED"] and len(parts) >= 4:
            return parts[3]
    raise GpgError(f"gpg made no key for {uid!r} (no KEY_CREATED status)", stderr=process.decoded(proc.stderr))


def throwaway_key(home: Path, uid: str, *, algorithm: str = "ed25519") -> KeyInfo:
    """A passphrase-less signing key with user id ``uid`` in ``home`` (created if missing), for demos,
    tests and host-local repositories.

    A key with exactly that user id already there is reused, so a second run signs with the same key
    (and makes the same bytes). ``home`` must be a short path when ``/run/user/<uid>`` does not exist,
    because gpg-agent then puts its socket inside it.
    """
    home = Path(home).absolute()
    if home.is_dir():
        existing = secret_keys(home, f"={uid}")
        if len(existing) == 1:
            return existing[0]
    fingerprint = generate_key(home, uid, algorithm=algorithm)
    return next(key for key in secret_keys(home, fingerprint) if key.fingerprint == fingerprint)


def secret_keys(home: Path, key: str) -> list[KeyInfo]:
    """Every secret key ``key`` (fingerprint, key id, e-mail or name) selects in the key ring at ``home``."""
    proc = _execute(home, ["--with-colons", "--fixed-list-mode", "--list-secret-keys", "--", key])
    if proc.returncode != 0:
        return []  # gpg says "No secret key" with status 2
    keys: list[KeyInfo] = []
    current: dict[str, str] = {}
    for line in process.decoded(proc.stdout).splitlines():
        fields = line.split(":")
        if fields[0] == "sec":
            if current:
                keys.append(_key_info(current))
            current = {"created": fields[5], "algorithm": fields[16] if len(fields) > 16 and fields[16] else fields[3],
                       "validity": fields[1], "expires": fields[6]}
        elif fields[0] == "fpr" and current and "fingerprint" not in current:
            current["fingerprint"] = fields[9]
        elif fields[0] == "uid" and current and "uid" not in current:
            current["uid"] = fields[9]
    if current:
        keys.append(_key_info(current))
    return keys


def _key_info(fields: dict[str, str]) -> KeyInfo:
    return KeyInfo(fields.get("fingerprint", ""), int(fields.get("created") or 0), fields.get("uid", ""),
                   fields.get("algorithm", ""), fields.get("validity", ""), int(fields.get("expires") or 0))


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
    args = [*_NO_PROMPT, "--armor", "--digest-algo", "SHA256", "--local-user", f"{fingerprint}!"]
    if timestamp is not None:
        args += ["--faked-system-time", f"{timestamp}!"]
    return run(home, [*args, "--output", "-", "--detach-sign", "--", str(data)]).stdout


# A key with a passphrase makes signing fail at once ("No passphrase given") instead of the agent
# opening a pinentry, graphical when DISPLAY is set, that nobody answers.
_NO_PROMPT = ("--pinentry-mode", "loopback")


def check_can_sign(home: Path, fingerprint: str) -> None:
    """Sign a few bytes as every signature is made (no prompt); GpgError saying why the key cannot.

    Run before signing many things, so that a key with a passphrase fails with that reason at once,
    rather than as rpmsign's "gpg exec failed (2)" after a publish has copied every package.
    """
    proc = _execute(home, [*_NO_PROMPT, "--status-fd", "2", "--local-user", f"{fingerprint}!", "--output", "-",
                           "--detach-sign"], input=b"tributary: can this key sign unattended?\n", ok=None)
    if proc.returncode == 0:
        return
    stderr = process.decoded(proc.stderr)
    if "[GNUPG:] NEED_PASSPHRASE" in stderr:
        raise GpgError(f"the signing key {fingerprint} in {home} is protected by a passphrase, and tributary "
                       "signs without asking for one", stderr=stderr, returncode=proc.returncode,
                       hint="sign with a key without a passphrase ('trib repo keygen' makes one; keep the key ring "
                            "safe instead), or preset the passphrase in gpg-agent (allow-preset-passphrase and "
                            "gpg-preset-passphrase)")
    key = next((info for info in secret_keys(home, fingerprint) if info.fingerprint == fingerprint), None)
    if key is not None and key.validity in ("e", "r"):
        state = (f"expired on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(key.expires))}"
                 if key.validity == "e" else "is revoked")
        raise GpgError(f"the signing key {fingerprint} in {home} {state}: signatures by it would be refused",
                       stderr=stderr, returncode=proc.returncode,
                       hint="extend its expiry (gpg --quick-set-expire), or sign with another key"
                       if key.validity == "e" else "sign with another key")
    raise GpgError(f"the signing key {fingerprint} in {home} cannot sign: "
                   f"{_last_message(stderr) or f'gpg exit status {proc.returncode}'}",
                   stderr=stderr, returncode=proc.returncode)


def stop_agent(home: Path) -> None:
    """Stop the gpg-agent serving ``home`` (gpg starts one per key ring and leaves it running)."""
    try:
        process.run(["gpgconf", "--kill", "gpg-agent"], environ=environment(home), timeout=TIMEOUT)
    except process.ToolError:
        pass  # none running, or gpgconf missing: nothing to stop


def sign_data(home: Path, fingerprint: str, data: bytes, *, timestamp: int | None = None) -> bytes:
    """A binary detached signature of ``data`` (as DSSE envelopes carry it), made at ``timestamp``.

    Deterministic for a given key, data and timestamp, like ``detach_sign``.
    """
    args = [*_NO_PROMPT, "--digest-algo", "SHA256", "--local-user", f"{fingerprint}!"]
    if timestamp is not None:
        args += ["--faked-system-time", f"{timestamp}!"]
    return run(home, [*args, "--output", "-", "--detach-sign"], input=data).stdout


def import_keys(home: Path, armored: bytes) -> None:
    """Import public keys into the key ring at ``home`` (created if missing)."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    run(home, ["--import"], input=armored)


def verify_data(home: Path, signature: bytes, data: bytes) -> str:
    """Check a detached signature of ``data`` with the keys in ``home``; the signer's primary fingerprint.

    A bad signature, one by a key ``home`` does not hold, an expired or revoked key or an expired
    signature raises GpgError (``signer_of`` reads gpg's status lines).
    """
    with tempfile.TemporaryDirectory(prefix="trib-verify-") as scratch:
        sig_path = Path(scratch) / "data.sig"
        sig_path.write_bytes(signature)
        proc = _execute(home, ["--status-fd", "1", "--verify", "--", str(sig_path), "-"], input=data)
    try:
        return signer_of(process.decoded(proc.stdout).splitlines())
    except GpgError as error:
        stderr = process.decoded(proc.stderr).strip()
        reason = str(error)
        if isinstance(error, _NoVerdict):
            reason = f"gpg --verify failed: {_last_message(stderr) or f'exit status {proc.returncode}'}"
        raise GpgError(reason, command=proc.args, stderr=stderr, returncode=proc.returncode) from error


# Status keywords (gpg's doc/DETAILS) that make a signature unacceptable whatever else gpg says, with
# what each means.
_REFUSED = {
    "BADSIG": "the signature does not match the signed data (BAD signature)",
    "ERRSIG": "the signature cannot be checked (made by a key the key ring does not hold, or an unknown algorithm)",
    "EXPSIG": "the signature has expired",
    "EXPKEYSIG": "the signature was made by an expired key",
    "REVKEYSIG": "the signature was made by a revoked key",
}


class _NoVerdict(GpgError):
    """gpg's status lines say neither good nor bad (it failed before checking): its stderr tells why."""


def signer_of(status: Iterable[str]) -> str:
    """The primary fingerprint of the signer, from ``gpg --status-fd --verify`` lines, if the signature is good.

    Good means ``GOODSIG`` and ``VALIDSIG`` and none of ``BADSIG``, ``ERRSIG``, ``EXPSIG``,
    ``EXPKEYSIG``, ``REVKEYSIG``; anything else raises GpgError saying which.
    """
    seen: dict[str, list[str]] = {}
    for line in status:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "[GNUPG:]":
            seen.setdefault(parts[1], parts[2:])
    for keyword, meaning in _REFUSED.items():
        if keyword in seen:
            if keyword == "ERRSIG" and "NO_PUBKEY" in seen:
                meaning = "the signature was made by a key the key ring does not hold"
            raise GpgError(meaning)
    valid = seen.get("VALIDSIG")
    if "GOODSIG" not in seen or not valid:
        raise _NoVerdict("gpg did not report a good, valid signature")
    # VALIDSIG <fpr> <date> <timestamp> <expire> <version> <reserved> <pk-algo> <hash-algo> <class> [<primary-fpr>]
    return valid[9] if len(valid) >= 10 else valid[0]
