"""Image checks on image roots written here as tar archives: SELinux, sysctls, set-id and
world-writable files, FIPS readiness, SBOM against the rpm database."""

from __future__ import annotations

import io
import json
import tarfile
from datetime import date
from pathlib import Path

import pytest

from tributary.audit.image import (
    REQUIRED_SYSCTLS,
    audit_tree,
    check_fips,
    check_sbom,
    check_setid,
    check_sysctl,
    check_world_writable,
)
from tributary.audit.imagetree import open_tar
from tributary.audit.policy import apply_policy
from tributary.config.model import AUDIT_IMAGE_CHECKS, AuditConfig
from tributary.tools.rpm import InstalledRpm

HARDENING = "".join(f"{key} = {value}\n" for key, value in REQUIRED_SYSCTLS.items())
ENFORCING = "SELINUX=enforcing\nSELINUXTYPE=targeted\n"


def write_image(path: Path, files: dict[str, str | tuple[str, int] | int], *, links: dict[str, str] | None = None) -> Path:
    """A root as tar: ``path -> text`` (mode 0644), ``(text, mode)``, or a mode alone for a directory."""
    with tarfile.open(path, "w:gz") as archive:
        for name, value in sorted(files.items()):
            info = tarfile.TarInfo("." + name)
            if isinstance(value, int):
                info.type, info.mode = tarfile.DIRTYPE, value
                archive.addfile(info)
                continue
            text, mode = value if isinstance(value, tuple) else (value, 0o644)
            data = text.encode()
            info.size, info.mode = len(data), mode
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo("." + name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return path


def base_files(**overrides) -> dict:
    files = {"/etc/selinux/config": ENFORCING, "/usr/lib/sysctl.d/50-hardening.conf": HARDENING,
             "/tmp": 0o1777, "/usr/bin/greet": ("ELF", 0o755)}
    files.update(overrides)
    return {key: value for key, value in files.items() if value is not None}


def audit(tmp_path: Path, files: dict, policy: AuditConfig | None = None, **kwargs) -> dict[str, list]:
    config = policy or AuditConfig()
    with open_tar(write_image(tmp_path / "root.tar.gz", files, **kwargs)) as tree:
        findings = apply_policy(audit_tree(tree, "test", config), config, today=date(2026, 1, 1), image="test")
    out: dict[str, list] = {}
    for finding in findings:
        out.setdefault(finding.check, []).append((finding.status, finding.subject, finding.evidence))
    return out


def test_check_names_match_the_config_model(tmp_path) -> None:
    assert tuple(audit(tmp_path, base_files())) == AUDIT_IMAGE_CHECKS


def test_a_sound_root_passes_all_but_the_sbom(tmp_path) -> None:
    found = audit(tmp_path, base_files())
    assert {check: [s for s, _, _ in items] for check, items in found.items()} == {
        "selinux-config": ["pass"], "selinux-policy": ["n/a"], "sysctl": ["pass"], "setuid": ["pass"],
        "world-writable": ["pass"], "fips": ["n/a"], "sbom-rpmdb": ["fail"]}
    assert found["sbom-rpmdb"][0][2] == "image has no embedded SBOM at /usr/share/tributary/sbom/test.spdx.json"


@pytest.mark.parametrize(("config", "evidence"), [
    ("SELINUX=permissive\nSELINUXTYPE=targeted\n", "SELINUX=permissive, not enforcing"),
    ("SELINUX=disabled\n", "SELINUX=disabled, not enforcing"),
    ("# SELINUX=enforcing\nSELINUXTYPE=targeted\n", "SELINUX=(unset), not enforcing"),
    ("SELINUX=enforcing\n", "SELINUX=enforcing but no SELINUXTYPE"),
    (None, "no /etc/selinux/config: SELinux is not configured"),
])
def test_selinux_not_enforcing_fails(tmp_path, config, evidence) -> None:
    found = audit(tmp_path, base_files(**{"/etc/selinux/config": config}))
    assert found["selinux-config"] == [("fail", "/etc/selinux/config", evidence)]


def test_selinux_config_reached_through_a_symlinked_directory(tmp_path) -> None:
    files = base_files(**{"/etc/selinux/config": None, "/usr/share/selinux-conf/config": ENFORCING})
    found = audit(tmp_path, files, links={"/etc/selinux": "../usr/share/selinux-conf"})
    assert found["selinux-config"][0][0] == "pass"


def test_selinux_policy_package_required_by_the_image_policy(tmp_path) -> None:
    policy = AuditConfig.model_validate({"images": {"test": {"selinux-policy-package": "selinux-policy-targeted"}}})
    found = audit(tmp_path, base_files(), policy)
    assert found["selinux-policy"] == [("fail", "", "policy package selinux-policy-targeted is not installed")]


def test_sysctl_missing_weak_and_overridden(tmp_path) -> None:
    weak = HARDENING.replace("kernel.randomize_va_space = 2", "kernel.randomize_va_space = 1")
    weak = weak.replace("fs.protected_fifos = 1\n", "")
    files = base_files(**{"/usr/lib/sysctl.d/50-hardening.conf": weak,
                          # an administrator's file of the same name hides the vendor's, in /etc
                          "/etc/sysctl.d/60-local.conf": "kernel/dmesg_restrict=0\n"})
    with open_tar(write_image(tmp_path / "r.tar", files)) as tree:
        [finding] = check_sysctl(tree)
    assert finding.status == "fail"
    assert "kernel.randomize_va_space=1 (/usr/lib/sysctl.d/50-hardening.conf; needs >= 2)" in finding.evidence
    assert "fs.protected_fifos not set" in finding.evidence
    assert "kernel.dmesg_restrict=0 (/etc/sysctl.d/60-local.conf; needs >= 1)" in finding.evidence


def test_setid_files_against_the_allow_list(tmp_path) -> None:
    files = base_files(**{"/usr/bin/su": ("x", 0o4755), "/usr/bin/wall": ("x", 0o2755), "/usr/bin/ok": ("x", 0o755)})
    with open_tar(write_image(tmp_path / "r.tar", files)) as tree:
        found = {(f.subject, f.status) for f in check_setid(tree, ["/usr/bin/su"])}
        assert found == {("/usr/bin/su", "pass"), ("/usr/bin/wall", "fail")}
        assert {f.subject for f in check_setid(tree, ["/usr/bin/{su,wall}"]) if f.status == "fail"} == set()


def test_world_writable_files_and_directories(tmp_path) -> None:
    files = base_files(**{"/var/tmp": 0o1777, "/srv/drop": 0o777, "/etc/passwd-": ("x", 0o666)})
    with open_tar(write_image(tmp_path / "r.tar", files)) as tree:
        found = {f.subject: f.evidence for f in check_world_writable(tree)}
    assert found == {"/srv/drop": "world-writable directory without the sticky bit (0o777)",
                     "/etc/passwd-": "world-writable file (0o666)"}


def test_fips_readiness(tmp_path) -> None:
    cases = {
        "no-fips-module": ({"/usr/lib64/libcrypto.so.3": "x", "/etc/pki/tls/openssl.cnf": "[x]\n"}, "fail"),
        "unconfigured": ({"/usr/lib64/libcrypto.so.3": "x", "/usr/lib64/ossl-modules/fips.so": "x",
                          "/etc/pki/tls/openssl.cnf": "[openssl_init]\n"}, "fail"),
        "ready": ({"/usr/lib64/libcrypto.so.3": "x", "/usr/lib64/ossl-modules/fips.so": "x",
                   "/etc/pki/tls/openssl.cnf": ".include /etc/pki/tls/fips_local.cnf\n"}, "pass"),
        "policy-without-fips": ({"/etc/crypto-policies/config": "DEFAULT\n"}, "fail"),
        "policy-with-fips": ({"/etc/crypto-policies/config": "DEFAULT\n",
                              "/usr/share/crypto-policies/policies/FIPS.pol": "x"}, "pass"),
    }
    for name, (extra, status) in cases.items():
        with open_tar(write_image(tmp_path / f"{name}.tar", base_files(**extra))) as tree:
            [finding] = check_fips(tree)
        assert finding.status == status, (name, finding)


def spdx(*purls: str) -> str:
    return json.dumps({"spdxVersion": "SPDX-2.3", "packages": [
        {"name": f"p{index}", "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                                                "referenceLocator": purl}]} for index, purl in enumerate(purls)]})


def test_sbom_compared_with_the_rpmdb(tmp_path) -> None:
    installed = [InstalledRpm("greet", 0, "1.1", "4.tribex10", "x86_64"),
                 InstalledRpm("libgreet", 2, "2.0+git", "4.tribex10", "x86_64")]
    good = spdx("pkg:rpm/tribex/greet@1.1-4.tribex10?arch=x86_64&distro=tribex-1.0",
                "pkg:rpm/tribex/libgreet@2.0%2Bgit-4.tribex10?arch=x86_64&epoch=2",
                "pkg:rpm/tribex/greet@1.1-4.tribex10?arch=src")  # a source package: never installed
    bad = spdx("pkg:rpm/tribex/greet@1.1-3.tribex10?arch=x86_64", "pkg:generic/greet-1.1.tar.gz")
    for name, document, status in (("good", good, "pass"), ("bad", bad, "fail")):
        files = base_files(**{"/usr/share/tributary/sbom/test.spdx.json": document})
        with open_tar(write_image(tmp_path / f"{name}.tar", files)) as tree:
            [finding] = check_sbom(tree, "test", installed)
        assert finding.status == status, finding
    assert finding.evidence == ("installed but not in the SBOM: greet-1.1-4.tribex10.x86_64, "
                                "libgreet-2:2.0+git-4.tribex10.x86_64; in the SBOM but not installed: "
                                "greet-1.1-3.tribex10.x86_64")


def layer(path: Path, entries: list[tuple[str, str | None]]) -> Path:
    """One tar layer: ``(name, text)`` a file, ``(name, None)`` an empty whiteout-style marker."""
    with tarfile.open(path, "w") as archive:
        for name, text in entries:
            data = (text or "").encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def layered(tmp_path: Path, *layers: list[tuple[str, str | None]]):
    from tributary.audit.imagetree import ImageTree

    tree = ImageTree("layers")
    for index, entries in enumerate(layers):
        tree.add_layer(tarfile.open(layer(tmp_path / f"layer{index}.tar", entries)))  # noqa: SIM115 (read later)
    return tree


def test_root_level_dotfiles_keep_their_names(tmp_path) -> None:
    from tributary.audit.imagetree import _normal

    assert _normal("./.dockerenv") == "/.dockerenv"
    assert _normal("./.wh.opt") == "/.wh.opt"
    assert [_normal(n) for n in (".", "./", "etc/x", "/etc/x", "./etc/x", "././etc//x")] == \
        ["/", "/", "/etc/x", "/etc/x", "/etc/x", "/etc/x"]
    tree = layered(tmp_path, [("./.dockerenv", "x"), ("./etc/.hidden", "y")])
    assert sorted(tree.members) == ["/.dockerenv", "/etc/.hidden"]
    assert tree.read("/.dockerenv") == b"x"


def test_root_level_whiteout_removes_a_lower_layers_file(tmp_path) -> None:
    tree = layered(tmp_path, [("./opt/tool", "t"), ("./keep", "k")], [("./.wh.opt", None)])
    assert sorted(tree.members) == ["/keep"]


def test_opaque_whiteout_empties_the_directory_of_lower_layers(tmp_path) -> None:
    tree = layered(tmp_path, [("./etc/a", "1"), ("./etc/sub/b", "2"), ("./etcx", "3")],
                   [("./etc/.wh..wh..opq", None), ("./etc/c", "new")])
    assert sorted(tree.members) == ["/etc/c", "/etcx"]


def test_a_whiteout_does_not_hide_what_its_own_layer_adds(tmp_path) -> None:
    # The whiteout comes after the file in the tar, and still hides only the lower layer's copy.
    tree = layered(tmp_path, [("./etc/motd", "old"), ("./etc/issue", "old")],
                   [("./etc/motd", "new"), ("./etc/.wh.motd", None), ("./etc/.wh.issue", None)])
    assert sorted(tree.members) == ["/etc/motd"]
    assert tree.read("/etc/motd") == b"new"


def test_devices_fifos_and_sockets_are_not_world_writable_files(tmp_path) -> None:
    path = write_image(tmp_path / "r.tar", base_files(**{"/etc/open": ("x", 0o666)}))
    with tarfile.open(tmp_path / "dev.tar", "w") as archive:
        with tarfile.open(path) as source:
            for member in source:
                archive.addfile(member, source.extractfile(member) if member.isreg() else None)
        for name, kind in (("./dev/null", tarfile.CHRTYPE), ("./dev/sda", tarfile.BLKTYPE),
                           ("./run/initctl", tarfile.FIFOTYPE)):
            info = tarfile.TarInfo(name)
            info.type, info.mode = kind, 0o666
            archive.addfile(info)
    with open_tar(tmp_path / "dev.tar") as tree:
        assert tree.info("/dev/null").ischr()
        found = {f.subject: f.status for f in check_world_writable(tree)}
    assert found == {"/etc/open": "fail"}


STOCK_OPENSSL_CNF = """\
# OpenSSL example configuration file.
# .include fipsmodule.cnf
openssl_conf = openssl_init

[openssl_init]
providers = provider_sect

[provider_sect]
default = default_sect
# fips = fips_sect

[default_sect]
# activate = 1
"""


@pytest.mark.parametrize(("config", "extra", "status"), [
    (STOCK_OPENSSL_CNF, {}, "fail"),
    ("[provider_sect]\nfips = fips_sect\n[fips_sect]\n# activate = 1\n", {}, "fail"),
    ("[provider_sect]\nfips = fips_sect\n[ fips_sect ]\nactivate = 1 # on\n", {}, "pass"),
    ("[provider_sect]\nfips = fips_sect\n", {}, "fail"),
    (".include = /etc/ssl/fipsmodule.cnf\n", {}, "pass"),
    ("#.include /etc/ssl/fipsmodule.cnf\n", {}, "fail"),
    (".include /etc/crypto-policies/back-ends/opensslcnf.config\n", {}, "fail"),
    (".include /etc/crypto-policies/back-ends/opensslcnf.config\n",
     {"/etc/crypto-policies/config": "DEFAULT\n", "/usr/share/crypto-policies/policies/FIPS.pol": "x"}, "pass"),
])
def test_openssl_fips_configuration_ignores_comments(tmp_path, config, extra, status) -> None:
    files = base_files(**{"/usr/lib64/libcrypto.so.3": "x", "/usr/lib64/ossl-modules/fips.so": "x",
                          "/etc/pki/tls/openssl.cnf": config, **extra})
    with open_tar(write_image(tmp_path / "r.tar", files)) as tree:
        [finding] = check_fips(tree)
    assert finding.status == status, finding


def test_nevra_shows_only_a_real_epoch() -> None:
    from tributary.tools.rpm import nevra

    assert nevra("greet", 0, "1.1", "4", "x86_64") == "greet-1.1-4.x86_64"
    assert nevra("greet", None, "1.1", "4", "src") == "greet-1.1-4.src"
    assert nevra("greet", "0", "1.1", "4", "noarch") == "greet-1.1-4.noarch"  # repodata's string epoch
    assert nevra("libgreet", 2, "2.0", "4", "x86_64") == nevra("libgreet", "2", "2.0", "4", "x86_64") \
        == "libgreet-2:2.0-4.x86_64"


def test_an_unreadable_rpm_database_is_a_tool_error_naming_it(tmp_path) -> None:
    from tributary.tools.process import ToolError
    from tributary.tools.rpm import query_all

    (tmp_path / "rpmdb.sqlite").write_text("garbage\n")
    with pytest.raises(ToolError, match="rpm failed") as caught:
        query_all(tmp_path)
    assert caught.value.where == str(tmp_path)
