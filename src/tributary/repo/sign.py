"""The signing key: which OpenPGP key signs packages and ``repomd.xml``, and when the signature says.

azldev's configuration has no signing-key setting, and a private key has no business in a repository
of TOML files anyway, so the key is chosen by the environment of the machine that publishes:

* ``TRIB_GPG_KEY``: the key (fingerprint, key id or e-mail address), and
* ``TRIB_GNUPGHOME``, else ``GNUPGHOME``, else ``~/.gnupg``: the key ring holding it.

The key must have no passphrase (batch signing; protect the key ring instead, or use a gpg-agent with
a preset passphrase). ``make_throwaway_key`` makes such a key for demos and tests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tributary.tools import gpg

KEY_VARIABLE = "TRIB_GPG_KEY"
HOME_VARIABLE = "TRIB_GNUPGHOME"


@dataclass(frozen=True)
class SigningKey:
    """A usable secret key: its key ring, full fingerprint, creation time and first user id."""

    gnupghome: Path
    fingerprint: str
    created: int
    uid: str

    @property
    def key_id(self) -> str:
        """The short form rpm prints (``rpm -K``: "key ID 1a2b3c4d"), lowercase."""
        return self.fingerprint[-8:].lower()

    @classmethod
    def from_gnupghome(cls, gnupghome: Path, key: str) -> SigningKey:
        """The one secret key ``key`` selects in ``gnupghome``; an error when it selects none or several."""
        home = Path(gnupghome).expanduser().absolute()
        if not home.is_dir():
            raise gpg.GpgError(f"GNUPGHOME {home} does not exist")
        gpg.check_socket_path(home)
        found = gpg.secret_keys(home, key)
        if not found:
            raise gpg.GpgError(f"no secret key {key!r} in {home}",
                               hint=f"list them with: gpg --homedir {home} --list-secret-keys")
        if len(found) > 1:
            names = ", ".join(f"{k.fingerprint} ({k.uid})" for k in found)
            raise gpg.GpgError(f"{key!r} selects {len(found)} secret keys in {home}: {names}",
                               hint=f"set {KEY_VARIABLE} to one fingerprint")
        info = found[0]
        return cls(home, info.fingerprint, info.created, info.uid)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SigningKey | None:
        """The key ``TRIB_GPG_KEY`` names, or None when it is unset (publish unsigned)."""
        env = os.environ if environ is None else environ
        key = env.get(KEY_VARIABLE, "").strip()
        if not key:
            return None
        home = env.get(HOME_VARIABLE) or env.get("GNUPGHOME") or str(Path(env.get("HOME", "~")) / ".gnupg")
        return cls.from_gnupghome(Path(home), key)

    def check_can_sign(self) -> None:
        """GpgError, saying why, unless the key can sign unattended now (no passphrase asked)."""
        gpg.check_can_sign(self.gnupghome, self.fingerprint)

    def public_key(self) -> bytes:
        """The armored public key, as published next to the packages."""
        return gpg.export_public(self.gnupghome, self.fingerprint)

    def signing_time(self, epoch: int) -> int:
        """When signatures made for content dated ``epoch`` say they were made.

        Fixed, so a publish of the same RPMs signs them to the same bytes; never before the key
        existed, since verifiers reject a signature older than its key.
        """
        return max(int(epoch), self.created)

    def stop_agent(self) -> None:
        """Stop the gpg-agent gpg started for this key ring (for throwaway key rings)."""
        gpg.stop_agent(self.gnupghome)


def make_throwaway_key(gnupghome: Path, name: str, email: str, *, algorithm: str = "ed25519") -> SigningKey:
    """A passphrase-less signing key ``name <email>`` in ``gnupghome`` (created if missing), for demos and tests.

    A key with exactly that user id already there is reused, so a demo run twice signs with the same
    key (and publishes the same bytes). ed25519 by default: made instantly, and rpm 4.18, gpg and dnf
    all verify EdDSA signatures; pass ``algorithm="rsa3072"`` for verifiers that only know RSA.
    ``gnupghome`` must be a short path when ``/run/user/<uid>`` does not exist (``gpg.throwaway_key``).
    """
    home = Path(gnupghome).absolute()
    info = gpg.throwaway_key(home, f"{name} <{email}>", algorithm=algorithm)
    return SigningKey.from_gnupghome(home, info.fingerprint)
