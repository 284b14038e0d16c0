"""Fixtures of the repository tests: tiny RPMs built with the real rpmbuild, a throwaway signing key
in a short GNUPGHOME, a project with publish channels, and dnf run offline into an empty root."""

from __future__ import annotations

import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from tributary.config import load_project
from tributary.config.project import Project

BUILD_TIME = 1767225600  # 2026-01-01T00:00:00Z, the build time of every test RPM

# hello needs libhello; hello-devel goes to the sdk channel through a package group; hello-debuginfo to
# the debuginfo channel the component names; hello-tools is kept out of every repository ("none").
HELLO_SPEC = """
    Name: hello
    Version: 1.0
    Release: 1
    Summary: Says hello
    License: MIT
    BuildArch: noarch
    BuildRequires: a-build-tool-nobody-publishes
    Requires: libhello >= 1.0
    %description
    A greeting in a file.
    %package -n libhello
    Summary: The greeting library
    %description -n libhello
    Data hello reads.
    %package devel
    Summary: Development files of hello
    Requires: hello = %{version}-%{release}
    %description devel
    Headers.
    %package debuginfo
    Summary: Debug information of hello
    %description debuginfo
    Debug data.
    %package tools
    Summary: Tools nobody should get
    %description tools
    Not published.
    %install
    mkdir -p %{buildroot}/usr/share/hello %{buildroot}/usr/share/libhello %{buildroot}/usr/include %{buildroot}/usr/lib/debug
    echo "Hello from a tributary repository" > %{buildroot}/usr/share/hello/greeting
    echo data > %{buildroot}/usr/share/libhello/data
    echo header > %{buildroot}/usr/include/hello.h
    echo debug > %{buildroot}/usr/lib/debug/hello.debug
    echo tool > %{buildroot}/usr/share/hello/tool
    %files
    /usr/share/hello/greeting
    %files -n libhello
    %dir /usr/share/libhello
    /usr/share/libhello/data
    %files devel
    /usr/include/hello.h
    %files debuginfo
    /usr/lib/debug/hello.debug
    %files tools
    /usr/share/hello/tool
    """

# Each subpackage of needy has requirements to check closure with, met and unmet.
NEEDY_SPEC = """
    Name: needy
    Version: 2.0
    Release: 3
    Summary: Requirements to check
    License: MIT
    BuildArch: noarch
    Requires: libmissing.so.1
    Requires: libhello >= 2.0
    Requires: hello
    %description
    Needs things.
    %package files
    Summary: File requirements
    Requires: /usr/share/libhello/data
    Requires: /usr/share/libhello
    Requires: /usr/share/nowhere
    %description files
    Files.
    %package rich
    Summary: Rich dependencies
    Requires: (libhello and hello >= 1.0)
    Requires: (frobnicate or greeting-absent)
    Requires: (libhello if hello)
    Requires: (absent-thing if hello)
    Requires: (absent-thing if nothing-offers-this)
    Requires: (hello-devel with hello-devel = 1.0-1)
    Requires: (hello without libhello)
    Requires: (hello with libhello)
    %description rich
    Rich.
    %package versions
    Summary: Versioned requirements
    Requires: libhello = 1.0-1
    Requires: libhello < 1.0
    Requires: needy-files = 2.0
    Requires: needy-files > 2.0-3
    %description versions
    Versions.
    %files
    %files files
    %files rich
    %files versions
    """

ARCHLIB_SPEC = """
    Name: archlib
    Version: 1
    Release: 1
    Summary: Provides archcap, for one architecture
    License: MIT
    Provides: archcap
    %description
    Arch.
    %files
    """

ARCHAPP_SPEC = """
    Name: archapp
    Version: 1
    Release: 1
    Summary: Needs archcap
    License: MIT
    Requires: archcap
    %description
    Arch.
    %files
    """

PROJECT = {
    "azldev.toml": """
        [project]
        description = "Repository test distribution"
        default-distro = { name = "tribex", version = "1.0" }
        [distros.tribex]
        default-version = "1.0"
        [distros.tribex.versions."1.0"]
        release-ver = "1.0"
        [default-package-config.publish]
        rpm-channel = "rpm-base"
        [package-groups.sdk-packages]
        packages = ["hello-devel"]
        default-package-config.publish.rpm-channel = "rpm-sdk"
        [components.hello]
        publish = { debuginfo-channel = "rpm-debuginfo", srpm-channel = "srpm" }
        packages.hello-tools.publish.rpm-channel = "none"
        [components.needy]
        """,
}


@dataclass(frozen=True)
class Rpms:
    """The built test RPMs by name (``hello``, ``libhello``, ``needy-rich``, ``archlib.aarch64``...)."""

    files: dict[str, Path]

    def __getitem__(self, name: str) -> Path:
        return self.files[name]

    def pick(self, *names: str) -> list[Path]:
        return [self.files[name] for name in names]


def _rpmbuild(topdir: Path, spec_text: str, name: str, *extra: str) -> None:
    spec = topdir / f"{name}.spec"
    spec.write_text(textwrap.dedent(spec_text).lstrip())
    env = {"PATH": "/usr/bin:/bin", "HOME": str(topdir), "SOURCE_DATE_EPOCH": str(BUILD_TIME), "LC_ALL": "C"}
    command = ["rpmbuild", "--quiet", "--nodeps", "--define", f"_topdir {topdir}",
               "--define", "use_source_date_epoch_as_buildtime 1", "--define", "_buildhost build.tribex.invalid",
               *extra, "-ba" if name == "hello" else "-bb", str(spec)]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="session")
def rpms(tmp_path_factory: pytest.TempPathFactory) -> Rpms:
    """Every test RPM, built once per session with the real rpmbuild (read-only: copy to change one)."""
    topdir = tmp_path_factory.mktemp("rpmbuild")
    _rpmbuild(topdir, HELLO_SPEC, "hello")
    _rpmbuild(topdir, NEEDY_SPEC, "needy")
    _rpmbuild(topdir, ARCHLIB_SPEC, "archlib", "--target", "aarch64")
    _rpmbuild(topdir, ARCHAPP_SPEC, "archapp", "--target", "x86_64")
    files: dict[str, Path] = {}
    for path in sorted((topdir / "RPMS").rglob("*.rpm")):
        name = path.name.rsplit("-", 2)[0]
        arch = path.name.rsplit(".", 2)[1]
        files[name if arch == "noarch" else f"{name}.{arch}"] = path
    files["hello.src"] = next((topdir / "SRPMS").glob("hello-*.src.rpm"))
    for path in files.values():
        path.chmod(0o444)
    return Rpms(files)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """The test distribution: rpm-base by default, rpm-sdk for hello-devel, hello-tools unpublished.

    SOURCE_DATE_EPOCH is cleared: publishing dates the metadata by the RPMs' build time then.
    """
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    root = tmp_path / "proj"
    for relative, text in PROJECT.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(textwrap.dedent(text).lstrip())
    return load_project(root)
