"""``trib build --backend mock``: the command lines given to mock.

mock does not exist on Debian, so a stand-in ``mock`` on PATH records its arguments and hands back
packages made beforehand with the real rpmbuild; everything else (render, order, cache, outputs) is
tributary's real code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tributary.build.distro import Backend, build_distribution
from tributary.build.scheduler import State
from tributary.config import load_project
from tributary.errors import TribError
from tributary.tools.createrepo import index_directory

STAND_IN = '''#!{python}
"""A stand-in for mock: records its arguments, copies the packages made for it into --resultdir."""
import json, os, shutil, sys
args = sys.argv[1:]
with open({record!r}, "a") as record:
    record.write(json.dumps(args) + "\\n")
result = args[args.index("--resultdir") + 1]
os.makedirs(result, exist_ok=True)
kind = "srpm" if "--buildsrpm" in args else "rpm"
spec = args[args.index("--spec") + 1] if "--buildsrpm" in args else args[args.index("--rebuild") + 1]
name = os.path.basename(spec).split("-1.0")[0].split(".spec")[0]
ready = os.path.join({packages!r}, name, kind)
for file in os.listdir(ready):
    shutil.copy(os.path.join(ready, file), result)
print("mock stand-in:", " ".join(args))
'''

SPEC = """\
Name:           {name}
Version:        1.0
Release:        1%{{?dist}}
Summary:        Test package
License:        MIT
BuildArch:      noarch
{requires}

%description
Test package.

%install
mkdir -p %{{buildroot}}%{{_datadir}}/{name}

%check
true

%files
%{{_datadir}}/{name}

%changelog
* Mon Jan 05 2026 Test <test@tribex.invalid> - 1.0-1
- Test
"""


@pytest.fixture
def project_with_mock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "proj"
    repo = tmp_path / "repo"
    repo.mkdir()
    index_directory(repo)
    files = {
        "azldev.toml": """
            [project]
            default-distro = { name = "ex", version = "1" }
            [distros.ex.versions."1"]
            release-ver = "1"
            mock-config = "mock/ex-1.cfg"
            [components.first]
            spec = { type = "local", path = "first/first.spec", reason = "test" }
            release = { calculation = "manual" }
            [components.second]
            spec = { type = "local", path = "second/second.spec", reason = "test" }
            release = { calculation = "manual" }
            build = { check = { skip = true, skip_reason = "a test of --nocheck" } }
            """,
        "mock/ex-1.cfg": f"""
            config_opts['root'] = 'ex-1-{{{{ target_arch }}}}'
            config_opts['macros']['%dist'] = '.ex1'
            config_opts['chroot_setup_cmd'] = 'install bash'
            config_opts['dnf.conf'] = '[local]\\nbaseurl={repo.as_uri()}\\n'
            """,
        "first/first.spec": SPEC.format(name="first", requires=""),
        "second/second.spec": SPEC.format(name="second", requires="BuildRequires:  first"),
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    packages = tmp_path / "packages"
    for name in ("first", "second"):
        top = tmp_path / "top" / name
        subprocess.run(["rpmbuild", "-ba", "--nodeps", "--define", f"_topdir {top}", "--define", "dist .ex1",
                        str(root / name / f"{name}.spec")], check=True, capture_output=True)
        (packages / name / "srpm").mkdir(parents=True)
        (packages / name / "rpm").mkdir(parents=True)
        for srpm in (top / "SRPMS").glob("*.rpm"):
            srpm.rename(packages / name / "srpm" / srpm.name)
        for built in (top / "RPMS").glob("*/*.rpm"):
            built.rename(packages / name / "rpm" / built.name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "mock"
    record = tmp_path / "mock-calls.jsonl"
    stand_in.write_text(STAND_IN.format(python=sys.executable, record=str(record), packages=str(packages)))
    stand_in.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("TRIB_CACHE_DIR", str(tmp_path / "cache"))
    return load_project(root), record


def test_mock_gets_the_project_config_and_the_packages_built_before(project_with_mock) -> None:
    project, record = project_with_mock
    _, jobs = build_distribution(project, ["second"], jobs=1, backend=Backend.MOCK)
    assert {name: job.state for name, job in jobs.items()} == {"first": State.DONE, "second": State.DONE}, {n: j.error for n, j in jobs.items()}
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    config = str(project.root / "mock" / "ex-1.cfg")
    assert [call[:2] for call in calls] == [["-r", config]] * 4
    first_srpm, first_rpm, second_srpm, second_rpm = calls
    assert "--buildsrpm" in first_srpm and first_srpm[first_srpm.index("--spec") + 1].endswith("/first.spec")
    assert f"--config-opts=tributary_project_dir={project.root}" in first_srpm
    assert not any(arg.startswith("--addrepo") for arg in first_srpm + first_rpm), "first needs nothing built"
    assert first_rpm[-2:][0] == "--rebuild" and first_rpm[-1].endswith("first-1.0-1.ex1.src.rpm")
    assert "--nocheck" not in first_rpm
    produced = [arg for arg in second_rpm if arg.startswith("--addrepo=file://")]
    assert len(produced) == 1, "second's builds see first's packages, as mock's chain builds do"
    assert produced[0] in second_srpm
    assert "--nocheck" in second_rpm, "build.check.skip reaches mock"
    assert (project.output_dir / "rpms" / "noarch" / "second-1.0-1.ex1.noarch.rpm").is_file()
    assert (project.output_dir / "srpms" / "first-1.0-1.ex1.src.rpm").is_file()

    again = build_distribution(project, ["second"], jobs=1, backend=Backend.MOCK)[1]
    assert {job.state for job in again.values()} == {State.CACHED}
    assert len(record.read_text().splitlines()) == 4, "a cached build does not call mock"


def test_mock_backend_without_a_mock_config_is_an_error(project_with_mock) -> None:
    project, _ = project_with_mock
    config = project.root / "azldev.toml"
    config.write_text(config.read_text().replace('mock-config = "mock/ex-1.cfg"\n', ""))
    with pytest.raises(TribError, match="--backend mock needs a mock config"):
        build_distribution(load_project(project.root), ["first"], backend=Backend.MOCK)


def test_mock_backend_without_mock_installed(project_with_mock, monkeypatch: pytest.MonkeyPatch) -> None:
    project, record = project_with_mock
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with pytest.raises(TribError, match="mock is not installed"):
        build_distribution(project, ["first"], backend=Backend.MOCK)
    assert not record.exists()
