"""Publishing and checking repositories under faults: a private umask, keys that cannot sign, damaged
packages in the output directory, a full disk, a kill mid-publish, and channels changed after publishing.

Each case asserts the exit status, the first line of the message, and that the published channels are
what they were (byte for byte) or whole. On fc1b5b1:

* umask 077: the channel directory was 0700 (mkdtemp) and ``.repo`` and ``RPM-GPG-KEY-*`` 0600, under
  any umask; packages and metadata followed the umask;
* a passphrase-protected key: exit 2, "error: rpmsign --addsign failed: gpg exec failed (2)";
* an expired key: exit 2, "error: rpmsign --addsign failed: gpg exec failed (2)";
* a truncated SRPM: exit 2, but the first line was librpm's own "error: <file>: hdr blob(...): BAD, read
  returned 0" printed by the library, ours only on the second;
* a file-size limit (a full disk): a Python traceback ending in "OSError: [Errno 27] File too large",
  exit 1; the channel was kept whole;
* a kill during signing: passes (the channel is swapped in whole; the next publish cleans up);
* a tampered RPM and an edited repomd.xml: ``repo check`` exit 0, "closed: every requirement ... is
  satisfied", while dnf refuses both.
"""

from __future__ import annotations

import json
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import (
    ExampleDistro,
    dnf_install_into,
    first_line,
    marked_processes,
    run_trib,
    stop_child,
    tree,
    trib_child,
    wait_for,
)

from tributary.repo.sign import SigningKey, make_throwaway_key
from tributary.tools import gpg
from tributary.tools.createrepo import write_repodata


def _publish(distro: ExampleDistro, key: SigningKey, *extra: str, prefix: tuple[str, ...] = ()) -> tuple[int, str, str]:
    return run_trib(distro.args("repo", "publish", "--sign-key", key.fingerprint, "--gnupghome", str(key.gnupghome),
                                *extra), prefix=prefix)


@pytest.fixture
def signed(built_distro: ExampleDistro, signing_key: SigningKey) -> ExampleDistro:
    """The built example with its channels published signed, as a release would be."""
    code, _, err = _publish(built_distro, signing_key)
    assert code == 0, err
    return built_distro


def _repo(distro: ExampleDistro) -> Path:
    return distro.root / "out" / "repo"


@pytest.fixture
def key_home() -> Iterator[Path]:
    """An empty, short GNUPGHOME under /tmp (gpg-agent's socket may live there), its agent stopped after."""
    home = Path(tempfile.mkdtemp(prefix="trib-f-", dir="/tmp")) / "g"
    home.mkdir(mode=0o700)
    try:
        yield home
    finally:
        gpg.stop_agent(home)
        shutil.rmtree(home.parent, ignore_errors=True)


def _gen_key(home: Path, uid: str, *options: str) -> str:
    proc = gpg.run(home, ["--pinentry-mode", "loopback", *options, "--status-fd", "1", "--quick-gen-key", uid,
                          "ed25519", "sign", *(["1d"] if "--faked-system-time" in options else ["never"])])
    return next(line.split()[3] for line in proc.stdout.decode().splitlines() if "KEY_CREATED" in line)


def test_a_channel_published_under_umask_077_is_readable_by_everyone(built_distro: ExampleDistro,
                                                                     signing_key: SigningKey) -> None:
    code, _, err = _publish(built_distro, signing_key, prefix=("sh", "-c", 'umask 077 && exec "$@"', "umask"))
    assert code == 0, err
    repo = _repo(built_distro)
    assert stat.S_IMODE(repo.stat().st_mode) == 0o755
    modes = {}
    for channel in ("rpm-base", "rpm-sdk"):
        top = repo / channel
        modes[channel] = stat.S_IMODE(top.stat().st_mode)
        for path in top.rglob("*"):
            modes[path.relative_to(repo).as_posix()] = stat.S_IMODE(path.stat().st_mode)
    wrong = {path: oct(mode) for path, mode in modes.items()
             if mode != (0o755 if (repo / path).is_dir() else 0o644)}
    assert wrong == {}
    base = repo / "rpm-base"
    assert {"tribex-rpm-base.repo", "RPM-GPG-KEY-tribex", "repodata", "Packages"} <= {p.name for p in base.iterdir()}
    assert any(path.endswith(".rpm") for path in modes if path.startswith("rpm-base/Packages/"))


def test_a_key_with_a_passphrase_is_refused_before_anything_changes(signed: ExampleDistro, key_home: Path) -> None:
    fingerprint = _gen_key(key_home, "Protected <protected@tribex.invalid>", "--passphrase", "secret")
    before = tree(_repo(signed))
    code, _, err = run_trib(signed.args("repo", "publish", "--sign-key", fingerprint, "--gnupghome", str(key_home)))
    assert code == 2
    assert first_line(err) == (
        f"error: the signing key {fingerprint} in {key_home} is protected by a passphrase, and tributary signs "
        "without asking for one (hint: sign with a key without a passphrase ('trib repo keygen' makes one; keep "
        "the key ring safe instead), or preset the passphrase in gpg-agent (allow-preset-passphrase and "
        "gpg-preset-passphrase))")
    assert tree(_repo(signed)) == before


def test_an_expired_key_is_refused_with_its_expiry(signed: ExampleDistro, key_home: Path) -> None:
    # Made on 2020-01-01, valid for one day.
    fingerprint = _gen_key(key_home, "Expired <expired@tribex.invalid>", "--passphrase", "",
                           "--faked-system-time", "20200101T000000!")
    before = tree(_repo(signed))
    code, _, err = run_trib(signed.args("repo", "publish", "--sign-key", fingerprint, "--gnupghome", str(key_home)))
    assert code == 2
    assert first_line(err) == (
        f"error: the signing key {fingerprint} in {key_home} expired on 2020-01-02 00:00 UTC: signatures by it "
        "would be refused (hint: extend its expiry (gpg --quick-set-expire), or sign with another key)")
    assert tree(_repo(signed)) == before


def test_a_truncated_srpm_in_the_output_dir_is_named_and_nothing_is_published(signed: ExampleDistro,
                                                                             signing_key: SigningKey) -> None:
    srpm = next((signed.root / "out" / "srpms").glob("greet-1*.src.rpm"))
    srpm.write_bytes(srpm.read_bytes()[:3000])
    before = tree(_repo(signed))
    code, _, err = _publish(signed, signing_key)
    assert code == 2
    assert first_line(err) == (f"error: {srpm}: cannot read the RPM header: signature hdr blob(4388): BAD, "
                                "read returned 0")
    assert len(err.splitlines()) == 1
    assert tree(_repo(signed)) == before


def test_a_full_disk_stops_publishing_with_one_line_and_keeps_the_channel(signed: ExampleDistro,
                                                                         signing_key: SigningKey) -> None:
    # The file-size limit makes every write past 200 kB fail with EFBIG, as a full disk fails with ENOSPC.
    before = tree(_repo(signed))
    largest = max((signed.root / "out" / "rpms").rglob("*.rpm"), key=lambda path: path.stat().st_size)
    code, _, err = _publish(signed, signing_key, prefix=("prlimit", "--fsize=200000", "--"))
    assert code == 1
    first = first_line(err)
    assert first.startswith("error: ") and first.endswith(": File too large"), err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(largest.parent) in first or "/out/rpms/" in first
    assert tree(_repo(signed)) == before
    assert not [p.name for p in _repo(signed).iterdir() if ".new-" in p.name]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_publish_killed_while_signing_keeps_the_old_channel_and_leaves_no_signer(
        signed: ExampleDistro, signing_key: SigningKey, stop: signal.Signals) -> None:
    repo = _repo(signed)
    before = tree(repo)
    child = trib_child(signed.args("repo", "publish", "--sign-key", signing_key.fingerprint, "--gnupghome",
                                   str(signing_key.gnupghome)))
    wait_for(lambda: "rpmsign" in marked_processes(child.marker).values(), 120, "rpmsign to start")
    # gpg-agent is the key ring's daemon, shared by every signer of it: it is meant to stay.
    stop_child(child, stop, which=lambda comm: comm != "gpg-agent")
    if stop == signal.SIGTERM:
        assert tree(repo) == before  # the staging directory is gone as well
    else:
        whole = {path: data for path, data in tree(repo).items() if ".new-" not in path.split("/")[0]}
        assert whole == before
    code, _, err = _publish(signed, signing_key)
    assert code == 0, err
    assert tree(repo) == before  # the same packages publish to the same bytes; leftovers removed
    assert not [p.name for p in repo.iterdir() if ".new-" in p.name]


def _tamper_package(channel: Path) -> Path:
    package = next((channel / "Packages" / "g").glob("greet-1*.x86_64.rpm"))
    data = bytearray(package.read_bytes())
    data[-100] ^= 0x01  # in the compressed payload: the header still reads, the digests do not match
    package.write_bytes(bytes(data))
    return package


def _edit_repomd(channel: Path) -> Path:
    repomd = channel / "repodata" / "repomd.xml"
    repomd.write_text(repomd.read_text().replace("<revision>", "<revision>9", 1))
    return repomd


@pytest.mark.parametrize("damage", [_tamper_package, _edit_repomd], ids=["tampered-rpm", "edited-repomd"])
def test_repo_check_refuses_what_dnf_refuses(signed: ExampleDistro, tmp_path: Path, damage) -> None:
    channel = _repo(signed) / "rpm-base"
    damaged = damage(channel)
    installed = dnf_install_into(tmp_path / "dnf", [channel / "tribex-rpm-base.repo"], "greet")
    assert installed.returncode != 0, installed.output  # dnf will not take it
    after_damage = tree(_repo(signed))
    code, out, err = run_trib(signed.args("-O", "json", "repo", "check"))
    assert code == 1
    assert first_line(err) == "error: 1 file(s) that dnf would refuse, in rpm-base"
    rows = json.loads(out)
    assert [(row["file"]) for row in rows] == [damaged.relative_to(channel).as_posix()]
    reason = rows[0]["reason"]
    if damaged.suffix == ".rpm":
        assert reason.startswith("sha256 is ") and ", the metadata says " in reason
    else:
        assert reason == "signature check failed: the signature does not match the signed data (BAD signature)"
    assert tree(_repo(signed)) == after_damage  # a check changes nothing


def test_an_unsigned_package_in_metadata_made_again_is_refused_as_dnf_refuses_it(
        signed: ExampleDistro, signing_key: SigningKey, tmp_path: Path) -> None:
    """A package swapped for its unsigned build, with the metadata made again and signed (a broken release
    script, not an attacker): every checksum agrees, but the .repo file asks for signed packages."""
    channel = _repo(signed) / "rpm-base"
    package = next((channel / "Packages" / "g").glob("greet-1*.x86_64.rpm"))
    shutil.copyfile(next((signed.root / "out" / "rpms" / "x86_64").glob("greet-1*.rpm")), package)
    hrefs = sorted(path.relative_to(channel).as_posix() for path in (channel / "Packages").rglob("*.rpm"))
    shutil.rmtree(channel / "repodata")
    write_repodata(channel, hrefs, revision=1, compression="zstd")
    repomd = channel / "repodata" / "repomd.xml"
    (channel / "repodata" / "repomd.xml.asc").write_bytes(
        gpg.detach_sign(signing_key.gnupghome, signing_key.fingerprint, repomd))
    installed = dnf_install_into(tmp_path / "dnf", [channel / "tribex-rpm-base.repo"], "greet")
    assert installed.returncode != 0, installed.output
    code, out, err = run_trib(signed.args("-O", "json", "repo", "check", "--channel", "rpm-base"))
    assert code == 1
    assert first_line(err) == "error: 1 file(s) that dnf would refuse, in rpm-base"
    assert [(row["file"], row["reason"]) for row in json.loads(out)] == [
        (package.relative_to(channel).as_posix(), "not signed (gpgcheck=1)")]


def test_repo_check_trusts_a_key_from_elsewhere_over_the_channels_own(signed: ExampleDistro, tmp_path: Path) -> None:
    """A channel whose key was replaced with the signer's verifies against itself; against the key a user
    got elsewhere (``--key``), it does not."""
    other = make_throwaway_key(tmp_path / "k", "Other", "other@tribex.invalid")
    try:
        other_key = tmp_path / "other.asc"
        other_key.write_bytes(other.public_key())
    finally:
        other.stop_agent()
    before = tree(_repo(signed))
    code, out, err = run_trib(signed.args("-O", "json", "repo", "check", "--key", str(other_key)))
    assert code == 1
    assert first_line(err) == "error: 2 file(s) that dnf would refuse, in rpm-base, rpm-sdk"
    assert {(row["file"], row["reason"]) for row in json.loads(out)} == {
        ("repodata/repomd.xml", "signature check failed: the signature was made by a key the key ring does not hold")}
    assert tree(_repo(signed)) == before
    code, _, err = run_trib(signed.args("repo", "check"))
    assert code == 0, err
