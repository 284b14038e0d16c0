"""Stage 0: the bootstrap repository made from this build host's packages.

The repository is made once per session (the ``stage0_repo`` fixture); these tests install from it
with the real dnf (signatures checked), run its toolchain inside bubblewrap with nothing but the
installed root as ``/``, and check its map, manifest, cache and determinism.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from support import DnfRun, dnf_install_into

from tributary.build.buildroot import comps
from tributary.build.buildroot.repos import PinnedRepo
from tributary.build.stage0 import Stage0Error, Stage0Repo, default_cache_dir, ensure_stage0, repository, rpms
from tributary.build.stage0 import hostmap as hostmap_module
from tributary.build.stage0 import manifest as manifest_module
from tributary.build.stage0 import plan as plan_module
from tributary.build.stage0.host import Closure, Host, closure
from tributary.errors import ConfigError
from tributary.tools import dpkg, gpg, rpmsign

TOOLCHAIN = ("@buildsys-build", "gcc", "gcc-c++", "make", "pkgconf", "python3", "perl")
PLANTED = Path("/usr/include/tributary-stage0-planted.h")


def repo_file(repo: Stage0Repo, directory: Path, *, path: Path | None = None) -> Path:
    """A dnf .repo file for the stage-0 repository (or a copy of it at ``path``), signatures required."""
    base = path or repo.path
    target = directory / "stage0.repo"
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(f"[stage0]\nname=stage 0\nbaseurl={base.as_uri()}/\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\n"
                      f"gpgkey={(base / repository.KEY_FILE).as_uri()}\n")
    return target


@pytest.fixture(scope="module")
def toolchain_root(stage0_repo: Stage0Repo, tmp_path_factory: pytest.TempPathFactory) -> DnfRun:
    """@buildsys-build plus gcc, gcc-c++, make, pkgconf, python3 and perl installed into an empty root.

    The group is read from the repository's comps by tributary, as buildroots do: Debian 13's dnf
    crashes looking up any group (tributary.build.buildroot.comps)."""
    run = tmp_path_factory.mktemp("stage0-root")
    packages, unknown = comps.expand(TOOLCHAIN, [PinnedRepo("stage0", stage0_repo.url, "")])
    assert unknown == [] and {"bash", "rpm-build", "shadow-utils", "gcc"} <= set(packages)
    result = dnf_install_into(run / "dnf", [repo_file(stage0_repo, run / "repos")], *packages)
    assert result.returncode == 0, result.output[-3000:]
    return result


def in_root(root: Path, script: str, *, binds: tuple[tuple[Path, str], ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run a bash script inside bubblewrap with ``root`` (read-only) as the whole file system, as nobody."""
    command = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--uid", "65534", "--gid", "65534",
               "--ro-bind", str(root), "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp"]
    for source, dest in binds:
        command += ["--ro-bind", str(source), dest]
    command += ["--clearenv", "--setenv", "PATH", "/usr/bin:/usr/sbin", "--setenv", "HOME", "/tmp",
                "--setenv", "LANG", "C.UTF-8", "--chdir", "/tmp", "/usr/bin/bash", "-euo", "pipefail", "-c", script]
    return subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600, check=False)


# --- the repository as dnf sees it ---------------------------------------------------------------


def test_the_toolchain_installs_from_the_signed_repository(toolchain_root: DnfRun) -> None:
    assert "Complete!" in toolchain_root.output
    installed = subprocess.run(["rpm", "--root", str(toolchain_root.root), "--dbpath", "/usr/lib/sysimage/rpm",
                                "-qa", "--qf", "%{NAME}\n"], capture_output=True, text=True, check=True).stdout.split()
    for name in ("bash", "coreutils", "gcc", "gcc-c++", "glibc", "glibc-devel", "kernel-headers", "binutils", "make",
                 "rpm-build", "rpm", "perl", "python3", "gawk", "which", "shadow-utils", "filesystem", "gpg-pubkey"):
        assert name in installed, name
    root = toolchain_root.root
    assert os.readlink(root / "bin") == "usr/bin"
    assert os.readlink(root / "usr/bin/sh") == "bash"  # /bin/sh is bash, as on Fedora
    assert os.readlink(root / "usr/bin/awk") == "/usr/bin/gawk"  # the alternative, resolved
    assert (root / "etc/ld.so.cache").is_file()  # glibc's ldconfig trigger ran


def test_every_package_installs_together(stage0_repo: Stage0Repo, tmp_path: Path) -> None:
    """Closure: dnf resolves every package of the repository at once and rpm's transaction test passes
    (every Requires met inside the repository, no file conflicts)."""
    result = dnf_install_into(tmp_path / "all", [repo_file(stage0_repo, tmp_path / "repos")], *stage0_repo.packages,
                              options=("--setopt=tsflags=test",))
    assert result.returncode == 0, result.output[-3000:]
    assert f"Install  {len(stage0_repo.packages)} Packages" in result.output


def test_a_tampered_rpm_is_refused(stage0_repo: Stage0Repo, tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(stage0_repo.path, copy)
    target = next(copy.glob("Packages/m/make-*.rpm"))
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[-100] ^= 0xFF  # a payload byte; the metadata still names the old checksum
    target.write_bytes(bytes(data))
    result = dnf_install_into(tmp_path / "dnf", [repo_file(stage0_repo, tmp_path / "repos", path=copy)], "make")
    assert result.returncode != 0
    assert "incorrect checksum" in result.output or "GPG check FAILED" in result.output, result.output[-2000:]
    assert not (result.root / "usr/bin/make").exists()


def test_the_metadata_signature_is_checked(stage0_repo: Stage0Repo, tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(stage0_repo.path, copy)
    repomd = copy / "repodata/repomd.xml"
    repomd.chmod(0o644)
    repomd.write_text(repomd.read_text().replace("<revision>", "<revision>1"))
    result = dnf_install_into(tmp_path / "dnf", [repo_file(stage0_repo, tmp_path / "repos", path=copy)], "make")
    assert result.returncode != 0
    assert "repomd.xml GPG signature verification error" in result.output or "Bad GPG signature" in result.output, \
        result.output[-2000:]


def test_the_signatures_are_made_by_the_published_key(stage0_repo: Stage0Repo, tmp_path: Path) -> None:
    home = tmp_path / "g"
    gpg.import_keys(home, stage0_repo.gpg_key.read_bytes())
    try:
        repomd = stage0_repo.path / "repodata/repomd.xml"
        signer = gpg.verify_data(home, (repomd.parent / "repomd.xml.asc").read_bytes(), repomd.read_bytes())
    finally:
        gpg.stop_agent(home)
    assert signer == stage0_repo.manifest.signed_by
    assert (stage0_repo.path.parent / "gnupg/fingerprint").read_text().strip() == signer  # the host-local key


# --- the toolchain, with the root as the whole file system -----------------------------------------


def test_c_and_cpp_programs_compile_and_run(toolchain_root: DnfRun) -> None:
    result = in_root(toolchain_root.root, textwrap.dedent("""
        printf '#include <stdio.h>\\nint main(void){puts("hello from C");return 0;}\\n' > a.c
        gcc -O2 -Wall -o a a.c && ./a
        printf '#include <iostream>\\n#include <vector>\\nint main(){std::vector<int> v{1,2};std::cout<<"hello from C++ "<<v.size()<<std::endl;}\\n' > b.cc
        g++ -O2 -o b b.cc && ./b
        cc --version | head -1
    """))
    assert result.returncode == 0, result.stderr
    assert "hello from C\n" in result.stdout
    assert "hello from C++ 2\n" in result.stdout


def test_python_and_perl_run(toolchain_root: DnfRun) -> None:
    result = in_root(toolchain_root.root, """
        python3 -c 'import json, sqlite3, hashlib; print("python", json.dumps([sqlite3.sqlite_version != ""]))'
        perl -MFile::Spec -MData::Dumper -e 'print "perl ", File::Spec->catfile("a", "b"), "\\n"'
    """)
    assert result.returncode == 0, result.stderr
    assert "python [true]" in result.stdout
    assert "perl a/b" in result.stdout


def test_perl_modules_are_provided_by_name_and_version(stage0_repo: Stage0Repo) -> None:
    """perl(...) provides come from the perl.prov of stage 0's own perl-generators on Debian 12 and 13
    alike (Debian 13's rpm has no Perl generators), so "BuildRequires: perl(strict)" finds perl-interpreter."""
    def rpm_query(name: str, *args: str) -> list[str]:
        path = stage0_repo.path / next(p.location for p in stage0_repo.manifest.packages if p.name == name)
        return subprocess.run(["rpm", "-qp", *args, str(path)], capture_output=True, text=True,
                              check=True).stdout.splitlines()

    assert any(re.fullmatch(r"perl\(strict\) = [0-9.]+", line) for line in rpm_query("perl-interpreter", "--provides"))
    assert any(re.fullmatch(r"perl\(File::Spec\) = [0-9.]+", line) for line in rpm_query("perl-libs", "--provides")
               + rpm_query("perl-interpreter", "--provides"))
    assert {"/usr/lib/rpm/perl.prov", "/usr/lib/rpm/perl.req", "/usr/lib/rpm/fileattrs/perllib.attr"} <= set(
        rpm_query("perl-generators", "--list"))
    assert "perl-generators" in rpm_query("rpm-build", "--requires")


def test_rpmbuild_checks_build_requires_against_the_roots_own_database(toolchain_root: DnfRun, tmp_path: Path) -> None:
    spec = tmp_path / "hello.spec"
    spec.write_text(textwrap.dedent("""
        Name: hello
        Version: 1
        Release: 1
        Summary: A C program built in the stage-0 root
        License: MIT
        BuildRequires: gcc make perl-interpreter python3 pkgconfig
        %description
        Hello.
        %build
        printf 'int main(void){return 0;}\\n' > hello.c
        gcc -O2 -o hello hello.c
        %install
        mkdir -p %{buildroot}%{_bindir}
        install -m 755 hello %{buildroot}%{_bindir}/hello
        %files
        %{_bindir}/hello
    """).lstrip())
    unmet = tmp_path / "unmet.spec"
    unmet.write_text(spec.read_text().replace("BuildRequires: gcc", "BuildRequires: no-such-package gcc"))
    result = in_root(toolchain_root.root, """
        rpm --eval '%_dbpath'
        rpmbuild -ba --define '_topdir /tmp/top' /tmp/spec/hello.spec >/tmp/log 2>&1 || { tail -20 /tmp/log; exit 1; }
        ls /tmp/top/RPMS/*/ /tmp/top/SRPMS/
        rpm -qp --requires /tmp/top/RPMS/*/hello-1-1.*.rpm | grep -c 'libc.so.6'
        if rpmbuild -ba --define '_topdir /tmp/top2' /tmp/spec/unmet.spec >/tmp/log2 2>&1; then exit 3; fi
        grep 'no-such-package is needed by' /tmp/log2
    """, binds=((tmp_path, "/tmp/spec"),))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("/usr/lib/sysimage/rpm\n")
    assert "hello-1-1.src.rpm" in result.stdout
    assert "no-such-package is needed by" in result.stdout


def test_host_files_are_not_visible(toolchain_root: DnfRun) -> None:
    PLANTED.write_text("#define PLANTED 1\n")
    try:
        result = in_root(toolchain_root.root, f"""
            test ! -e {PLANTED}
            printf '#include <{PLANTED.name}>\\nint main(void){{return PLANTED;}}\\n' > p.c
            if gcc -c p.c 2>err; then exit 3; fi
            grep -c 'No such file' err
        """)
    finally:
        PLANTED.unlink()
    assert result.returncode == 0, result.stdout + result.stderr


def test_fedora_search_paths_of_a_distributions_packages(toolchain_root: DnfRun) -> None:
    """A distribution's packages put .pc files in /usr/lib64/pkgconfig, libraries in /usr/lib64 and
    Python modules in site-packages; the stage-0 toolchain finds all three, as Fedora's does."""
    root = toolchain_root.root
    (root / "usr/lib64/pkgconfig").mkdir(parents=True, exist_ok=True)
    (root / "usr/lib64/pkgconfig/tribex-demo.pc").write_text(
        "Name: tribex-demo\nDescription: demo\nVersion: 2.1\nCflags: -I/usr/include/tribex\nLibs: -ltribex\n")
    asked = in_root(root, "python3 -c 'import sys; print(\"python%d.%d\" % sys.version_info[:2])'")
    assert asked.returncode == 0, asked.stderr
    python = asked.stdout.strip()  # the root's: python3.11 on Debian 12, python3.13 on Debian 13
    site = root / "usr/lib64" / python / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    (site / "tribex_demo.py").write_text("VALUE = 42\n")
    try:
        result = in_root(root, """
            pkg-config --modversion tribex-demo
            pkg-config --cflags --libs tribex-demo
            python3 -c 'import tribex_demo; print(tribex_demo.VALUE)'
            grep -x /usr/lib64 /etc/ld.so.conf.d/*.conf
        """)
    finally:
        shutil.rmtree(root / "usr/lib64/pkgconfig")
        shutil.rmtree(root / "usr/lib64" / python)
    assert result.returncode == 0, result.stderr
    assert "2.1\n-I/usr/include/tribex -ltribex" in result.stdout
    assert "\n42\n" in result.stdout  # Fedora's site-packages of the root's Python, whichever version it is


# --- map, manifest, cache, determinism -------------------------------------------------------------


def test_the_manifest_accounts_for_every_host_package(stage0_repo: Stage0Repo) -> None:
    made = manifest_module.read(stage0_repo.path / manifest_module.FILENAME)
    assert made == stage0_repo.manifest
    on_disk = sorted(str(p.relative_to(stage0_repo.path)) for p in stage0_repo.path.glob("Packages/*/*.rpm"))
    assert sorted(p.location for p in made.packages) == on_disk
    hostmap = hostmap_module.load()
    taken = closure(Host.read(), hostmap)
    carried = {source.name for package in made.packages for source in package.sources}
    assert carried == set(taken.packages)  # nothing of the closure is silently dropped
    assert set(made.host_only) <= set(hostmap.host_only)
    catch_all = next(p for p in made.packages if p.name == hostmap.unnamed) if made.unnamed else None
    if catch_all is not None:
        assert {s.name for s in catch_all.sources} == set(made.unnamed)
    gcc = next(p for p in made.packages if p.name == "gcc")
    assert {s.name for s in gcc.sources} >= {"gcc"}
    assert made.groups["buildsys-build"][:2] == ("bash", "bzip2")
    assert (stage0_repo.path / repository.KEY_FILE).read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert stage0_repo.url == stage0_repo.path.as_uri()


def test_a_current_cache_is_used_as_it_is(stage0_repo: Stage0Repo) -> None:
    before = (stage0_repo.path / "repodata/repomd.xml").stat().st_mtime_ns
    again = ensure_stage0(stage0_repo.path.parent)
    assert again.path == stage0_repo.path
    assert (stage0_repo.path / "repodata/repomd.xml").stat().st_mtime_ns == before


def test_the_command_reports_the_cached_repository(stage0_repo: Stage0Repo, trib, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("TRIB_CACHE_DIR", str(stage0_repo.path.parent.parent))
    assert default_cache_dir(None) == stage0_repo.path.parent
    result = trib("-O", "json", "buildroot", "stage0", cwd=tmp_path)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["path"] == str(stage0_repo.path)
    assert data["url"] == stage0_repo.url
    assert data["packages"] == len(stage0_repo.packages)


def test_rpms_are_made_byte_for_byte_the_same(stage0_repo: Stage0Repo, tmp_path: Path) -> None:
    """Determinism, cheaply: a few RPMs of the session's repository made again, signed with the same
    key at the same time, are identical to the published ones."""
    names = ["filesystem", "bash", "glibc", "make", "gawk"]
    hostmap = hostmap_module.load()
    host = Host.read()
    plan, dropped = repository.host_plan(hostmap, host, closure(host, hostmap))
    rpms.stage(plan, tmp_path / "root")
    built = rpms.build(plan, tmp_path / "root", tmp_path / "work", tmp_path / "out", names=names,
                       exclude_requires=dropped)
    home = stage0_repo.path.parent / repository.KEYRING
    fingerprint = stage0_repo.manifest.signed_by
    created = gpg.secret_keys(home, fingerprint)[0].created
    try:
        rpmsign.addsign([b.path for b in built.values()], gnupghome=home, fingerprint=fingerprint,
                        timestamp=max(stage0_repo.manifest.source_date_epoch, created))
    finally:
        gpg.stop_agent(home)
    for name in names:
        published = stage0_repo.path / next(p.location for p in stage0_repo.manifest.packages if p.name == name)
        assert built[name].path.read_bytes() == published.read_bytes(), name


ODD_PATHS = ("/usr/bin/[", "/usr/share/t/q*x", "/usr/share/t/r[1]?", "/usr/share/t/a b", "/usr/share/t/p%x",
             "/usr/lib/systemd/system/system-t\\x2dx.slice")
NEIGHBOURS = ("/usr/share/t/qyx", "/usr/share/t/r1x", "/usr/share/t/a")


def test_paths_with_glob_characters_spaces_and_backslashes_are_packaged_as_they_are(tmp_path: Path) -> None:
    """The real rpmbuild packages each path exactly once and nothing beside it: a glob must not match the
    neighbours planted next to it (``qyx`` for ``q*x``), a space must not split a path, a ``%`` not expand.
    rpm 4.18 (Debian 12) and 4.20 (Debian 13) read quoted and escaped %files paths differently."""
    host = tmp_path / "host"
    entries = []
    for path in (*ODD_PATHS, *NEIGHBOURS):
        (host / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (host / path.lstrip("/")).write_text(path)
        if path in ODD_PATHS:
            entries.append(plan_module.Entry(path, plan_module.Kind.FILE, source=str(host / path.lstrip("/"))))
    odd = plan_module.RpmPlan("odd", None, "1", "1", "odd paths", (), tuple(entries), (), (), ())
    plan = plan_module.Plan((odd,), closure=Closure((), {}))
    rpms.stage(plan, tmp_path / "root")
    for neighbour in NEIGHBOURS:
        shutil.copy(host / neighbour.lstrip("/"), tmp_path / "root" / neighbour.lstrip("/"))
    built = rpms.build(plan, tmp_path / "root", tmp_path / "work", tmp_path / "out")
    listed = subprocess.run(["rpm", "-qlp", str(built["odd"].path)], capture_output=True, text=True, check=True)
    assert sorted(listed.stdout.splitlines()) == sorted(ODD_PATHS)


def test_a_path_no_rpm_reads_alike_is_refused_by_name() -> None:
    with pytest.raises(rpms.Stage0BuildError, match=r"'/usr/share/a b\[1\]'.* glob characters and white space"):
        rpms.files_path("/usr/share/a b[1]")
    with pytest.raises(rpms.Stage0BuildError, match=r"'/usr/share/c\{1\}'.* braces"):
        rpms.files_path("/usr/share/c{1}")
    with pytest.raises(rpms.Stage0BuildError, match="cannot name it"):
        rpms.files_path('/usr/share/"quoted"')


def test_every_owner_of_a_stage0_file_is_a_user_or_group_of_the_setup_package() -> None:
    """rpm 4.19 and later (Debian 13's 4.20) make a package require user(NAME) and group(NAME) for its
    files' owners, and the package holding /etc/passwd and /etc/group provide each of their entries."""
    hostmap = hostmap_module.load()
    host = Host.read()
    plan, _ = repository.host_plan(hostmap, host, closure(host, hostmap))
    written = {e.path: e.text or "" for e in plan.rpm("setup").entries if e.kind == plan_module.Kind.TEXT}
    users = {line.split(":")[0] for line in written["/etc/passwd"].splitlines()}
    groups = {line.split(":")[0] for line in written["/etc/group"].splitlines()}
    owners = {(user, group) for rpm in plan.rpms
              for user, group in re.findall(r"%attr\([0-7-]+,([^,]+),([^)]+)\)", rpms.spec_text(rpm))}
    assert ("root", "shadow") in owners  # Debian's set-gid chage and unix_chkpwd: the case this is about
    assert {user for user, _ in owners} <= users
    assert {group for _, group in owners} <= groups


def test_another_process_building_makes_a_caller_wait_then_time_out(tmp_path: Path) -> None:
    cache = tmp_path / "stage0"
    cache.mkdir()
    with open(cache / ".lock", "a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(Stage0Error, match="another process has been making"):
            ensure_stage0(cache, lock_timeout=0.3)
    assert sorted(p.name for p in cache.iterdir()) == [".lock"]


def test_an_interrupted_build_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(rpms, "build", interrupted)
    cache = tmp_path / "stage0"
    with pytest.raises(KeyboardInterrupt):
        ensure_stage0(cache)
    assert sorted(p.name for p in cache.iterdir()) == [".lock", "gnupg"]  # the key ring stays for next time


def test_the_cache_key_follows_the_map_and_the_host_versions() -> None:
    hostmap = hostmap_module.load()
    host = Host.read()
    taken = closure(host, hostmap)
    key = repository.cache_key(hostmap, host, taken, "x86_64")
    edited = hostmap.model_copy(update={"digest": "0" * 64})
    assert repository.cache_key(edited, host, taken, "x86_64") != key
    first = taken.packages[0]
    upgraded = dict(host.packages)
    upgraded[first] = dpkg.InstalledPackage(**{**vars(host.packages[first]), "version": "99:1-1"})
    newer = Host(host.architecture, upgraded, host.providers)
    assert repository.cache_key(hostmap, newer, taken, "x86_64") != key


def test_a_foreign_architecture_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="carries this host's files"):
        ensure_stage0(tmp_path, arch="s390x" if os.uname().machine != "s390x" else "x86_64")


# --- the map and the plan, on their own ------------------------------------------------------------


def test_the_bundled_map_covers_debian_12_and_13_names() -> None:
    hostmap = hostmap_module.load()
    expected = {
        "libelf1": "elfutils-libelf", "libelf1t64": "elfutils-libelf", "libperl5.36": "perl-libs",
        "libperl5.40": "perl-libs", "perl-modules-5.40": "perl-libs", "libpython3.13-stdlib": "python3-libs",
        "python3.13": "python3", "gcc-14": "gcc", "gcc-14-x86-64-linux-gnu": "gcc", "cpp-14-x86-64-linux-gnu": "cpp",
        "g++-14-x86-64-linux-gnu": "gcc-c++", "libstdc++-14-dev": "libstdc++-devel", "gcc-14-base": "libgcc",
        "librpm10": "rpm-libs", "librpmbuild10": "rpm-build-libs", "libmagic1t64": "file-libs",
        "pkgconf-bin": "pkgconf", "libpkgconf3": "libpkgconf", "login.defs": "shadow-utils", "login": "util-linux",
        "libssl3t64": "openssl-libs", "liblua5.4-0": "lua-libs", "libxml2-16": "libxml2", "zlib1g": "zlib-ng-compat",
        "rpm-common": "rpm", "rpm": "rpm", "debianutils": "which", "something-new1": hostmap.unnamed,
        # Seen in the closure of a debootstrapped Debian 13 root with make setup's packages (2026-12-04).
        "gcc-x86-64-linux-gnu": "gcc", "cpp-x86-64-linux-gnu": "cpp", "g++-x86-64-linux-gnu": "gcc-c++",
        "librpm-sequoia-1": "rpm-sequoia", "openssl-provider-legacy": "openssl-libs", "libproc2-0": "procps-ng",
        "procps": "procps-ng", "libcurl3t64-gnutls": "libcurl", "libldap2": "openldap", "libldap-2.5-0": "openldap",
        "libnghttp3-9": "libnghttp3", "libngtcp2-16": "ngtcp2", "libngtcp2-crypto-gnutls8": "ngtcp2-crypto-gnutls",
        "libsasl2-2": "cyrus-sasl-lib", "libssh2-1t64": "libssh2", "libpsl5t64": "libpsl", "libjson-c5": "json-c",
        "liblastlog2-2": "liblastlog2", "tzdata": "tzdata", "libtext-charwidth-perl": "perl-Text-CharWidth",
    }
    assert {name: hostmap.owner(name) for name in expected} == expected
    assert hostmap.owner("dpkg") is None
    assert hostmap.owner("base-passwd") is None and hostmap.owner("ucf") is None


@pytest.mark.parametrize(("change", "message"), [
    ('[packages.bash]\ndebian = ["ba(sh"]', "is not a regular expression"),
    ('[packages.bash]\ndebian = ["bash"]\nflavour = "x"', "flavour"),
    ('[packages.bash]\ndebian = ["bash"]\nseeds = ["coreutils"]', "would go into"),
    ('[groups.g]\nname = "g"\npackages = ["nonesuch"]\n[packages.bash]\ndebian = ["bash"]', r"no \[packages\] entry"),
])
def test_a_broken_map_is_an_error_naming_file_and_line(tmp_path: Path, change: str, message: str) -> None:
    path = tmp_path / "hostmap.toml"
    path.write_text(f'format = 1\nunnamed = "rest"\nrelease-prefix = "0"\n{change}\n')
    with pytest.raises(ConfigError, match=message) as error:
        hostmap_module.load(path)
    assert re.match(rf"{re.escape(str(path))}:\d+: ", str(error.value)), str(error.value)


def _host(*packages: dpkg.InstalledPackage) -> Host:
    providers: dict[str, tuple[str, ...]] = {}
    for package in packages:
        for name in (package.name, *package.provides):
            providers[name] = (*providers.get(name, ()), package.name)
    return Host("amd64", {p.name: p for p in packages}, providers)


def _package(name: str, *depends: str, provides: tuple[str, ...] = (), conffiles: tuple[str, ...] = ()) -> dpkg.InstalledPackage:
    return dpkg.InstalledPackage(name, "amd64", "1:2.0-3+deb12u1", False,
                                 dpkg.parse_relations(", ".join(depends)), provides, conffiles)


def test_the_plan_maps_moves_and_links(tmp_path: Path) -> None:
    """Unnamed closure packages go into the catch-all RPM; host-only ones are left out with their
    Requires; /bin paths move to /usr/bin and stay provided; alternatives become direct links; a
    diverted file is taken from where it is; the map's files win over the host's."""
    (tmp_path / "map.toml").write_text(textwrap.dedent("""
        format = 1
        unnamed = "rest"
        release-prefix = "0.s0"
        exclude = ["/usr/share/doc/*"]
        keep = ["/usr/share/doc/*/copyright"]
        [host-only]
        hostpm = "the host's package manager"
        [packages.tool]
        debian = ["tool"]
        seeds = ["tool"]
        epoch = 2
        links = { "/usr/bin/sh" = "tool" }
        [packages.libthing]
        debian = ["libthing\\\\d+"]
    """))
    hostmap = hostmap_module.load(tmp_path / "map.toml")
    host = _host(_package("tool", "libthing7 | libthing8", "helper", "hostpm", conffiles=("/etc/tool.conf",)),
                 _package("libthing7"),
                 _package("helper", "libthing7"), _package("hostpm"))
    taken = closure(host, hostmap)
    assert taken.packages == ("helper", "libthing7", "tool")
    assert taken.host_only == ("hostpm",)
    files = {"tool": ["/.", "/bin", "/bin/tool", "/bin/sh", "/usr/share/doc/tool/copyright", "/usr/share/doc/tool/NEWS",
                      "/etc/tool.conf", "/usr/bin/tool-old"],
             "libthing7": ["/.", "/usr/lib/libthing.so.7"], "helper": ["/.", "/usr/bin/helper"]}
    modes = {"/bin": 0o040755}

    def lstat(path: str) -> os.stat_result:
        return os.stat_result((modes.get(path, 0o100755), 0, 0, 1, 0, 0, 0, 0, 0, 0))

    plan = plan_module.make_plan(hostmap, host, taken, {k: v[1:] for k, v in files.items()},
                                 diversions=[dpkg.Diversion("/usr/bin/tool-old", "/usr/bin/tool-old.distrib", "other")],
                                 alternatives=[dpkg.Alternative("t", (("/usr/bin/t", "/bin/tool"),))],
                                 lstat=lstat, readlink=lambda p: "x")
    tool = plan.rpm("tool")
    paths = {e.path: e for e in tool.entries}
    assert sorted(paths) == ["/etc/tool.conf", "/usr/bin", "/usr/bin/sh", "/usr/bin/t", "/usr/bin/tool",
                             "/usr/bin/tool-old.distrib", "/usr/share/doc/tool/copyright"]
    assert paths["/etc/tool.conf"].config
    assert paths["/usr/bin/sh"].target == "tool"  # the map's link, not the host's /bin/sh
    assert paths["/usr/bin/t"].target == "/bin/tool"
    assert paths["/usr/bin/tool"].source == "/bin/tool"
    assert "/bin/tool" in tool.provides
    assert tool.requires == ("libthing", "rest")  # hostpm is host-only: no Requires for it
    assert (tool.epoch, tool.version, tool.release) == (2, "2.0", "0.s0.3+deb12u1")
    assert plan.rpm("rest").sources == (("helper", "1:2.0-3+deb12u1"),)
    assert plan.unnamed == ("helper",)
    assert plan.rpm("rest").requires == ("libthing",)


def test_a_tool_the_map_expects_but_the_host_lacks_is_named(tmp_path: Path) -> None:
    (tmp_path / "map.toml").write_text(textwrap.dedent("""
        format = 1
        unnamed = "rest"
        release-prefix = "0"
        [packages.which]
        debian = ["debianutils"]
        seeds = ["debianutils"]
        expect = ["/usr/bin/which"]
    """))
    hostmap = hostmap_module.load(tmp_path / "map.toml")
    host = _host(_package("debianutils"))
    with pytest.raises(ConfigError, match=r"lack /usr/bin/which \(which\)"):
        plan_module.make_plan(hostmap, host, closure(host, hostmap), {"debianutils": ["/usr/bin/run-parts"]},
                              lstat=lambda path: os.stat_result((0o100755, 0, 0, 1, 0, 0, 0, 0, 0, 0)))
