"""The Example Upstream distribution: dist-git + lookaside generation, real rpmbuild, and a runnable root.

Everything here uses the real tools of the Debian 12 machine (git, rpmbuild, rpm2archive,
createrepo_c, dnf, chroot); nothing is mocked or skipped.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UPSTREAM = REPO / "examples" / "upstream"
SCRIPT = UPSTREAM / "make_upstream.py"
PACKAGES = ["example-release", "filesystem", "greet", "greet-data", "greet-report", "greetings", "libgreet",
            "motd-greeter", "perl-Greet"]
# Built here with the host's rpmbuild, libgreet first: greet builds against it. The others need what a
# buildroot gives (Fedora's directory macros, pkg-config finding libgreet, the Greet module installed):
# tests/build builds them in real buildroots.
BUILD_ORDER = ["libgreet", "greet", "greet-data", "example-release", "filesystem"]
DIST = ".ex1"
SOURCES_LINE = re.compile(r"^(?P<alg>[A-Z0-9]+) \((?P<file>[^)/]+)\) = (?P<hash>[0-9a-f]+)$")

EXPECTED_RPMS = {
    "libgreet-2.0-3.ex1.x86_64.rpm",
    "libgreet-devel-2.0-3.ex1.x86_64.rpm",
    "libgreet-static-2.0-3.ex1.x86_64.rpm",
    "greet-1.1-1.ex1.x86_64.rpm",
    "greet-data-1.0-1.ex1.noarch.rpm",
    "example-release-43-1.ex1.noarch.rpm",
    "filesystem-1.0-1.ex1.x86_64.rpm",
}


def run(*cmd: str | Path, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("check", True)
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run([str(c) for c in cmd], **kw)


def git(gitdir: Path, *args: str) -> str:
    return run("git", f"--git-dir={gitdir}", *args).stdout


def make_upstream(outdir: Path, *args: str) -> subprocess.CompletedProcess:
    return run(sys.executable, SCRIPT, outdir, *args, check=False)


def parse_sources(text: str) -> list[tuple[str, str, str]]:
    entries = []
    for line in text.splitlines():
        m = SOURCES_LINE.match(line)
        assert m, f"malformed sources line: {line!r}"
        entries.append((m["alg"], m["file"], m["hash"]))
    return entries


def lookaside_file(outdir: Path, pkg: str, alg: str, filename: str, digest: str) -> Path:
    return outdir / "lookaside" / pkg / filename / alg.lower() / digest / filename


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def upstream(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("upstream-a") / "out"
    proc = make_upstream(out, "--json")
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def upstream_again(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("upstream-b") / "out"
    proc = make_upstream(out, "--json")
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout)


def prepare_rpmbuild_tree(outdir: Path, pkg: str, work: Path, commit: str = "f43") -> Path:
    """Check out COMMIT of PKG's dist-git, fetch its tarballs, return the spec to build.

    %autochangelog is replaced by an entry made from the checked-out commit, because
    Debian's rpm has no rpmautospec (%autorelease is handled by a --define in rpmbuild()).
    """
    checkout = work / "checkout" / pkg
    run("git", "clone", "--quiet", "--branch", "f43", f"file://{outdir}/git/{pkg}.git", checkout)
    run("git", "-C", checkout, "checkout", "--quiet", commit)
    top = work / "top"
    sources = top / "SOURCES"
    sources.mkdir(parents=True, exist_ok=True)
    for f in checkout.iterdir():
        if f.name not in {".git", ".gitignore", "sources"}:
            shutil.copy2(f, sources / f.name)
    if (checkout / "sources").exists():
        for alg, filename, digest in parse_sources((checkout / "sources").read_text()):
            shutil.copy2(lookaside_file(outdir, pkg, alg, filename, digest), sources / filename)
    spec = (checkout / f"{pkg}.spec").read_text()
    if "%autochangelog" in spec:
        date, author = run("git", "-C", checkout, "log", "-1", "--format=%ad|%an <%ae>",
                           "--date=format:%a %b %d %Y").stdout.strip().split("|")
        subject = run("git", "-C", checkout, "log", "-1", "--format=%s").stdout.strip()
        spec = spec.replace("%autochangelog", f"* {date} {author}\n- {subject}")
    target = top / "SPECS" / f"{pkg}.spec"
    target.parent.mkdir(exist_ok=True)
    target.write_text(spec)
    return target


def rpmbuild(spec: Path, top: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    return run("rpmbuild", "--nodeps", "-ba",
               "--define", f"_topdir {top}", "--define", f"dist {DIST}",
               "--define", "autorelease 1%{?dist}", "--define", "debug_package %{nil}",  # rpm 4.20 adds one
               *extra, spec, env=env, check=False)


@pytest.fixture(scope="module")
def built(upstream, tmp_path_factory) -> Path:
    """Build every package's dist-git head with the real rpmbuild; return the RPMS dir."""
    outdir, _ = upstream
    work = tmp_path_factory.mktemp("rpmbuild")
    home = work / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LC_ALL": "C.UTF-8"}
    top = work / "top"
    stage = work / "libgreet-stage"
    for pkg in BUILD_ORDER:
        spec = prepare_rpmbuild_tree(outdir, pkg, work)
        pkg_env = dict(env)
        if pkg == "greet":
            # Stand-in for an installed BuildRequires: libgreet-devel, unpacked from the
            # RPMs just built; gcc finds the header and the library through these.
            stage.mkdir()
            for rpm in sorted((top / "RPMS" / "x86_64").glob("libgreet*.rpm")):
                payload = subprocess.run(["rpm2archive", "-"], stdin=rpm.open("rb"),
                                         capture_output=True, check=True).stdout
                subprocess.run(["tar", "-xzf", "-", "-C", str(stage)], input=payload, check=True)
            pkg_env |= {"CPATH": f"{stage}/usr/include", "LIBRARY_PATH": f"{stage}/usr/lib64",
                        "LD_LIBRARY_PATH": f"{stage}/usr/lib64"}
        proc = rpmbuild(spec, top, pkg_env)
        assert proc.returncode == 0, f"{pkg} failed to build:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return top / "RPMS"


@pytest.fixture(scope="module")
def smoke_root(built, stage0_repo, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """An empty root filled by dnf --installroot from a repository of the built RPMs, with the C
    library and a shell from the stage-0 repository (Example Upstream builds neither)."""
    work = tmp_path_factory.mktemp("smoke")
    repo = work / "repo"
    repo.mkdir()
    for rpm in built.glob("*/*.rpm"):
        shutil.copy2(rpm, repo / rpm.name)
    run("createrepo_c", "--quiet", repo)
    home = work / "home"
    home.mkdir()
    (home / ".rpmmacros").write_text("%_dbpath /usr/lib/sysimage/rpm\n")
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LC_ALL": "C.UTF-8"}
    root = work / "root"
    proc = run("dnf", "-y", "--quiet", f"--installroot={root}", "--releasever=43",
               f"--repofrompath=example,file://{repo}", "--repo=example", "--setopt=example.priority=1",
               f"--repofrompath=stage0,{stage0_repo.url}", "--repo=stage0",
               "--setopt=reposdir=/dev/null", "--setopt=install_weak_deps=False",
               "--nogpgcheck", "--noplugins", "install",
               "filesystem", "glibc", "bash", "greet",
               "greet-data", "example-release", "libgreet-devel", env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root, env


# --------------------------------------------------------------------------- generation


def test_script_makes_bare_repos_and_lookaside(upstream):
    outdir, summary = upstream
    repos = sorted(p.name for p in (outdir / "git").iterdir())
    assert repos == sorted(f"{p}.git" for p in PACKAGES)
    assert len(repos) >= 6
    for pkg in PACKAGES:
        gitdir = outdir / "git" / f"{pkg}.git"
        assert git(gitdir, "rev-parse", "--is-bare-repository").strip() == "true"
        assert git(gitdir, "symbolic-ref", "HEAD").strip() == "refs/heads/f43"
        tree = git(gitdir, "ls-tree", "-r", "--name-only", "HEAD").split()
        assert f"{pkg}.spec" in tree
        assert not [f for f in tree if f.endswith((".tar.gz", ".tar.xz", ".tgz"))]
    assert summary["branch"] == "f43"
    assert summary["outdir"] == str(outdir)
    assert [p["name"] for p in summary["packages"]] == PACKAGES
    tarballs = sorted(p.name for p in (outdir / "lookaside").rglob("*.tar.gz") if p.is_file())
    assert tarballs == ["Greet-1.0.tar.gz", "greet-1.0.tar.gz", "greet-1.1.tar.gz", "greet-data-1.0.tar.gz",
                        "greet-report-1.0.tar.gz", "greetings-1.0.tar.gz", "libgreet-2.0.tar.gz",
                        "motd-greeter-1.0.tar.gz"]
    on_disk = json.loads((outdir / "upstream.json").read_text())
    assert on_disk == {k: v for k, v in summary.items() if k != "outdir"}


def test_greet_history_has_dated_commits(upstream):
    outdir, summary = upstream
    history = tomllib.loads((UPSTREAM / "packages" / "greet" / "history.toml").read_text())
    log = git(outdir / "git" / "greet.git", "log", "--reverse", "--format=%H|%aI|%cI|%an|%s", "f43")
    commits = [line.split("|") for line in log.splitlines()]
    assert len(commits) >= 3
    assert len(commits) == len(history["commit"])
    for (_, adate, cdate, _, subject), entry in zip(commits, history["commit"], strict=True):
        assert dt.datetime.fromisoformat(adate) == entry["date"]
        assert dt.datetime.fromisoformat(cdate) == entry["date"]
        assert subject == entry["message"].strip().splitlines()[0]
    greet = next(p for p in summary["packages"] if p["name"] == "greet")
    assert [c["commit"] for c in greet["commits"]] == [c[0] for c in commits]
    assert greet["head"] == commits[-1][0]


def test_snapshot_dates_pick_different_versions(upstream):
    """A snapshot date selects an older commit: Version, patches and sources move with it."""
    gitdir = upstream[0] / "git" / "greet.git"

    def at(before: str) -> tuple[str, str, list[str]]:
        commit = git(gitdir, "rev-list", "-1", "--first-parent", f"--before={before}", "f43").strip()
        spec = git(gitdir, "show", f"{commit}:greet.spec")
        version = re.search(r"^Version:\s*(\S+)", spec, re.M).group(1)
        files = git(gitdir, "ls-tree", "--name-only", commit).split()
        return version, git(gitdir, "show", f"{commit}:sources"), files

    v, sources, files = at("2025-02-01T00:00:00Z")
    assert v == "1.0" and "greet-1.0.tar.gz" in sources and "greet-1.0-env-name.patch" not in files
    v, sources, files = at("2025-03-01T00:00:00Z")
    assert v == "1.0" and "greet-1.0-env-name.patch" in files
    v, sources, files = at("2030-01-01T00:00:00Z")
    assert v == "1.1" and "greet-1.1.tar.gz" in sources and "greet-1.0-env-name.patch" not in files
    assert git(gitdir, "show", "f43:.gitignore").split() == ["/greet-1.0.tar.gz", "/greet-1.1.tar.gz"]


def test_every_sources_entry_matches_the_lookaside(upstream):
    outdir, _ = upstream
    checked = 0
    for pkg in PACKAGES:
        gitdir = outdir / "git" / f"{pkg}.git"
        for commit in git(gitdir, "rev-list", "f43").split():
            if "sources" not in git(gitdir, "ls-tree", "--name-only", commit).split():
                continue
            for alg, filename, digest in parse_sources(git(gitdir, "show", f"{commit}:sources")):
                assert alg == "SHA512" and len(digest) == 128
                path = lookaside_file(outdir, pkg, alg, filename, digest)
                assert hashlib.sha512(path.read_bytes()).hexdigest() == digest
                checked += 1
    assert checked >= 9  # libgreet 3, greet 4, greet-data 2


def test_tarballs_are_normalised(upstream):
    outdir, _ = upstream
    for path in (outdir / "lookaside").rglob("*.tar.gz"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        assert data[4:8] == b"\0\0\0\0"  # gzip MTIME
        assert not data[3] & 0x08  # no FNAME
        with tarfile.open(fileobj=gzip.GzipFile(fileobj=io.BytesIO(data))) as tar:
            members = tar.getmembers()
        names = [m.name for m in members]
        top = path.name.removesuffix(".tar.gz")
        assert names[0] == top and all(n == top or n.startswith(top + "/") for n in names)
        assert names == sorted(names, key=lambda n: n.split("/"))
        assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "root", "root")}
        assert len({m.mtime for m in members}) == 1
        assert {m.mode for m in members} <= {0o644, 0o755}


def test_two_runs_are_identical(upstream, upstream_again):
    (a, sa), (b, sb) = upstream, upstream_again
    for pkg in PACKAGES:
        heads = {git(d / "git" / f"{pkg}.git", "rev-parse", "f43").strip() for d in (a, b)}
        assert len(heads) == 1, pkg

    def digests(root: Path) -> dict[str, str]:
        return {str(p.relative_to(root)): hashlib.sha512(p.read_bytes()).hexdigest()
                for p in (root / "lookaside").rglob("*") if p.is_file()}

    assert digests(a) == digests(b) and len(digests(a)) == 8
    assert (a / "upstream.json").read_bytes() == (b / "upstream.json").read_bytes()
    assert {k: v for k, v in sa.items() if k != "outdir"} == {k: v for k, v in sb.items() if k != "outdir"}


def test_rerun_replaces_output_in_place(upstream_again):
    outdir, summary = upstream_again
    proc = make_upstream(outdir)
    assert proc.returncode == 0, proc.stderr
    assert "greet" in proc.stdout and "4 commits" in proc.stdout
    assert json.loads((outdir / "upstream.json").read_text())["packages"] == summary["packages"]
    assert sorted(p.name for p in outdir.parent.iterdir()) == ["out"]  # no temp dirs left


def test_branch_and_only_options(upstream, tmp_path):
    proc = make_upstream(tmp_path / "out", "--branch", "rawhide", "--only", "greet", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["branch"] == "rawhide" and [p["name"] for p in summary["packages"]] == ["greet"]
    gitdir = tmp_path / "out" / "git" / "greet.git"
    assert git(gitdir, "symbolic-ref", "HEAD").strip() == "refs/heads/rawhide"
    # The branch name is not part of a commit, so the hashes match the f43 run.
    expected = next(p for p in upstream[1]["packages"] if p["name"] == "greet")["head"]
    assert git(gitdir, "rev-parse", "HEAD").strip() == expected


def test_refuses_to_replace_a_foreign_directory(tmp_path):
    foreign = tmp_path / "precious"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    proc = make_upstream(foreign)
    assert proc.returncode == 1 and "refusing" in proc.stderr
    assert [p.name for p in foreign.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious"]


# --------------------------------------------------------------------------- specs


def head_specs(outdir: Path) -> dict[str, str]:
    return {p: git(outdir / "git" / f"{p}.git", "show", f"f43:{p}.spec") for p in PACKAGES}


def test_specs_use_the_fedora_constructs_overlays_act_on(upstream):
    specs = head_specs(upstream[0])
    text = "\n".join(specs.values())
    assert sum("Release:        %autorelease" in s for s in specs.values()) >= 2
    assert sum("%autochangelog" in s for s in specs.values()) >= 2
    assert sum(bool(re.search(r"^Release:\s+\d+%\{\?dist\}$", s, re.M)) for s in specs.values()) >= 3
    assert "%autosetup -p1" in specs["greet"]
    assert "%setup -q" in specs["libgreet"] and "%patch -P0 -p1" in specs["libgreet"]
    assert "%bcond_without tests" in specs["libgreet"] and "%if %{with tests}" in specs["libgreet"]
    for token in ("%set_build_flags", "%make_build", "%make_install", "%check", "%license",
                  "%doc", "%config(noreplace)", "BuildRequires:  libgreet-devel", "%package devel"):
        assert token in text, token
    for pkg, spec in specs.items():
        for tag in ("Name:", "Version:", "Release:", "Summary:", "License:", "URL:", "%description",
                    "%files", "%changelog"):
            assert re.search(rf"^{re.escape(tag)}", spec, re.M), (pkg, tag)


def test_bcond_turns_the_check_off(upstream, tmp_path):
    spec = tmp_path / "libgreet.spec"
    spec.write_text(head_specs(upstream[0])["libgreet"])
    with_tests = run("rpmspec", "-P", spec).stdout
    without = run("rpmspec", "-P", "--without", "tests", spec).stdout
    assert "make check" in with_tests and "make check" not in without


# --------------------------------------------------------------------------- rpmbuild


def added_lines(patch: str) -> dict[str, list[str]]:
    """The lines a unified diff adds, by target file (the path after 'b/')."""
    added: dict[str, list[str]] = {}
    target = None
    for line in patch.splitlines():
        if line.startswith("+++ "):
            target = line[4:].split("\t")[0].removeprefix("b/")
            added[target] = []
        elif target and line.startswith("+") and line[1:].strip():
            added[target].append(line[1:])
    return added


def unpacked_source(build: Path) -> Path:
    """The source tree %prep unpacked: BUILD/<dir> with rpm 4.18 (Debian 12); rpm 4.20 (Debian 13) puts it
    in BUILD/<name>-<version>-build/, beside that build's SPECPARTS and BUILDROOT."""
    (top,) = build.iterdir()
    if top.name.endswith("-build") and (top / "SPECPARTS").is_dir():
        (top,) = (p for p in top.iterdir() if p.name not in ("SPECPARTS", "BUILDROOT"))
    return top


def test_every_commit_preps_with_its_patches(upstream, tmp_path):
    """rpmbuild -bp at every dist-git commit: each tarball unpacks and each patch applies."""
    outdir, summary = upstream
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LC_ALL": "C.UTF-8"}
    applied = 0
    for n, pkg in enumerate(summary["packages"]):
        for i, commit in enumerate(pkg["commits"]):
            work = tmp_path / f"{n}-{i}"
            spec = prepare_rpmbuild_tree(outdir, pkg["name"], work, commit["commit"])
            proc = run("rpmbuild", "--nodeps", "-bp", "--define", f"_topdir {work / 'top'}",
                       "--define", f"dist {DIST}", "--define", "autorelease 1%{?dist}", spec,
                       env=env, check=False)
            assert proc.returncode == 0, f"{pkg['name']} at {commit['commit']}:\n{proc.stderr[-2000:]}"
            patches = sorted((work / "checkout" / pkg["name"]).glob("*.patch"))
            declared = re.findall(r"^Patch\d+:\s*(\S+)", spec.read_text(), re.M)
            assert sorted(declared) == [p.name for p in patches]
            for patch in patches:
                builddir = unpacked_source(work / "top" / "BUILD")
                for target, lines in added_lines(patch.read_text()).items():
                    content = (builddir / target).read_text().splitlines()
                    assert all(line in content for line in lines), (pkg["name"], patch.name, target)
                applied += 1
    assert applied == 8  # libgreet 1 + 2 + 2, greet 0 + 1 + 0 + 0, greet-data 1 + 1


def test_every_package_builds(built):
    names = {p.name for p in built.glob("*/*.rpm")}
    assert names == EXPECTED_RPMS
    srpms = {p.name for p in (built.parent / "SRPMS").glob("*.src.rpm")}
    assert len(srpms) == len(BUILD_ORDER)


def qp(rpm: Path, *what: str) -> list[str]:
    return run("rpm", "-qp", *what, rpm).stdout.splitlines()


def test_greet_requires_the_libgreet_soname(built):
    greet = built / "x86_64" / "greet-1.1-1.ex1.x86_64.rpm"
    assert "libgreet.so.1()(64bit)" in qp(greet, "--requires")
    assert "libgreet.so.1()(64bit)" in qp(built / "x86_64" / "libgreet-2.0-3.ex1.x86_64.rpm", "--provides")
    devel = built / "x86_64" / "libgreet-devel-2.0-3.ex1.x86_64.rpm"
    assert {"/usr/include/greet.h", "/usr/lib64/libgreet.so", "/usr/lib64/pkgconfig/libgreet.pc"} <= set(
        qp(devel, "--list"))
    assert "pkgconfig(libgreet) = 2.0" in qp(devel, "--provides")


def test_greet_data_is_a_noarch_script_package(built):
    data = built / "noarch" / "greet-data-1.0-1.ex1.noarch.rpm"
    assert "/bin/sh" in qp(data, "--requires")
    assert "/etc/greet/greet.conf" in qp(data, "--configfiles")


# --------------------------------------------------------------------------- runnable root


def test_installed_root_runs_greet(smoke_root):
    root, env = smoke_root
    assert run("chroot", root, "/usr/bin/greet").stdout == "Hello, world!\n"
    assert run("chroot", root, "/usr/bin/greet", "--name", "Example").stdout == "Hello, Example!\n"
    out = run("chroot", root, "/bin/sh", "-c", "GREET_NAME=Shell greet; greet --version").stdout
    assert out == "Hello, Shell!\ngreet 1.1 (libgreet 2.0)\n"
    assert run("chroot", root, "/usr/bin/greet-motd").stdout == "Hello, world!\nWelcome to Example Upstream.\n"
    out = run("chroot", root, "/bin/sh", "-c", ". /etc/os-release && echo $ID $VERSION_ID").stdout
    assert out == "example-upstream 43\n"
    assert (root / "etc" / "ld.so.cache").is_file()  # written by the stage-0 glibc's file trigger
    assert os.readlink(root / "bin") == "usr/bin" and os.readlink(root / "lib64") == "usr/lib64"
    assert (root / "tmp").stat().st_mode & 0o7777 == 0o1777
    installed = run("rpm", "--root", root, "-qa", "--qf", "%{NAME}\n", env=env).stdout.split()
    ours = {"filesystem", "greet", "greet-data", "example-release", "libgreet", "libgreet-devel"}
    assert ours <= set(installed) and {"glibc", "bash"} <= set(installed)
