"""Publishing: the channel layout, signed copies, signed metadata, reproducibility and the atomic swap."""

from __future__ import annotations

import configparser
import hashlib
import shutil
import subprocess
from pathlib import Path

import createrepo_c as cr
import pytest

from tributary.repo.errors import RepoError
from tributary.repo.publish import built_rpms, publish, swap_in
from tributary.repo.sign import SigningKey
from tributary.rpmfile import RpmFileError
from tributary.tools.rpmsign import RpmsignError

BASE = ("hello", "libhello", "hello-devel", "hello-debuginfo", "hello-tools")


def files_below(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()}


def rpm_check(rpm_file: Path, key_file: Path, dbpath: Path) -> str:
    """``rpm -K`` with only ``key_file`` trusted: what rpm says about the file's signatures."""
    dbpath.mkdir(exist_ok=True)
    subprocess.run(["rpm", "--dbpath", str(dbpath), "--import", str(key_file)], check=True)
    proc = subprocess.run(["rpm", "--dbpath", str(dbpath), "-K", str(rpm_file)], capture_output=True, text=True,
                          check=False)
    return proc.stdout.strip()


def primary_packages(channel: Path) -> dict[str, str]:
    """location href -> name, read back from the channel's primary metadata."""
    repomd = cr.Repomd(str(channel / "repodata" / "repomd.xml"))
    href = next(r.location_href for r in repomd.records if r.type == "primary")
    found: dict[str, str] = {}
    cr.xml_parse_primary(str(channel / href), pkgcb=lambda p: found.update({p.location_href: p.name}) or True,
                         do_files=0)
    return found


def test_publish_lays_out_one_signed_repository_per_channel(project, rpms, signing_key, tmp_path):
    originals = {name: hashlib.sha256(rpms[name].read_bytes()).hexdigest() for name in BASE}
    results = publish(project, rpms.pick(*BASE), signing=signing_key)

    repo = project.output_dir / "repo"
    assert [r.channel for r in results] == ["rpm-base", "rpm-debuginfo", "rpm-sdk"]
    base = results[0]
    assert base.path == repo / "rpm-base"
    assert files_below(base.path) == {
        "Packages/h/hello-1.0-1.noarch.rpm", "Packages/l/libhello-1.0-1.noarch.rpm",
        "repodata/repomd.xml", "repodata/repomd.xml.asc", "RPM-GPG-KEY-tribex", "tribex-rpm-base.repo",
        *(f"repodata/{Path(r.location_href).name}" for r in cr.Repomd(str(base.path / "repodata/repomd.xml")).records),
    }
    assert primary_packages(base.path) == {"Packages/h/hello-1.0-1.noarch.rpm": "hello",
                                           "Packages/l/libhello-1.0-1.noarch.rpm": "libhello"}
    assert primary_packages(repo / "rpm-sdk") == {"Packages/h/hello-devel-1.0-1.noarch.rpm": "hello-devel"}
    assert primary_packages(repo / "rpm-debuginfo") == {"Packages/h/hello-debuginfo-1.0-1.noarch.rpm": "hello-debuginfo"}
    assert not list(repo.rglob("hello-tools*"))  # its channel is "none"
    assert sorted(p.name for p in repo.iterdir()) == [".publish.lock", "rpm-base", "rpm-debuginfo", "rpm-sdk"]
    assert (base.signed_by, base.revision) == (signing_key.fingerprint, 1767225600)
    assert base.repomd_sha256 == hashlib.sha256((base.path / "repodata/repomd.xml").read_bytes()).hexdigest()

    # The published copies are signed; the originals under rpms/ are untouched.
    for result in results:
        for href in result.packages:
            assert rpm_check(result.path / href, result.key_file, tmp_path / "rpmdb").endswith(
                "digests signatures OK")
    assert {name: hashlib.sha256(rpms[name].read_bytes()).hexdigest() for name in BASE} == originals
    unsigned = subprocess.run(["rpm", "-qp", "--qf", "%{DSAHEADER:pgpsig}|%{RSAHEADER:pgpsig}", str(rpms["hello"])],
                              capture_output=True, text=True, check=True).stdout
    assert unsigned == "(none)|(none)"

    # repomd.xml.asc verifies with nothing but the published public key.
    verifier = tmp_path / "verifier"
    verifier.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(verifier), "--batch"]
    subprocess.run([*gpg, "--import", str(base.key_file)], check=True, capture_output=True)
    proc = subprocess.run([*gpg, "--verify", str(base.path / "repodata/repomd.xml.asc"),
                           str(base.path / "repodata/repomd.xml")], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Good signature" in proc.stderr
    subprocess.run(["gpgconf", "--homedir", str(verifier), "--kill", "gpg-agent"], check=False)

    repo_file = configparser.ConfigParser()
    repo_file.read(base.repo_file)
    assert dict(repo_file["tribex-rpm-base"]) == {
        "name": "tribex rpm-base",
        "baseurl": f"{base.path.as_uri()}/",
        "enabled": "1",
        "gpgcheck": "1",
        "repo_gpgcheck": "1",
        "gpgkey": f"{base.path.as_uri()}/RPM-GPG-KEY-tribex",
    }


def test_the_same_rpms_publish_to_the_same_bytes(project, rpms, signing_key, tmp_path):
    first = publish(project, rpms.pick(*BASE), signing=signing_key)
    saved = tmp_path / "first"
    shutil.copytree(project.output_dir / "repo", saved)
    second = publish(project, rpms.pick(*BASE), signing=signing_key)
    assert [r.repomd_sha256 for r in first] == [r.repomd_sha256 for r in second]
    for channel in ("rpm-base", "rpm-sdk", "rpm-debuginfo"):
        before, after = saved / channel, project.output_dir / "repo" / channel
        assert files_below(before) == files_below(after)
        for name in files_below(after):
            assert (before / name).read_bytes() == (after / name).read_bytes(), name
    # The revision and the signature time follow the content, not the clock of the publish.
    repomd = (project.output_dir / "repo/rpm-base/repodata/repomd.xml").read_text()
    assert "<revision>1767225600</revision>" in repomd


def test_source_date_epoch_dates_the_metadata(project, rpms, signing_key, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    (result,) = publish(project, rpms.pick("hello-devel"), signing=signing_key)
    assert result.revision == 1790000000
    repomd = (result.path / "repodata/repomd.xml").read_text()
    assert "<revision>1790000000</revision>" in repomd
    assert "<timestamp>1790000000</timestamp>" in repomd


def test_unsigned_publish_copies_the_rpms_unchanged(project, rpms):
    (result,) = publish(project, rpms.pick("hello-devel"), signing=None)
    published = result.path / result.packages[0]
    assert published.read_bytes() == rpms["hello-devel"].read_bytes()
    assert not (result.path / "repodata/repomd.xml.asc").exists()
    assert result.key_file is None
    assert "gpgcheck=0\nrepo_gpgcheck=0\n" in result.repo_file.read_text()


def test_the_baseurl_template_names_the_channel(project, rpms, signing_key):
    (result,) = publish(project, rpms.pick("hello-devel"), signing=signing_key,
                        baseurl="http://127.0.0.1:8741/repo/{channel}")
    text = result.repo_file.read_text()
    assert "baseurl=http://127.0.0.1:8741/repo/rpm-sdk/\n" in text
    assert "gpgkey=http://127.0.0.1:8741/repo/rpm-sdk/RPM-GPG-KEY-tribex\n" in text


def test_channels_limits_the_publish_and_a_named_empty_channel_is_emptied(project, rpms, signing_key):
    publish(project, rpms.pick(*BASE), signing=signing_key)
    base_repomd = (project.output_dir / "repo/rpm-base/repodata/repomd.xml").read_bytes()
    results = publish(project, rpms.pick("hello"), signing=signing_key, channels=["rpm-sdk"])
    assert [r.channel for r in results] == ["rpm-sdk"]
    assert results[0].packages == ()
    assert primary_packages(results[0].path) == {}
    assert not list((results[0].path).rglob("*.rpm"))
    assert (project.output_dir / "repo/rpm-base/repodata/repomd.xml").read_bytes() == base_repomd


def test_a_failed_publish_leaves_the_previous_channel_whole(project, rpms, signing_key):
    (good,) = publish(project, rpms.pick("hello-devel"), signing=signing_key)
    before = {name: (good.path / name).read_bytes() for name in files_below(good.path)}
    wrong_key = SigningKey(signing_key.gnupghome, "0" * 40, 0, "nobody")
    with pytest.raises(RpmsignError, match="rpmsign --addsign failed"):
        publish(project, rpms.pick("hello-devel", "libhello"), signing=wrong_key, channels=["rpm-sdk"])
    assert {name: (good.path / name).read_bytes() for name in files_below(good.path)} == before
    assert sorted(p.name for p in good.path.parent.iterdir()) == [".publish.lock", "rpm-sdk"]


def test_a_left_over_staging_directory_is_removed(project, rpms):
    stale = project.output_dir / "repo" / ".rpm-sdk.new-crashed"
    (stale / "repodata").mkdir(parents=True)
    publish(project, rpms.pick("hello-devel"), signing=None)
    assert not stale.exists()


def test_two_different_rpms_with_one_name_are_refused(project, rpms, tmp_path):
    same = tmp_path / "same" / rpms["hello-devel"].name
    same.parent.mkdir()
    shutil.copyfile(rpms["hello-devel"], same)
    (result,) = publish(project, [rpms["hello-devel"], same], signing=None)  # identical: published once
    assert result.packages == ("Packages/h/hello-devel-1.0-1.noarch.rpm",)
    data = bytearray(same.read_bytes())
    data[-40] ^= 0xFF
    same.write_bytes(bytes(data))
    with pytest.raises(RepoError, match="two different RPMs are both named hello-devel-1.0-1.noarch.rpm"):
        publish(project, [rpms["hello-devel"], same], signing=None)


def test_swap_in_replaces_a_directory_whole(tmp_path):
    target, new = tmp_path / "channel", tmp_path / ".channel.new"
    (target / "old").mkdir(parents=True)
    (new / "fresh").mkdir(parents=True)
    swap_in(new, target)
    assert [p.name for p in target.iterdir()] == ["fresh"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["channel"]
    newer = tmp_path / ".channel.newer"
    (newer / "newest").mkdir(parents=True)
    swap_in(newer, target)
    assert [p.name for p in target.iterdir()] == ["newest"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["channel"]


def test_a_file_that_is_no_rpm_is_named_in_the_error(project, tmp_path):
    bogus = tmp_path / "bogus-1-1.noarch.rpm"
    bogus.write_text("not an rpm\n")
    with pytest.raises(RpmFileError, match="cannot read the RPM header") as caught:
        publish(project, [bogus], signing=None)
    assert str(bogus) in str(caught.value)
    assert not (project.output_dir / "repo").exists() or not any((project.output_dir / "repo").glob("rpm-*"))


def test_built_rpms_are_found_where_the_build_stage_puts_them(project, rpms):
    for name, place in (("hello", "rpms/noarch"), ("archapp.x86_64", "rpms/x86_64"), ("hello.src", "srpms")):
        (project.output_dir / place).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(rpms[name], project.output_dir / place / rpms[name].name)
    (project.output_dir / "rpms" / "notes.txt").write_text("not a package\n")
    assert [str(p.relative_to(project.output_dir)) for p in built_rpms(project)] == [
        "rpms/noarch/hello-1.0-1.noarch.rpm", "rpms/x86_64/archapp-1-1.x86_64.rpm", "srpms/hello-1.0-1.src.rpm"]
