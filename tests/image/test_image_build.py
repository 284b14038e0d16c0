"""Images from the example distribution: built once, published, then installed by dnf into image roots.

Everything real: the example's packages built in the sandbox, published with createrepo_c, installed
offline by dnf, read back by rpm, run under bwrap, and the OCI layout read and converted by skopeo.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest
from support import Published, copy_example_distro

from tributary.config import load_project
from tributary.image.distroless import RPM_MANIFEST_PATH
from tributary.image.errors import ConfigScriptError, ImageError
from tributary.image.manifest import Artifact, read_manifest, write_manifest
from tributary.image.oci import (
    OciResult,
    check_with_skopeo,
    write_docker_archive,
    write_oci,
)
from tributary.image.rootfs import RootfsResult, build_rootfs
from tributary.image.rpmdb import query_packages
from tributary.image.spec import ContainerConfig, ImageSpec, User
from tributary.image.testrecord import Verdict, read_test_record
from tributary.image.wsl import WslResult, write_wsl
from tributary.repo.publish import built_rpms, publish, repo_root
from tributary.repo.sign import make_throwaway_key
from tributary.tools import skopeo

LEFTOVERS = ("var/cache/dnf", "var/lib/dnf", "var/log/hawkey.log", "var/log/dnf.log", "var/log/dnf.rpm.log",
             "var/log/dnf.librepo.log", "etc/dnf", "var/cache/ldconfig/aux-cache",
             "usr/lib/sysimage/rpm/rpmdb.sqlite-shm", "usr/lib/sysimage/rpm/rpmdb.sqlite-wal")
PACKAGES = ("filesystem", "glibc", "bash", "coreutils", "greet", "greet-data", "tribex-release")
GREETING = "Hello, Tributary!\n"

# Runs inside the root: proves it has the image's name, sees its user, may chown, and has no network.
CONFIG_SH = """#!/bin/sh
set -e
echo "configuring $kiwi_iname $kiwi_iversion"
echo "$kiwi_iname" > /etc/configured-by-config-sh
touch /home/alice/.configured
chown alice:alice /home/alice/.configured
cat /proc/net/dev > /etc/network-interfaces
"""


@dataclass(frozen=True)
class Container:
    spec: ImageSpec
    out: Path
    rootfs: RootfsResult
    oci: OciResult
    docker_archive: Path
    wsl: WslResult
    manifest: Path
    leftovers: list[str]
    """Of LEFTOVERS, those in the root as build_rootfs left it (before any test ran rpm on it)."""
    stamps: set[float]
    """Every mtime in the root as build_rootfs left it."""


def container_spec(config_script: Path | None = None, **changes) -> ImageSpec:
    container = ContainerConfig(name="tribex/greeter", tag="1.0", cmd=("/usr/bin/greet",),
                                env={"GREETING_STYLE": "plain"},
                                labels={"org.opencontainers.image.url": "https://tribex.invalid/"})
    fields = {"name": "greeter", "version": "1.0", "formats": ("oci", "docker-archive", "wsl"), "packages": PACKAGES,
              "users": (User("alice"),), "config_script": config_script, "container": container}
    return ImageSpec(**(fields | changes))


def build_all(published: Published, spec: ImageSpec, work: Path) -> Container:
    """What the CLI will do: the root in the work directory, the formats under images/<name>/."""
    out = work / "images" / spec.name
    rootfs = build_rootfs(published.project, spec, [published.channel], work / "rootfs" / spec.name)
    leftovers = [name for name in LEFTOVERS if os.path.lexists(rootfs.path / name)]
    stamps = {os.lstat(os.path.join(d, name)).st_mtime
              for d, dirs, files in os.walk(rootfs.path) for name in (*dirs, *files, ".")}
    oci = write_oci(rootfs.path, spec, out, created=rootfs.source_date_epoch, packages=rootfs.packages)
    docker = write_docker_archive(oci, out / f"{spec.name}-{spec.version}.docker.tar")
    wsl = write_wsl(rootfs.path, spec, out / f"{spec.name}-{spec.version}.wsl")
    manifest = write_manifest(out, spec, rootfs, [Artifact("oci", oci.layout, oci.manifest_digest),
                                                  Artifact("docker-archive", docker), Artifact("wsl", wsl.path)])
    return Container(spec, out, rootfs, oci, docker, wsl, manifest, leftovers, stamps)


@pytest.fixture(scope="module")
def container(published, tmp_path_factory) -> Container:
    work = tmp_path_factory.mktemp("container")
    script = work / "config.sh"
    script.write_text(CONFIG_SH)
    return build_all(published, container_spec(script), work)


def bwrap_run(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bwrap", "--bind", str(root), "/", "--proc", "/proc", "--dev", "/dev", "--unshare-all",
                           *argv], capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers_beside(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(f".{path.name}."))


# --- the root -------------------------------------------------------------------------------------------


def test_the_root_runs_greet_and_keeps_its_rpmdb(container: Container, published: Published) -> None:
    root = container.rootfs.path
    assert (root / "usr/bin/greet").is_file()
    assert (root / "usr/lib/sysimage/rpm/rpmdb.sqlite").is_file()
    assert not (root / "root/.rpmdb").exists() and not (root / "var/lib/rpm").exists()
    run = bwrap_run(root, "/usr/bin/greet")
    assert run.returncode == 0, run.stderr
    assert run.stdout == GREETING

    installed = query_packages(root)  # rpm --root ROOT --dbpath /usr/lib/sysimage/rpm -qa
    assert any(name.startswith("greet-1.1-") and name.endswith(".tribex10.x86_64") for name in installed)
    assert any(name.startswith("libgreet-2.0-") for name in installed)  # pulled in as a dependency
    names = [package.name for package in container.rootfs.packages]
    assert names == sorted(names) and "gpg-pubkey" not in names
    greet = next(package for package in container.rootfs.packages if package.name == "greet")
    channel_file = published.channel / "Packages/g" / f"{greet.nevra}.rpm"
    assert greet.sha256 == sha256(channel_file)
    assert (greet.license, greet.channel) == ("MIT", "rpm-base")


def test_the_root_carries_no_dnf_leftovers_and_one_time_stamp(container: Container) -> None:
    assert container.leftovers == []
    epoch = container.rootfs.source_date_epoch
    if os.environ.get("SOURCE_DATE_EPOCH"):
        assert epoch == int(os.environ["SOURCE_DATE_EPOCH"])
    else:  # the channel's newest build time, so at least the newest of the installed packages
        assert epoch >= max(package.build_time for package in container.rootfs.packages)
    # rpm used it: each package's install time is SOURCE_DATE_EPOCH plus at most one second per package
    # installed (Debian 13's stage-0 coreutils brings more libraries, so more packages, than Debian 12's).
    packages = container.rootfs.packages
    assert {p.install_time for p in packages} <= set(range(epoch, epoch + len(packages) + 1))
    assert container.stamps == {epoch}


def test_users_and_the_config_script(container: Container) -> None:
    root = container.rootfs.path
    passwd = (root / "etc/passwd").read_text().splitlines()
    # The image's accounts come from its setup package (root, nobody); alice gets the image's shell.
    assert passwd[0].startswith("root:x:0:0:") and "alice:x:1000:1000::/home/alice:/bin/bash" in passwd
    assert "alice:x:1000:" in (root / "etc/group").read_text().splitlines()
    assert any(line.startswith("alice:!:") for line in (root / "etc/shadow").read_text().splitlines())
    assert (root / "etc/shadow").stat().st_mode & 0o777 == 0
    home = (root / "home/alice").stat()
    assert (home.st_uid, home.st_gid, home.st_mode & 0o777) == (1000, 1000, 0o700)
    assert (root / "etc/configured-by-config-sh").read_text() == "greeter\n"
    made = (root / "home/alice/.configured").stat()
    assert (made.st_uid, made.st_gid) == (1000, 1000)  # chown works: real root ids inside the sandbox
    interfaces = (root / "etc/network-interfaces").read_text()
    assert {line.split(":")[0].strip() for line in interfaces.splitlines() if ":" in line} == {"lo"}  # host has eth0
    assert not (root / "tmp/.tributary").exists()  # the script was mounted on a private /tmp


# --- OCI and docker-archive -----------------------------------------------------------------------------


def test_skopeo_reads_our_layout_as_we_wrote_it(container: Container) -> None:
    oci = container.oci
    seen = check_with_skopeo(oci)
    assert seen["Digest"] == oci.manifest_digest
    labels = seen["Labels"]
    assert labels["org.opencontainers.image.title"] == "greeter"
    assert labels["org.opencontainers.image.version"] == "1.0"
    assert labels["org.opencontainers.image.vendor"] == "Tributary Example Linux"  # the root's os-release NAME
    assert labels["org.opencontainers.image.url"] == "https://tribex.invalid/"
    assert "MIT" in labels["org.opencontainers.image.licenses"]
    assert seen["Created"] == labels["org.opencontainers.image.created"]
    assert (seen["Architecture"], seen["Os"]) == ("amd64", "linux")
    config = skopeo.inspect(oci.reference, config=True)
    assert config["config"]["Cmd"] == ["/usr/bin/greet"]
    assert "GREETING_STYLE=plain" in config["config"]["Env"]
    assert config["rootfs"]["diff_ids"] == [oci.diff_id]
    index = json.loads((oci.layout / "index.json").read_text())
    assert index["manifests"][0]["annotations"] == {"org.opencontainers.image.ref.name": "1.0"}


def test_the_layer_is_the_root(container: Container) -> None:
    blob = container.oci.layout / "blobs" / "sha256" / container.oci.layer_digest.removeprefix("sha256:")
    assert "sha256:" + sha256(blob) == container.oci.layer_digest
    data = blob.read_bytes()
    assert data[4:8] == b"\0\0\0\0"  # gzip header mtime 0
    names = subprocess.run(["tar", "-tzf", str(blob)], capture_output=True, text=True, check=True).stdout.split()
    assert "usr/bin/greet" in names and "usr/lib/sysimage/rpm/rpmdb.sqlite" in names
    assert not any(name.startswith(("/", "./")) for name in names)
    with tarfile.open(blob) as archive:
        members = {member.name: member for member in archive.getmembers()}
    assert members["usr/bin/greet"].uid == 0 and members["home/alice"].uid == 1000
    assert {member.mtime for member in members.values()} == {container.rootfs.source_date_epoch}


def test_the_docker_archive_names_the_image(container: Container) -> None:
    with tarfile.open(container.docker_archive) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
    assert manifest[0]["RepoTags"] == ["docker.io/tribex/greeter:1.0"]  # skopeo writes the full reference
    config = skopeo.inspect(f"docker-archive:{container.docker_archive}", config=True)
    assert config["config"]["Cmd"] == ["/usr/bin/greet"]
    assert config["config"]["Labels"] == container.oci.labels


# --- WSL and the manifest -------------------------------------------------------------------------------


def test_the_wsl_archive_holds_the_root_and_its_two_conf_files(container: Container) -> None:
    wsl = container.wsl
    assert wsl.path.read_bytes()[:2] == b"\x1f\x8b" and sha256(wsl.path) == wsl.sha256
    with tarfile.open(wsl.path, "r:gz") as archive:
        names = archive.getnames()
        distribution = archive.extractfile("etc/wsl-distribution.conf").read().decode()
        conf = archive.extractfile("etc/wsl.conf").read().decode()
    assert "usr/bin/greet" in names and names.index("etc/wsl-distribution.conf") < names.index("etc/wsl.conf")
    assert "[oobe]\ndefaultName = greeter\ndefaultUid = 1000\n" in distribution
    assert "[shortcut]\nenabled = true\n" in distribution
    assert conf == "[boot]\nsystemd = false\n\n[user]\ndefault = alice\n"
    assert not (container.rootfs.path / "etc/wsl.conf").exists()  # added to the archive, not the root


def test_the_manifest_lists_every_format_and_package(container: Container) -> None:
    data = json.loads(container.manifest.read_text())
    formats = {entry["format"]: entry for entry in data["formats"]}
    assert list(formats) == ["oci", "docker-archive", "wsl"]
    assert formats["wsl"]["file"] == "greeter-1.0.wsl" and formats["wsl"]["sha256"] == container.wsl.sha256
    assert formats["docker-archive"]["sha256"] == sha256(container.docker_archive)
    assert formats["docker-archive"]["size"] == container.docker_archive.stat().st_size
    assert formats["oci"]["digest"] == container.oci.manifest_digest
    packages = {entry["nevra"]: entry for entry in data["packages"]}
    ours = next(p for p in container.rootfs.packages if p.name == "greet")
    assert packages[ours.nevra]["sha256"] == ours.sha256 and len(ours.sha256) == 64
    assert data["sourceDateEpoch"] == container.rootfs.source_date_epoch


def test_two_builds_give_the_same_image(container: Container, published: Published, tmp_path: Path) -> None:
    script = tmp_path / "config.sh"
    script.write_text(CONFIG_SH)
    again = build_all(published, container_spec(script), tmp_path)
    assert again.oci.manifest_digest == container.oci.manifest_digest
    assert again.wsl.path.read_bytes() == container.wsl.path.read_bytes()
    assert sha256(again.docker_archive) == sha256(container.docker_archive)


# --- distroless -----------------------------------------------------------------------------------------


def test_distroless_has_no_shell_and_still_lists_its_packages(published: Published, tmp_path: Path) -> None:
    spec = container_spec(name="greeter-distroless", users=(), distroless=True,
                          packages=tuple(p for p in PACKAGES if p != "coreutils"))
    result = build_rootfs(published.project, spec, [published.channel], tmp_path / "root")
    root = result.path
    assert result.removed == ("bash",)
    for gone in ("usr/bin/sh", "usr/bin/bash", "usr/bin/ls", "usr/bin/cat"):
        assert not os.path.lexists(root / gone), gone
    assert (root / "usr/lib/sysimage/rpm/rpmdb.sqlite").is_file()
    home = tmp_path / "home"
    home.mkdir()
    (home / ".rpmmacros").write_text("%_dbpath /usr/lib/sysimage/rpm\n")
    installed = subprocess.run(["rpm", "--root", str(root), "-qa"], env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
                               capture_output=True, text=True, check=True).stdout.split()
    assert any(name.startswith("greet-1.1-") for name in installed)
    assert not any(name.startswith("bash-") for name in installed)
    lines = (root / RPM_MANIFEST_PATH).read_text().splitlines()
    greet = next(line.split("\t") for line in lines if line.startswith("greet\t"))
    assert len(greet) == 10
    ours = next(p for p in result.packages if p.name == "greet")
    assert greet[1] == f"1.1-{ours.release}" and greet[7] == "x86_64" and greet[9] == f"greet-1.1-{ours.release}.src.rpm"
    assert greet[2] == str(ours.install_time) and greet[5] == "(none)" and greet[8] == "0"
    assert sorted(line.split("\t")[0] for line in lines) == sorted(p.name for p in result.packages)
    run = bwrap_run(root, "/usr/bin/greet")
    assert run.stdout == GREETING  # what the image is for still works
    assert bwrap_run(root, "/bin/sh", "-c", "true").returncode != 0


# --- failures -------------------------------------------------------------------------------------------


def test_a_failing_config_script_stops_the_build_with_its_output(published: Published, tmp_path: Path) -> None:
    script = tmp_path / "config.sh"
    script.write_text("#!/bin/sh\necho preparing the image\necho the frobnicator is missing >&2\nexit 3\n")
    dest = tmp_path / "out" / "root"
    with pytest.raises(ConfigScriptError) as caught:
        build_rootfs(published.project, container_spec(script), [published.channel], dest)
    message = str(caught.value)
    assert message.startswith("image 'greeter': configuration script config.sh failed with exit status 3")
    assert "preparing the image" in message and "the frobnicator is missing" in message
    assert caught.value.exit_code == 1
    assert not dest.exists() and leftovers_beside(dest) == []


def test_a_missing_package_is_one_line_naming_the_channels(published: Published, tmp_path: Path) -> None:
    spec = container_spec(packages=(*PACKAGES, "no-such-package"))
    dest = tmp_path / "root"
    with pytest.raises(ImageError) as caught:
        build_rootfs(published.project, spec, [published.channel], dest)
    assert str(caught.value) == "image 'greeter': no package provides 'no-such-package' in channels rpm-base"
    assert not dest.exists() and leftovers_beside(dest) == []


# --- a signed channel -----------------------------------------------------------------------------------


def test_a_signed_channel_is_installed_with_its_signatures_checked(published: Published, tmp_path: Path,
                                                                   example_upstream) -> None:
    """The same RPMs in a second project, published signed: dnf checks packages and metadata on the way in."""
    other = copy_example_distro(tmp_path, example_upstream.root, git_repository=False)
    project = load_project(other.root, extra_files=[other.mirror])
    for kind in ("rpms", "srpms"):
        shutil.copytree(published.project.output_dir / kind, project.output_dir / kind)
    imports = "build-cache/imports.json"  # what the build imported (glibc, bash) is published too
    (project.work_dir / imports).parent.mkdir(parents=True)
    shutil.copy(published.project.work_dir / imports, project.work_dir / imports)
    keyring = Path(tempfile.mkdtemp(prefix="trib-i-", dir="/tmp")) / "g"
    key = make_throwaway_key(keyring, "Tributary Image Test", "images@tribex.invalid")
    try:
        publish(project, built_rpms(project), signing=key)
        channel = repo_root(project) / "rpm-base"
        repo_text = next(channel.glob("*.repo")).read_text()
        assert "gpgcheck=1" in repo_text and "repo_gpgcheck=1" in repo_text
        spec = container_spec(users=())
        result = build_rootfs(project, spec, [channel], tmp_path / "root")
        assert f"gpg-pubkey-{key.key_id}" in " ".join(query_packages(result.path))  # imported by dnf's gpgcheck
        assert bwrap_run(result.path, "/usr/bin/greet").stdout == GREETING
        greet = next(p for p in result.packages if p.name == "greet")
        victim = channel / "Packages/g" / f"{greet.nevra}.rpm"
        assert greet.sha256 == sha256(victim)  # the signed copy

        data = bytearray(victim.read_bytes())
        data[-40] ^= 0xFF
        victim.write_bytes(bytes(data))
        with pytest.raises(ImageError) as caught:
            build_rootfs(project, spec, [channel], tmp_path / "tampered")
        assert str(caught.value).startswith("image 'greeter': dnf install failed:")
        assert not (tmp_path / "tampered").exists()
    finally:
        key.stop_agent()
        shutil.rmtree(keyring.parent, ignore_errors=True)


def test_the_cli_builds_and_tests_the_example_images(published: Published, trib) -> None:
    """`trib image build` and `trib image test` on the example's KIWI and TOML descriptions."""
    project = published.project
    mirror = project.files[-1].path  # the --config-file the fixture loaded
    args = ["-C", str(project.root), "--config-file", str(mirror)]
    for name in ("container-distroless", "wsl"):
        built = trib(*args, "-O", "json", "image", "build", name)
        assert built.code == 0, built.err
        assert (project.output_dir / "images" / name / "manifest.json").is_file()
        junit = project.output_dir / f"{name}-junit.xml"
        tested = trib(*args, "-O", "json", "image", "test", name, "--junit-xml", str(junit))
        assert tested.code == 0, tested.out + tested.err
        rows = json.loads(tested.out)
        checks = {row["check"]: row for row in rows}
        # azldev's --junit-xml: one case per check (of each format, named by it when there are several)
        cases = ElementTree.parse(junit).getroot().findall("testcase")
        several = len({row["format"] for row in rows}) > 1
        assert [case.get("name") for case in cases] == [f"{row['format']}: {row['check']}" if several else row["check"]
                                                         for row in rows]
        assert len(cases) == len(rows) and all(case.find("failure") is None for case in cases)
        if name == "container-distroless":
            assert checks["container command runs"]["detail"].endswith("Hello, Tributary!")
            assert checks["skopeo agrees with manifest.json"]["ok"]
        else:
            assert checks["wsl configuration files"]["ok"]
        # The verdict is kept beside the manifest, naming the build it tested, one entry per format.
        out_dir = project.output_dir / "images" / name
        record = read_test_record(out_dir)
        assert record is not None and record.image == name and record.verdict is Verdict.PASSED
        assert record.manifest_sha256 == hashlib.sha256((out_dir / "manifest.json").read_bytes()).hexdigest()
        assert [test.format for test in record.formats] == [o.format for o in read_manifest(out_dir, name).outputs]
        assert {check.check for test in record.formats for check in test.checks} == set(checks)
        assert all(test.seconds > 0 for test in record.formats)
    unknown = trib(*args, "image", "build", "wsl", "--format", "vmdk")
    assert unknown.code == 2 and "unknown image format 'vmdk'" in unknown.err
