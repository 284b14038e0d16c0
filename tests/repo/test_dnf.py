"""The acceptance test: dnf installs from a published channel with gpgcheck=1 and repo_gpgcheck=1, and
refuses what was changed after signing."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from repo_kit import tamper

from tributary.repo.publish import publish
from tributary.tools import gpg
from tributary.tools.createrepo import write_repodata


def installed(root) -> list[str]:
    proc = subprocess.run(["rpm", "--root", str(root), "--dbpath", "/usr/lib/sysimage/rpm", "-qa", "--qf", "%{NAME}\n"],
                          capture_output=True, text=True, check=True)
    return sorted(proc.stdout.split())


def test_dnf_installs_from_the_published_channel_over_http(project, rpms, signing_key, dnf_install, http_server):
    (base,) = publish(project, rpms.pick("hello", "libhello"), signing=signing_key,
                      baseurl=http_server.url + "/repo/{channel}/")
    os.symlink(project.output_dir / "repo", http_server.root / "repo")
    assert "gpgcheck=1\nrepo_gpgcheck=1\n" in base.repo_file.read_text()

    run = dnf_install([base.repo_file], "hello")
    assert run.returncode == 0, run.output
    assert installed(run.root) == ["gpg-pubkey", "hello", "libhello"]  # libhello pulled in by Requires
    assert (run.root / "usr/share/hello/greeting").read_text() == "Hello from a tributary repository\n"
    assert http_server.count("/repo/rpm-base/repodata/repomd.xml.asc") >= 1  # the metadata signature was checked
    assert http_server.count("/repo/rpm-base/Packages/h/hello-1.0-1.noarch.rpm") == 1


def test_dnf_refuses_a_tampered_rpm(project, rpms, signing_key, dnf_install):
    (base,) = publish(project, rpms.pick("hello", "libhello"), signing=signing_key)
    tamper(base.path / "Packages/h/hello-1.0-1.noarch.rpm")  # a payload byte; metadata left as it was

    run = dnf_install([base.repo_file], "hello")
    assert run.returncode != 0
    assert 'Package "hello-1.0-1.noarch" from local repository "tribex-rpm-base" has incorrect checksum' in run.output
    assert "Complete!" not in run.output
    assert not (run.root / "usr/share/hello/greeting").exists()


@pytest.mark.parametrize(("change", "refusal"), [
    ("unsigned", "Package hello-1.0-1.noarch.rpm is not signed"),
    ("tampered", "Error: GPG check FAILED"),
])
def test_dnf_checks_package_signatures_even_under_re_signed_metadata(project, rpms, signing_key, dnf_install,
                                                                     change, refusal):
    """Package signatures are checked on their own: new metadata, even correctly signed, cannot vouch for
    an RPM the key never signed, nor for a signed one changed since."""
    (base,) = publish(project, rpms.pick("hello", "libhello"), signing=signing_key)
    target = base.path / "Packages/h/hello-1.0-1.noarch.rpm"
    if change == "unsigned":
        target.unlink()
        shutil.copyfile(rpms["hello"], target)  # the original, as rpmbuild made it
    else:
        tamper(target)
    shutil.rmtree(base.path / "repodata")
    write_repodata(base.path, list(base.packages), revision=base.revision)
    repomd = base.path / "repodata/repomd.xml"
    (base.path / "repodata/repomd.xml.asc").write_bytes(
        gpg.detach_sign(signing_key.gnupghome, signing_key.fingerprint, repomd))

    run = dnf_install([base.repo_file], "hello")
    assert run.returncode != 0
    assert refusal in run.output, run.output
    assert not (run.root / "usr/share/hello/greeting").exists()


def test_dnf_refuses_tampered_metadata(project, rpms, signing_key, dnf_install):
    (base,) = publish(project, rpms.pick("hello", "libhello"), signing=signing_key)
    repomd = base.path / "repodata/repomd.xml"
    repomd.write_text(repomd.read_text().replace("<revision>", "<revision>9"))

    run = dnf_install([base.repo_file], "hello")
    assert run.returncode != 0
    assert "repomd.xml GPG signature verification error: Bad GPG signature" in run.output, run.output
    assert "Complete!" not in run.output
