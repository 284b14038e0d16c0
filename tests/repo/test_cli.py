"""`trib repo publish`, `trib repo check` and `trib repo keygen` from the command line."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from tributary.tools import gpg


@pytest.fixture
def built(project, rpms):
    """The test RPMs placed where builds put them: <output-dir>/rpms/<arch>/ and srpms/."""
    for name in ("hello", "libhello", "hello-devel"):
        target = project.output_dir / "rpms" / "noarch"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(rpms[name], target)
    return project


def test_publish_signed_then_check_closure(built, signing_key, trib, dnf_install) -> None:
    result = trib("-C", str(built.root), "-O", "json", "repo", "publish",
                  "--sign-key", signing_key.fingerprint, "--gnupghome", str(signing_key.gnupghome))
    assert result.code == 0, result.err
    channels = {row["channel"]: row for row in json.loads(result.out)}
    assert set(channels) == {"rpm-base", "rpm-sdk"}
    assert channels["rpm-base"]["signedBy"]
    base = built.output_dir / "repo" / "rpm-base"
    assert (base / "repodata" / "repomd.xml.asc").is_file()

    check = trib("-C", str(built.root), "-O", "json", "repo", "check")
    assert check.code == 0 and json.loads(check.out) == []
    installed = dnf_install(sorted((built.output_dir / "repo").glob("*/*.repo")), "hello")
    assert installed.returncode == 0, installed.output
    assert (installed.root / "usr/share/hello/greeting").read_text() == "Hello from a tributary repository\n"


def test_check_lists_who_needs_what_is_missing(built, signing_key, trib) -> None:
    (built.output_dir / "rpms" / "noarch" / "libhello-1.0-1.noarch.rpm").unlink()
    assert trib("-C", str(built.root), "repo", "publish", "--unsigned").code == 0
    check = trib("-C", str(built.root), "-O", "json", "repo", "check")
    assert check.code == 1
    rows = json.loads(check.out)
    assert [(r["package"].split("-1.0")[0], r["requirement"]) for r in rows] == [("hello", "libhello >= 1.0")]


def test_publish_refuses_to_sign_with_no_key(built, trib, monkeypatch) -> None:
    monkeypatch.delenv("TRIB_GPG_KEY", raising=False)
    result = trib("-C", str(built.root), "repo", "publish")
    assert result.code == 2 and "no signing key" in result.err and "--unsigned" in result.err
    assert not (built.output_dir / "repo" / "rpm-base").exists()


def test_keygen_makes_a_reusable_key(trib) -> None:
    home = Path(tempfile.mkdtemp(prefix="trib-k-", dir="/tmp")) / "g"  # short: gpg-agent's socket may live here
    try:
        first = trib("-O", "json", "repo", "keygen", "--gnupghome", str(home), "--name", "T", "--email", "t@x.invalid")
        again = trib("-O", "json", "repo", "keygen", "--gnupghome", str(home), "--name", "T", "--email", "t@x.invalid")
        assert first.code == 0, first.err
        assert json.loads(first.out)[0]["fingerprint"] == json.loads(again.out)[0]["fingerprint"]
    finally:
        gpg.stop_agent(home)
        shutil.rmtree(home.parent, ignore_errors=True)
