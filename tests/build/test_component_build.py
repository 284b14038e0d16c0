"""Building one component for real: rpmbuild in bubblewrap, build dependencies installed by dnf.

Every build here runs the real rpmbuild inside the real sandbox; nothing is mocked. Builds are
module-scoped where several tests read the same packages.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import subprocess
import tarfile
import textwrap
from pathlib import Path

import pytest
import rpm
from support import copy_example_distro

from tributary.build.buildroot import HOST_STUB_NAME, host_capabilities
from tributary.build.component import BuildError, BuildOutputs, build_component
from tributary.build.macros import STATIC_MACROS, dist_tag, distro_macros, write_macros
from tributary.build.requires import (
    HOST_TOOLCHAIN,
    MissingBuildRequirement,
    build_requires,
    provides,
    split_build_requires,
)
from tributary.build.sandbox import Sandbox
from tributary.config import Project, load_project
from tributary.errors import ConfigError, TribError
from tributary.render.prepare import prepare_sources

DIST = ".tribex10"

def make_project(directory: Path, upstream_root: Path, extra: dict[str, str] | None = None) -> Project:
    """A copy of the example distribution reading the test upstream, plus ``extra`` files."""
    distro = copy_example_distro(directory, upstream_root, git_repository=True, lookaside=True)
    for relative, text in (extra or {}).items():
        path = distro.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return load_project(distro.root, extra_files=[distro.mirror])


def local_component(name: str, build_script: str, build_requires: str = "") -> dict[str, str]:
    """Files of a local-spec component whose %build runs ``build_script``."""
    spec = textwrap.dedent("""\
        Name:           {name}
        Version:        1.0
        Release:        1%{{?dist}}
        Summary:        Test package
        License:        MIT
        BuildArch:      noarch
        {requires}

        %description
        Test package.

        %build
        {script}

        %install
        mkdir -p %{{buildroot}}%{{_datadir}}/{name}
        echo built > %{{buildroot}}%{{_datadir}}/{name}/built

        %files
        %{{_datadir}}/{name}

        %changelog
        * Mon Jan 05 2026 Test <test@tribex.invalid> - 1.0-1
        - Test
        """).format(name=name, script=build_script, requires=build_requires)
    comp = (f'[components.{name}]\nspec = {{ type = "local", path = "{name}.spec", reason = "test" }}\n'
            'release = { calculation = "manual" }\n')
    return {f"base/comps/{name}/{name}.comp.toml": comp, f"base/comps/{name}/{name}.spec": spec}


def query(path: Path, *args: str) -> list[str]:
    return subprocess.run(["rpm", "-qp", *args, str(path)], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extract(rpm_path: Path, member: str) -> bytes:
    """One file of an RPM's payload (rpm2archive gives a tar.gz; there is no cpio here)."""
    archive = subprocess.run(["rpm2archive", "-"], stdin=rpm_path.open("rb"), capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return tar.extractfile(f".{member}").read()


# --------------------------------------------------------------------------- module-scoped builds


@pytest.fixture(scope="module")
def project(example_upstream, tmp_path_factory) -> Project:
    return make_project(tmp_path_factory.mktemp("build-a"), example_upstream.root)


@pytest.fixture(scope="module")
def libgreet(project):
    return build_component(project, project.resolve("libgreet"), repo_of_built=None,
                           dest=BuildOutputs.for_project(project), log_dir=project.log_dir)


@pytest.fixture(scope="module")
def built_repo(libgreet, tmp_path_factory) -> Path:
    """A repository of libgreet's RPMs, as the graph scheduler would publish between builds."""
    repo = tmp_path_factory.mktemp("built-repo")
    for path in libgreet.rpms:
        shutil.copy2(path, repo / path.name)
    subprocess.run(["createrepo_c", "--quiet", str(repo)], check=True)
    return repo


@pytest.fixture(scope="module")
def greet(project, built_repo):
    return build_component(project, project.resolve("greet"), repo_of_built=built_repo,
                           dest=BuildOutputs.for_project(project), log_dir=project.log_dir)


# --------------------------------------------------------------------------- macros


def test_dist_tag_rule() -> None:
    assert dist_tag("tribex", "1.0") == ".tribex10"
    assert dist_tag("Azure-Linux", "4.0") == ".azurelinux40"
    with pytest.raises(ConfigError):
        dist_tag("-", "1.0")


def test_distro_macros_come_from_the_configuration(project, tmp_path) -> None:
    assert distro_macros(project) == {"dist": DIST, "vendor": "Tributary Example Linux",
                                      "distribution": "Tributary Example Linux 1.0"}
    files = write_macros(project, tmp_path, extra={"_tributary_config_dir": "/tributary"})
    args = [arg for path in files for arg in ("--load", str(path))]
    out = subprocess.run(["rpm", *args, "--eval", "%{dist}|%{_buildhost}|%{_binary_payload}|%{__gpg}",
                          "--eval", "%{build_cflags}", "--eval", "%{build_ldflags}"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == f"{DIST}|build.tributary.invalid|w19.zstdio|/usr/bin/gpg"
    for flag in ("-fstack-protector-strong", "-D_FORTIFY_SOURCE=3", "-fstack-clash-protection", "-fcf-protection",
                 "-O2", "-specs=/tributary/hardened-cc1.specs"):
        assert flag in out[1]
    assert "-Wl,-z,relro" in out[2] and "-Wl,-z,now" in out[2] and "hardened-ld.specs" in out[2]


# --------------------------------------------------------------------------- spec parsing


def test_build_requires_and_provides_through_rpm(project, tmp_path) -> None:
    macros = write_macros(project, tmp_path / "macros")
    sources = tmp_path / "libgreet"
    prepare_sources(project, project.resolve("libgreet"), sources)
    assert build_requires(sources / "libgreet.spec", macros) == ["gcc", "make"]
    packages = provides(sources / "libgreet.spec", macros)
    assert sorted(packages) == ["libgreet", "libgreet-devel"]  # the -static subpackage is removed by overlay
    assert f"libgreet = 2.0-3{DIST}" in packages["libgreet"]
    assert f"libgreet-devel(x86-64) = 2.0-3{DIST}" in packages["libgreet-devel"]
    # libgreet.azl.macros defined %tribex_hardening while parsing; nothing of it is left behind.
    assert rpm.expandMacro("%{?tribex_hardening}%{?dist}%{?name}") == ""
    greet_sources = tmp_path / "greet"
    prepare_sources(project, project.resolve("greet"), greet_sources)
    assert build_requires(greet_sources / "greet.spec", macros) == ["gcc", "libgreet-devel", "make"]
    assert f"hello = 1.1-2{DIST}" in provides(greet_sources / "greet.spec", macros)["greet"]
    # Without our macros there is no dist tag: the parse really starts from rpm's defaults.
    assert "libgreet = 2.0-3" in provides(sources / "libgreet.spec")["libgreet"]


def test_split_build_requires() -> None:
    host, distro = split_build_requires(["gcc", "make >= 4.0", "libgreet-devel >= 2.0", "(foo or bar)", "gcc",
                                         "pkgconfig(libgreet)"])
    assert host == ["gcc", "make >= 4.0"]
    assert distro == ["libgreet-devel >= 2.0", "(foo or bar)", "pkgconfig(libgreet)"]
    assert {"gcc", "make", "/bin/sh", "coreutils"} <= set(HOST_TOOLCHAIN)


# --------------------------------------------------------------------------- real builds


def test_libgreet_needs_only_the_host(project, libgreet) -> None:
    names = sorted(path.name for path in libgreet.rpms)
    assert names == [f"libgreet-2.0-3{DIST}.x86_64.rpm", f"libgreet-devel-2.0-3{DIST}.x86_64.rpm"]
    assert all(path.parent == project.output_dir / "rpms" / "x86_64" for path in libgreet.rpms)
    assert libgreet.srpm == project.output_dir / "srpms" / f"libgreet-2.0-3{DIST}.src.rpm"
    assert libgreet.srpm.is_file()
    assert (libgreet.from_host, libgreet.from_distro) == (("gcc", "make"), ())
    assert libgreet.log == project.log_dir / "libgreet.log" and "make check" in libgreet.log.read_text()
    identity = query(libgreet.rpms[0], "--qf", "%{VENDOR}|%{DISTRIBUTION}|%{BUILDHOST}|%{PAYLOADCOMPRESSOR}")
    assert identity == ["Tributary Example Linux|Tributary Example Linux 1.0|build.tributary.invalid|zstd"]
    assert "libgreet.so.1()(64bit)" in libgreet.provides["libgreet"]
    assert "/usr/share/licenses/libgreet/LICENSE" in query(libgreet.rpms[0], "--list")  # %_docdir_fmt
    assert not list((project.work_dir / "builds").iterdir())  # scratch removed after success


def test_greet_takes_libgreet_devel_from_the_built_repo(greet) -> None:
    (package,) = greet.rpms
    assert package.name == f"greet-1.1-2{DIST}.x86_64.rpm"
    assert greet.from_distro == ("libgreet-devel",) and set(greet.from_host) == {"gcc", "make"}
    assert "libgreet.so.1()(64bit)" in query(package, "--requires")
    assert "/usr/share/man/man1/greet.1.gz" in query(package, "--list")  # brp-compress ran (under bash)
    assert f"hello = 1.1-2{DIST}" in greet.provides["greet"]
    log = greet.log.read_text()
    assert HOST_STUB_NAME in log and "libgreet-devel" in log  # dnf's transaction is in the log
    assert "Hello, Tributary!" in log  # %check ran the program against /deps' libgreet.so.1


def test_hardening_flags_reached_the_compiler(greet, tmp_path) -> None:
    binary = tmp_path / "greet"
    binary.write_bytes(extract(greet.rpms[0], "/usr/bin/greet"))

    def readelf(*args: str) -> str:
        return subprocess.run(["readelf", "-W", *args, str(binary)], capture_output=True, text=True, check=True).stdout

    assert "DYN (Position-Independent Executable file)" in readelf("-h")
    dynamic = readelf("-d")
    assert "BIND_NOW" in dynamic and "PIE" in dynamic
    assert "GNU_RELRO" in readelf("-l")
    symbols = readelf("--dyn-syms")
    assert "__stack_chk_fail" in symbols
    assert "_chk@" in symbols.replace("__stack_chk_fail@", "")  # a FORTIFY_SOURCE checked function


def test_two_clean_builds_are_byte_identical(libgreet, example_upstream, tmp_path) -> None:
    other = make_project(tmp_path, example_upstream.root)
    assert other.work_dir != libgreet.log.parent.parent / "work"
    again = build_component(other, other.resolve("libgreet"))
    assert [path.name for path in again.rpms] == [path.name for path in libgreet.rpms]
    assert [sha256(path) for path in again.rpms] == [sha256(path) for path in libgreet.rpms]
    assert sha256(again.srpm) == sha256(libgreet.srpm)


def test_bootstrap_and_release_packages(project) -> None:
    built = {}
    for name in ("filesystem", "glibc-bootstrap", "busybox-bootstrap", "tribex-release"):
        result = build_component(project, project.resolve(name))
        built |= {path.name: path for path in result.rpms}
    rpms = project.output_dir / "rpms"
    assert set(built) == {f"filesystem-1.0-1{DIST}.x86_64.rpm", f"glibc-bootstrap-2.36-1{DIST}.x86_64.rpm",
                          f"busybox-bootstrap-1.35.0-1{DIST}.x86_64.rpm", f"tribex-release-1.0-2{DIST}.noarch.rpm"}
    assert built[f"tribex-release-1.0-2{DIST}.noarch.rpm"].parent == rpms / "noarch"
    glibc = built[f"glibc-bootstrap-2.36-1{DIST}.x86_64.rpm"]
    assert {"rtld(GNU_HASH)", "libc.so.6()(64bit)"} <= set(query(glibc, "--provides"))
    # The host's files, copied byte for byte out of the sandbox's read-only /usr.
    host_libc = Path("/usr/lib/x86_64-linux-gnu/libc.so.6").read_bytes()
    assert extract(glibc, "/usr/lib/x86_64-linux-gnu/libc.so.6") == host_libc
    busybox = built[f"busybox-bootstrap-1.35.0-1{DIST}.x86_64.rpm"]
    assert "/bin/sh" in query(busybox, "--provides")
    files = query(busybox, "--list")
    assert "/usr/bin/sh" in files and "/usr/bin/vi" not in files  # the overlay dropped vi
    assert "/lib64" in query(built[f"filesystem-1.0-1{DIST}.x86_64.rpm"], "--list")


# --------------------------------------------------------------------------- the sandbox and failures


def test_sandbox_is_unprivileged_and_hides_root_only_files(tmp_path) -> None:
    build, config = tmp_path / "build", tmp_path / "config"
    build.mkdir()
    config.mkdir()
    log = tmp_path / "log"
    with log.open("wb") as handle:
        status = Sandbox(build, config).run(
            ["sh", "-c", "id -u; id -g; pwd; echo $HOME; cat /etc/shadow || echo hidden; touch /usr/x || echo ro"],
            handle)
    assert status == 0
    uid, gid, cwd, home, *rest = log.read_text().splitlines()
    assert (uid, gid, cwd, home) == ("65534", "65534", "/build", "/build/home")
    assert rest[0] == "cat: /etc/shadow: Permission denied" and rest[1] == "hidden"
    assert rest[-1] == "ro" and not (Path("/usr") / "x").exists()


def test_network_is_unreachable_inside(example_upstream, tmp_path) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        # The listener works from the host...
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            listener.setblocking(True)
            listener.accept()[0].close()
            listener.setblocking(False)
        script = f"bash -c 'echo hello > /dev/tcp/127.0.0.1/{port}'"
        project = make_project(tmp_path, example_upstream.root, local_component("netprobe", script))
        with pytest.raises(BuildError) as caught:
            build_component(project, project.resolve("netprobe"))
        # ...but not from inside the sandbox: the build failed and nothing connected.
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
    assert "/dev/tcp/127.0.0.1" in str(caught.value)
    assert "unreachable" in str(caught.value).lower() or "refused" in str(caught.value).lower()


def test_a_failing_build_ends_its_error_with_the_log(example_upstream, tmp_path) -> None:
    script = "echo 'compiling the unbuildable'\necho 'the last words of a failing build' >&2\nexit 3"
    project = make_project(tmp_path, example_upstream.root, local_component("broken", script))
    with pytest.raises(BuildError) as caught:
        build_component(project, project.resolve("broken"))
    error = caught.value
    log = project.log_dir / "broken.log"
    assert error.log == log and log.is_file()
    message = str(error)
    assert message.startswith("component broken: rpmbuild --rebuild failed with exit status 1")
    assert "RPM build errors:" in message and "the last words of a failing build" in message
    log_lines = log.read_text().splitlines()
    assert message.splitlines()[-len(error.tail):] == log_lines[-30:] == error.tail
    assert error.exit_code == 1
    assert len(list((project.work_dir / "builds").iterdir())) == 1  # kept for inspection
    assert not list(project.output_dir.glob("**/*.rpm"))


def test_a_build_requirement_nobody_provides(example_upstream, built_repo, tmp_path) -> None:
    files = local_component("needy", "true", "BuildRequires:  make\nBuildRequires:  libnothing-devel >= 1.0")
    project = make_project(tmp_path, example_upstream.root, files)
    component = project.resolve("needy")
    with pytest.raises(MissingBuildRequirement) as caught:
        build_component(project, component, repo_of_built=built_repo)
    assert caught.value.capabilities == ["libnothing-devel >= 1.0"]
    assert str(caught.value).startswith("component needy: BuildRequires 'libnothing-devel >= 1.0' is provided neither")
    with pytest.raises(MissingBuildRequirement, match="no repository of built packages"):
        build_component(project, component, repo_of_built=None)
    assert "libnothing-devel" in (project.log_dir / "needy.log").read_text()


def test_host_stand_in_provides_the_c_runtime() -> None:
    capabilities = set(host_capabilities())
    assert {"rtld(GNU_HASH)", "libc.so.6()(64bit)", "/bin/sh", "gcc"} <= capabilities
    assert any(c.startswith("libc.so.6(GLIBC_2.34)") for c in capabilities)


def test_mock_backend_needs_mock(project) -> None:
    with pytest.raises(TribError, match="mock is not installed" if shutil.which("mock") is None else "not implemented"):
        build_component(project, project.resolve("libgreet"), backend="mock")
    assert STATIC_MACROS.is_file() and os.access(STATIC_MACROS, os.R_OK)
