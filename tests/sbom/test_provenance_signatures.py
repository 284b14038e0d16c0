"""Which provenance signatures ``trib verify`` accepts, and that checking one leaves no gpg-agent behind.

Keys are made here with gpg's clock set back, so that a key or signature that has already expired is
made in an instant: only a good signature by the trusted key, neither expired nor revoked, passes.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import select
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tributary.repo.sign import SigningKey
from tributary.sbom import provenance
from tributary.tools import gpg

PAST = int(time.time()) - 100_000


def _key(home: Path, uid: str, expire: str) -> SigningKey:
    home.mkdir(mode=0o700, exist_ok=True)
    out = gpg.run(home, ["--pinentry-mode", "loopback", "--passphrase", "", "--faked-system-time", f"{PAST}!",
                         "--status-fd", "1", "--quick-gen-key", uid, "ed25519", "sign", expire]).stdout.decode()
    fingerprint = next(line.split()[3] for line in out.splitlines() if " KEY_CREATED " in line)
    return SigningKey.from_gnupghome(home, fingerprint)


@pytest.fixture(scope="module")
def keys() -> Iterator[dict[str, SigningKey]]:
    """``trusted`` and ``other`` never expire; ``expiring`` expired 1000 s after it was made, long ago."""
    root = Path(tempfile.mkdtemp(prefix="trib-pv-", dir="/tmp"))
    home = root / "g"
    made = {"trusted": _key(home, "Trusted <trusted@tribex.invalid>", "never"),
            "other": _key(home, "Other <other@tribex.invalid>", "never"),
            "expiring": _key(home, "Expiring <expiring@tribex.invalid>", "seconds=1000")}
    try:
        yield made
    finally:
        gpg.stop_agent(home)
        shutil.rmtree(root, ignore_errors=True)


def _envelope(tmp_path: Path, key: SigningKey, *extra: str) -> Path:
    """A provenance envelope with one subject (``x.rpm`` in ``tmp_path``), signed by ``key`` at PAST + 10."""
    subject = tmp_path / "x.rpm"
    subject.write_bytes(b"an rpm")
    statement = {"_type": provenance.STATEMENT_TYPE, "predicateType": provenance.PREDICATE_TYPE, "predicate": {},
                 "subject": [{"name": "x.rpm", "digest": {"sha256": hashlib.sha256(b"an rpm").hexdigest()}}]}
    data = json.loads(provenance.envelope(statement, key=None, when=0))
    payload = base64.b64decode(data["payload"])
    signature = gpg.run(key.gnupghome, ["--pinentry-mode", "loopback", "--local-user", f"{key.fingerprint}!",
                                        "--faked-system-time", f"{PAST + 10}!", *extra, "--output", "-",
                                        "--detach-sign"], input=provenance.pae(provenance.PAYLOAD_TYPE, payload)).stdout
    data["signatures"] = [{"keyid": key.fingerprint, "sig": base64.b64encode(signature).decode()}]
    path = tmp_path / "sbom" / "x.provenance.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def _public(tmp_path: Path, key: SigningKey) -> Path:
    path = tmp_path / f"{key.fingerprint}.asc"
    path.write_bytes(key.public_key())
    return path


def _agents_for_throwaway_keyrings() -> set[int]:
    """Running gpg-agents whose command line names a ``trib-keys-`` key ring (``verify --key``'s)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"gpg-agent" and any(b"/trib-keys-" in arg for arg in argv):
            found.add(int(entry.name))
    return found


def _wait_for_exit(pid: int, timeout: float) -> None:
    """Wait until process ``pid`` (not our child) exits, or ``timeout`` passes: its pidfd turns readable."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.poll(timeout * 1000)
    finally:
        os.close(fd)


def test_verify_with_a_key_file_accepts_the_right_key_and_leaves_no_agent(keys, tmp_path, trib,
                                                                          monkeypatch) -> None:
    # The throwaway key ring is kept until the end of the test: gpg-agent quits by itself when it sees
    # its socket's directory deleted, but only when the socket is there (no /run/user/<uid>) and not
    # at once, which would hide the leak.
    kept = Path(tempfile.mkdtemp(prefix="trib-keys-", dir="/tmp"))
    monkeypatch.setattr(provenance.tempfile, "TemporaryDirectory", lambda **kwargs: contextlib.nullcontext(str(kept)))
    before = _agents_for_throwaway_keyrings()
    try:
        envelope = _envelope(tmp_path, keys["trusted"])
        result = trib("verify", str(envelope), "--key", str(_public(tmp_path, keys["trusted"])))
        assert result.code == 0, result.err
        for pid in _agents_for_throwaway_keyrings() - before:
            _wait_for_exit(pid, timeout=5)  # gpgconf --kill asks the agent to quit; it exits by itself
        assert _agents_for_throwaway_keyrings() - before == set()
    finally:
        gpg.stop_agent(kept / "keys")
        shutil.rmtree(kept, ignore_errors=True)


def test_a_signature_by_another_key_than_the_given_one_is_refused(keys, tmp_path, trib) -> None:
    envelope = _envelope(tmp_path, keys["other"])
    result = trib("verify", str(envelope), "--key", str(_public(tmp_path, keys["trusted"])))
    assert result.code == 1
    assert "signature check failed" in result.err and "does not hold" in result.err
    with pytest.raises(provenance.VerifyFailed, match="not by the trusted key"):
        provenance.verify(envelope, key=keys["trusted"])  # the key ring holds both: the fingerprint decides


def test_one_key_ring_checks_many_envelopes_with_one_import(keys, tmp_path, monkeypatch) -> None:
    """The website checks every component's provenance against a key ring made once."""
    imports = []
    real_import = gpg.import_keys

    def counted_import(home: Path, armored: bytes) -> None:
        imports.append(home)
        real_import(home, armored)

    monkeypatch.setattr(provenance.gpg, "import_keys", counted_import)
    for directory in ("t0", "t1", "t2", "o"):
        (tmp_path / directory).mkdir()
    trusted = [_envelope(tmp_path / f"t{n}", keys["trusted"]) for n in range(3)]
    foreign = _envelope(tmp_path / "o", keys["other"])
    with provenance.public_key_ring(_public(tmp_path, keys["trusted"])) as ring:
        signers = {provenance.verify(path, key_ring=ring).signer for path in trusted}
        with pytest.raises(provenance.VerifyFailed, match="does not hold"):
            provenance.verify(foreign, key_ring=ring)
    assert signers == {keys["trusted"].fingerprint} and len(imports) == 1
    assert not ring.exists()
    with pytest.raises(provenance.VerifyFailed, match="cannot read the public key"):
        with provenance.public_key_ring(tmp_path / "missing.asc"):
            pass


def test_an_expired_key_or_signature_is_refused(keys, tmp_path, trib) -> None:
    expired_key = _envelope(tmp_path, keys["expiring"])
    result = trib("verify", str(expired_key), "--key", str(_public(tmp_path, keys["expiring"])))
    assert result.code == 1 and "expired key" in result.err, result.err
    expired_signature = _envelope(tmp_path, keys["trusted"], "--default-sig-expire", "seconds=10")
    result = trib("verify", str(expired_signature), "--key", str(_public(tmp_path, keys["trusted"])))
    assert result.code == 1 and "signature has expired" in result.err, result.err


FPR = "B204A8CB4E66CC3A770A52AF0EBEEE88727A55B3"
VALID = f"[GNUPG:] VALIDSIG {FPR} 2026-11-22 1795386811 0 4 0 22 8 00 {FPR}"


@pytest.mark.parametrize(("lines", "error"), [
    (["[GNUPG:] GOODSIG 0EBEEE88727A55B3 New", VALID], None),
    ([VALID], "did not report a good"),
    (["[GNUPG:] GOODSIG 0EBEEE88727A55B3 New"], "did not report a good"),
    (["[GNUPG:] EXPKEYSIG 0EBEEE88727A55B3 New", VALID], "expired key"),
    (["[GNUPG:] EXPSIG 0EBEEE88727A55B3 New", VALID], "signature has expired"),
    (["[GNUPG:] REVKEYSIG 0EBEEE88727A55B3 New", VALID], "revoked key"),
    (["[GNUPG:] GOODSIG 0EBEEE88727A55B3 New", VALID, "[GNUPG:] BADSIG 1111111111111111 Evil"], "BAD signature"),
    (["[GNUPG:] ERRSIG 0EBEEE88727A55B3 22 8 00 1795386811 9 -", "[GNUPG:] NO_PUBKEY 0EBEEE88727A55B3"],
     "does not hold"),
])
def test_gpg_status_lines_decide_the_verdict(lines, error) -> None:
    if error is None:
        assert gpg.signer_of(lines) == FPR
    else:
        with pytest.raises(gpg.GpgError, match=error):
            gpg.signer_of(lines)


def test_a_gpg_that_hangs_is_stopped_with_a_clear_error(monkeypatch, tmp_path) -> None:
    # A gpg that waits for a passphrase nobody types: it says so and never exits.
    fake = tmp_path / "bin" / "gpg"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'gpg: waiting for pinentry' >&2\nexec sleep 600\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(gpg, "TIMEOUT", 1.0)
    with pytest.raises(gpg.GpgError, match=r"gpg --detach-sign did not finish within 1 s") as caught:
        gpg.sign_data(tmp_path, "0" * 40, b"data")
    assert "passphrase" in (caught.value.hint or "")
    assert caught.value.timed_out and "waiting for pinentry" in caught.value.stderr
    assert caught.value.command[0] == str(fake)
    assert "--pinentry-mode" in caught.value.command and "loopback" in caught.value.command
