"""Signing keys: found by the environment or a key ring, refused with a reason, RSA as well as EdDSA."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tributary.repo.sign import SigningKey, make_throwaway_key
from tributary.tools import gpg, rpmsign


def test_a_key_is_found_by_fingerprint_email_or_environment(signing_key):
    home = signing_key.gnupghome
    assert SigningKey.from_gnupghome(home, "signing@tribex.invalid") == signing_key
    assert SigningKey.from_gnupghome(home, signing_key.fingerprint[-16:]) == signing_key
    assert signing_key.uid == "Tributary Test Signing <signing@tribex.invalid>"
    assert len(signing_key.fingerprint) == 40
    assert SigningKey.from_environment({"TRIB_GPG_KEY": "signing@tribex.invalid", "TRIB_GNUPGHOME": str(home),
                                        "GNUPGHOME": "/nonexistent"}) == signing_key
    assert SigningKey.from_environment({"TRIB_GPG_KEY": signing_key.fingerprint, "GNUPGHOME": str(home)}) == signing_key
    assert SigningKey.from_environment({"GNUPGHOME": str(home)}) is None  # no key named: publish unsigned


def test_a_throwaway_key_is_made_once_per_user_id(signing_key):
    again = make_throwaway_key(signing_key.gnupghome, "Tributary Test Signing", "signing@tribex.invalid")
    assert again == signing_key


def test_a_missing_key_or_key_ring_is_an_error(signing_key, tmp_path):
    with pytest.raises(gpg.GpgError, match="no secret key 'nobody@tribex.invalid'"):
        SigningKey.from_gnupghome(signing_key.gnupghome, "nobody@tribex.invalid")
    with pytest.raises(gpg.GpgError, match="does not exist"):
        SigningKey.from_gnupghome(tmp_path / "missing", "x")


def test_signatures_never_predate_the_key(signing_key):
    assert signing_key.signing_time(0) == signing_key.created
    assert signing_key.signing_time(signing_key.created + 5) == signing_key.created + 5


def test_the_agent_socket_must_fit_a_unix_socket_address():
    assert gpg.socket_path_fits("/tmp/trib-gpg-x/S.gpg-agent")
    assert gpg.socket_path_fits("/" + "d" * 86 + "/S.gpg-agent")  # 107 bytes with ".browser": the most
    assert not gpg.socket_path_fits("/" + "d" * 87 + "/S.gpg-agent")


def test_a_deep_gnupghome_works_or_is_refused_with_advice(tmp_path):
    """gpg puts the sockets under /run/user/<uid> when that exists, else in GNUPGHOME itself: then a
    deep GNUPGHOME must be refused up front, never fail later with gpg's "No agent running"."""
    deep = tmp_path / ("d" * 100)
    deep.mkdir(mode=0o700)
    socket = subprocess.run(["gpgconf", "--list-dirs", "agent-socket"], env={"GNUPGHOME": str(deep), "PATH": "/usr/bin"},
                            capture_output=True, text=True, check=True).stdout.strip()
    try:
        if gpg.socket_path_fits(socket):
            assert socket.startswith("/run/user/")
            assert make_throwaway_key(deep, "Deep", "deep@tribex.invalid").uid == "Deep <deep@tribex.invalid>"
        else:
            with pytest.raises(gpg.GpgError, match="too deep for gpg-agent's socket") as caught:
                make_throwaway_key(deep, "Deep", "deep@tribex.invalid")
            assert "shorter GNUPGHOME" in str(caught.value)
    finally:
        gpg.stop_agent(deep)


def test_rsa_keys_sign_packages_rpm_verifies_and_ambiguous_names_are_refused(rpms, tmp_path):
    home = Path(tempfile.mkdtemp(prefix="trib-rsa-", dir="/tmp"))
    try:
        rsa = make_throwaway_key(home, "RSA Signer", "rsa@tribex.invalid", algorithm="rsa3072")
        copy = tmp_path / rpms["libhello"].name
        shutil.copyfile(rpms["libhello"], copy)
        rpmsign.addsign([copy], gnupghome=rsa.gnupghome, fingerprint=rsa.fingerprint, timestamp=rsa.created)
        key_file = tmp_path / "RPM-GPG-KEY"
        key_file.write_bytes(rsa.public_key())
        subprocess.run(["rpm", "--dbpath", str(tmp_path / "db"), "--import", str(key_file)], check=True)
        proc = subprocess.run(["rpm", "--dbpath", str(tmp_path / "db"), "-Kv", str(copy)], capture_output=True,
                              text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"Header V4 RSA/SHA256 Signature, key ID {rsa.key_id}: OK" in proc.stdout

        make_throwaway_key(home, "RSA Signer Again", "rsa@tribex.invalid")
        with pytest.raises(gpg.GpgError, match="selects 2 secret keys"):
            SigningKey.from_gnupghome(home, "rsa@tribex.invalid")
    finally:
        gpg.stop_agent(home)
        shutil.rmtree(home, ignore_errors=True)
