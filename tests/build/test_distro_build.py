"""`trib build` on the whole example distribution in its two bootstrap stages, then `trib repo publish` and dnf
into an empty root."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from support import copy_example_distro

from tributary.build.cache import BuildCache
from tributary.build.distro import build_distribution
from tributary.build.records import Outcome, read_record
from tributary.build.scheduler import State
from tributary.config import load_project
from tributary.repo.sign import make_throwaway_key
from tributary.tools import gpg


def example(directory: Path, upstream_root: Path):
    return copy_example_distro(directory, upstream_root, lookaside=True)


def rpm_digests(output_dir: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(output_dir.glob("*rpms/*/*.rpm"))}


def bootstrap(distro) -> tuple[object, object, dict, list]:
    """Stage 1, then stage 2 (the default), as ``make demo`` does; stage 2's plan, jobs and snapshots."""
    stage1 = load_project(distro.root, extra_files=[distro.mirror, distro.root / "stage1.toml"])
    _, jobs = build_distribution(stage1, stage1.component_names, jobs=2)
    assert {job.state for job in jobs.values()} == {State.DONE}, {n: j.error for n, j in jobs.items() if j.error}
    project = load_project(distro.root, extra_files=[distro.mirror])
    snapshots: list = []
    plan, jobs = build_distribution(project, project.component_names, jobs=2, on_change=snapshots.append)
    return project, plan, jobs, snapshots


@pytest.fixture(scope="module")
def built(tmp_path_factory, example_upstream, trib_cache):
    """The example distribution bootstrapped once from clean with -j2; stage 2's order as the scheduler saw it."""
    distro = example(tmp_path_factory.mktemp("build-a"), example_upstream.root)
    project, plan, jobs, snapshots = bootstrap(distro)
    return distro, project, plan, jobs, snapshots


def test_everything_builds_in_dependency_order(built) -> None:
    _, project, plan, jobs, snapshots = built
    assert {name: job.state for name, job in jobs.items()} == dict.fromkeys(project.component_names, State.DONE)
    assert plan.graph.needs["greet"] == {"libgreet", "tribex-rpm-config"}
    for snapshot in snapshots:
        if snapshot["greet"].state == State.BUILDING:
            assert snapshot["libgreet"].state == State.DONE
    assert any(sum(job.state == State.BUILDING for job in s.values()) == 2 for s in snapshots)  # -j2 was used
    names = {p.name for p in project.output_dir.glob("rpms/*/*.rpm")}
    assert "greet-1.1-2.tribex10.x86_64.rpm" in names and not any("static" in n for n in names)
    # tribex-rpm-config turns debuginfo off, which rpm 4.20 (Debian 13) would make for greet and libgreet.
    assert not any("-debuginfo-" in n or "-debugsource-" in n for n in names)
    greet = project.output_dir / "rpms/x86_64/greet-1.1-2.tribex10.x86_64.rpm"
    requires = subprocess.run(["rpm", "-qp", "--requires", str(greet)], capture_output=True, text=True).stdout
    assert "libgreet.so.1()(64bit)" in requires


def test_stage_two_builds_with_stage_one_packages(built) -> None:
    _, project, plan, *_ = built
    assert [repo.id for repo in plan.repos] == ["tribex-stage0", "tribex-stage1"]
    root = BuildCache(project).buildroot("tribex-rpm-config")
    assert root is not None
    assert "tribex-rpm-config-1.0-1.tribex10.noarch" in root["installed"], "stage 1's rpm-config builds stage 2's"


def test_runtime_packages_are_imported_from_stage0(built) -> None:
    _, project, plan, *_ = built
    imported = {item.path.name.rsplit("-", 2)[0]: item for item in plan.imports}
    assert {"glibc", "bash"} <= set(imported)
    assert "filesystem" not in imported, "a package the distribution builds is never imported"
    assert imported["glibc"].repo == "tribex-stage0"
    assert imported["glibc"].path.parent == project.output_dir / "rpms" / "x86_64"
    record = json.loads((project.work_dir / "build-cache" / "imports.json").read_text())
    assert {Path(item["path"]).name for item in record["imported"]} == {item.path.name for item in plan.imports}
    assert all(item["path"].startswith("rpms/") for item in record["imported"])


def test_a_second_build_rebuilds_nothing(built, trib) -> None:
    distro, project, *_ = built
    before = rpm_digests(project.output_dir)
    result = trib(*distro.args("-O", "json", "build", "-a", "-j", "2"))
    assert result.code == 0, result.err
    assert {row["state"] for row in json.loads(result.out)} == {"cached"}
    assert rpm_digests(project.output_dir) == before


def test_two_clean_builds_are_byte_identical(built, tmp_path, example_upstream) -> None:
    _, project, *_ = built
    other = example(tmp_path, example_upstream.root)
    second, _, jobs, _ = bootstrap(other)
    assert {job.state for job in jobs.values()} == {State.DONE}
    assert rpm_digests(second.output_dir) == rpm_digests(project.output_dir)
    assert rpm_digests(second.output_dir / "stage1") == rpm_digests(project.output_dir / "stage1")


def test_signed_repository_installs_with_gpgcheck_and_refuses_tampering(built, trib, tmp_path) -> None:
    distro, project, *_ = built
    keyring = Path(tempfile.mkdtemp(prefix="trib-b-", dir="/tmp")) / "g"
    key = make_throwaway_key(keyring, "Tributary Example Builders", "builders@tribex.invalid")
    try:
        publish = trib(*distro.args("repo", "publish", "--sign-key", key.fingerprint, "--gnupghome", str(keyring)))
        assert publish.code == 0, publish.err
        assert trib(*distro.args("repo", "check")).code == 0
        base = project.output_dir / "repo" / "rpm-base"
        installed = dnf_install(tmp_path / "ok", base, "filesystem", "glibc", "bash", "greet")
        assert installed.returncode == 0, installed.stderr
        run = subprocess.run(["chroot", str(tmp_path / "ok" / "root"), "/usr/bin/greet"], capture_output=True, text=True)
        assert run.stdout == "Hello, Tributary!\n"  # our overlay's patch, in the binary, in the image root

        victim = next(base.rglob("greet-1.1-*.x86_64.rpm"))
        data = bytearray(victim.read_bytes())
        data[-40] ^= 0xFF
        victim.write_bytes(bytes(data))
        refused = dnf_install(tmp_path / "bad", base, "filesystem", "glibc", "bash", "greet")
        assert refused.returncode != 0
        assert not (tmp_path / "bad" / "root" / "usr/bin/greet").exists()
    finally:
        key.stop_agent()
        shutil.rmtree(keyring.parent, ignore_errors=True)


def dnf_install(work: Path, channel: Path, *packages: str) -> subprocess.CompletedProcess[str]:
    """dnf offline into an empty root, with only the channel's generated .repo file (gpgcheck on)."""
    home, root, reposdir = work / "home", work / "root", work / "repos.d"
    for directory in (home, root, reposdir):
        directory.mkdir(parents=True)
    (home / ".rpmmacros").write_text("%_dbpath /usr/lib/sysimage/rpm\n")
    (repo_file,) = channel.glob("*.repo")
    text = repo_file.read_text()
    assert "gpgcheck=1" in text and "repo_gpgcheck=1" in text
    shutil.copy(repo_file, reposdir)
    config = work / "dnf.conf"
    config.write_text("[main]\ninstall_weak_deps=False\ntsflags=nodocs\n")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(home), "LC_ALL": "C.UTF-8"}
    try:
        return subprocess.run(["dnf", "-y", f"--config={config}", f"--installroot={root}", "--releasever=1.0",
                               f"--setopt=reposdir={reposdir}", "install", *packages],
                              env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    finally:
        for keyring in root.glob("var/cache/dnf/*/pubring"):
            gpg.stop_agent(keyring)


def test_a_failed_build_skips_what_needs_it_and_shows_the_log(tmp_path, example_upstream, trib, trib_cache) -> None:
    distro = example(tmp_path, example_upstream.root)
    comp = distro.root / "base/comps/libgreet/libgreet.comp.toml"
    comp.write_text(comp.read_text() + '\n[[components.libgreet.overlays]]\ntype = "spec-prepend-lines"\n'
                    'section = "%build"\nlines = ["echo the compiler is on fire >&2", "exit 3"]\ndescription = "break it"\n')
    result = trib(*distro.args("--config-file", str(distro.root / "stage1.toml"), "-O", "json", "build", "-a", "-j", "2"))
    assert result.code == 1
    states = {row["component"]: row for row in json.loads(result.out)}
    assert states["libgreet"]["state"] == "failed"
    assert states["greet"]["state"] == "skipped" and states["greet"]["blockedBy"] == ["libgreet"]
    assert states["greet-data"]["state"] == "done" and states["filesystem"]["state"] == "done"
    assert "the compiler is on fire" in result.err  # the tail of the log
    assert (distro.root / "build/logs/stage1/libgreet.log").is_file()


def test_a_build_cycle_blocks_only_its_members_and_what_needs_them(tmp_path, example_upstream, trib,
                                                                    trib_cache) -> None:
    distro = example(tmp_path, example_upstream.root)
    for name, needs in (("egg", "chicken"), ("chicken", "egg"), ("omelette", "egg")):
        (distro.root / f"base/comps/{name}").mkdir()
        (distro.root / f"base/comps/{name}/{name}.comp.toml").write_text(
            f'[components.{name}]\nspec = {{ type = "local", path = "{name}.spec", reason = "test" }}\n')
        (distro.root / f"base/comps/{name}/{name}.spec").write_text(
            f"Name: {name}\nVersion: 1\nRelease: 1%{{?dist}}\nSummary: s\nLicense: MIT\nBuildRequires: {needs}\n"
            f"BuildArch: noarch\n\n%description\nd\n\n%files\n\n%changelog\n* Mon Jan 05 2026 A <a@b.c> - 1-1\n- x\n")
    result = trib(*distro.args("--config-file", str(distro.root / "stage1.toml"), "-O", "json", "build",
                               "egg", "omelette", "greet-data"))
    assert result.code == 1
    states = {row["component"]: row for row in json.loads(result.out)}
    assert states["egg"]["state"] == "failed" and states["chicken"]["state"] == "failed"
    assert states["omelette"]["state"] == "skipped" and states["omelette"]["blockedBy"] == ["chicken", "egg"]
    assert states["greet-data"]["state"] == "done"  # unrelated components still build
    assert result.err.count("error: build dependency cycle: chicken -> egg -> chicken") == 2  # one per member


def test_every_build_leaves_a_record_failed_and_skipped_too(tmp_path, example_upstream, trib, trib_cache) -> None:
    distro = example(tmp_path, example_upstream.root)
    comp = distro.root / "base/comps/libgreet/libgreet.comp.toml"
    comp.write_text(comp.read_text() + '\n[[components.libgreet.overlays]]\ntype = "spec-prepend-lines"\n'
                    'section = "%build"\nlines = ["exit 3"]\ndescription = "break it"\n')
    stage1 = ["--config-file", str(distro.root / "stage1.toml")]
    assert trib(*distro.args(*stage1, "build", "greet", "greet-data")).code == 1
    project = load_project(distro.root, extra_files=[distro.mirror, distro.root / "stage1.toml"])
    libgreet = read_record(project.work_dir, "libgreet")
    greet = read_record(project.work_dir, "greet")
    data = read_record(project.work_dir, "greet-data")
    assert libgreet is not None and greet is not None and data is not None
    assert libgreet.outcome == Outcome.FAILED and libgreet.log == project.log_dir / "libgreet.log"
    assert libgreet.error is not None and "exit status" in libgreet.error
    assert greet.outcome == Outcome.SKIPPED and greet.blocked_by == ("libgreet",) and greet.log is None
    assert data.outcome == Outcome.BUILT and any(path.name.startswith("greet-data-") for path in data.outputs)
    assert read_record(project.work_dir, "motd-greeter") is None  # not asked for, never built
    assert trib(*distro.args(*stage1, "build", "greet-data")).code == 0
    again = read_record(project.work_dir, "greet-data")
    assert again is not None and again.outcome == Outcome.CACHED and again.outputs == data.outputs
