"""Acceptance: a component whose overlay strips the hardening flags, built for real (sandboxed
rpmbuild), fails the audit on exactly that file and exactly the checks the flags protect; the same
spec without the overlay passes."""

from __future__ import annotations

import json
import textwrap
from datetime import date

import pytest
from support import copy_example_distro

from tributary.audit.rpms import audit_rpms
from tributary.build.distro import build_distribution
from tributary.build.scheduler import State
from tributary.config import load_project

SPEC = """\
Name:           {name}
Version:        1.0
Release:        1%{{?dist}}
Summary:        A program built with the distribution's compiler flags
License:        MIT

%description
A program that copies into a stack buffer and prints it: what the hardening flags protect.

%prep

%build
%set_build_flags
cat > prog.c <<'END'
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {{ char b[64]; strcpy(b, argc > 1 ? argv[1] : "none"); printf("%%s\\n", b); return 0; }}
END
gcc $CFLAGS $LDFLAGS -o {name} prog.c

%install
install -D -m 0755 {name} %{{buildroot}}%{{_bindir}}/{name}

%files
%{{_bindir}}/{name}

%changelog
* Mon Jan 05 2026 Test <test@tribex.invalid> - 1.0-1
- Test
"""

STRIP = '''
[[components.{name}.overlays]]
type = "spec-prepend-lines"
lines = [
  "%undefine _hardened_build",
  "%global optflags -O2 -fno-pie -fno-stack-protector -U_FORTIFY_SOURCE",
  "%global build_cflags %{{optflags}}",
  "%global build_ldflags -no-pie -Wl,-z,norelro -Wl,-z,lazy -Wl,-z,execstack -Wl,-rpath,/opt/tribex/lib",
]
description = "Build without the distribution's hardening: what the audit must catch."
'''


@pytest.fixture(scope="module")
def built(example_upstream, tmp_path_factory, trib_cache):
    distro = copy_example_distro(tmp_path_factory.mktemp("stripped"), example_upstream.root, git_repository=False)
    for name, overlay in (("hardy", ""), ("hardless", STRIP)):
        directory = distro.root / "base" / "comps" / name
        directory.mkdir(parents=True)
        (directory / f"{name}.spec").write_text(SPEC.format(name=name))
        (directory / f"{name}.comp.toml").write_text(
            f'[components.{name}]\nspec = {{ type = "local", path = "{name}.spec", reason = "test" }}\n'
            'release = { calculation = "manual" }\n' + textwrap.dedent(overlay.format(name=name)))
    project = load_project(distro.root, extra_files=[distro.mirror, distro.root / "stage1.toml"])
    _, jobs = build_distribution(project, ["hardy", "hardless"], jobs=2)
    assert {name: jobs[name].state for name in ("hardy", "hardless")} == {"hardy": State.DONE, "hardless": State.DONE}
    return distro, project


def test_stripped_flags_fail_exactly_their_checks(built) -> None:
    _, project = built
    report = audit_rpms(project, ["hardy", "hardless"], today=date(2026, 6, 1))
    by_file: dict[str, dict[str, str]] = {}
    for finding in report.findings:
        by_file.setdefault(finding.subject, {})[finding.check] = finding.status
    assert by_file == {
        "/usr/bin/hardy": {"pie": "pass", "relro": "pass", "stack-protector": "pass", "fortify": "pass",
                           "nx-stack": "pass", "cet": "waived", "rpath": "pass"},
        "/usr/bin/hardless": {"pie": "fail", "relro": "fail", "stack-protector": "fail", "fortify": "fail",
                              "nx-stack": "fail", "cet": "waived", "rpath": "fail"},
    }
    evidence = {f.check: f.evidence for f in report.violations}
    assert evidence["pie"] == "ET_EXEC: a position-dependent program"
    assert evidence["relro"] == "no PT_GNU_RELRO segment"
    assert evidence["fortify"].startswith("uses ") and "strcpy" in evidence["fortify"]
    assert "/opt/tribex/lib" in evidence["rpath"]
    assert {f.package for f in report.violations} == {"hardless"}


def test_cli_exits_1_naming_the_file_and_checks(built, trib, tmp_path) -> None:
    distro, _ = built
    report = tmp_path / "audit.json"
    stage1 = ("--config-file", str(distro.root / "stage1.toml"))  # the configuration the fixture built with
    result = trib(*distro.args(*stage1, "-O", "json", "audit", "rpms", "hardy", "hardless", "--report", str(report)))
    assert result.code == 1
    assert "audit: hardless: /usr/bin/hardless: pie, relro, stack-protector, fortify, nx-stack, rpath" in result.err
    assert "hardy:" not in result.err
    assert json.loads(result.out) == json.loads(report.read_text())
    assert json.loads(result.out)["summary"]["fail"] == 6
    # Only the hardened one: a clean exit.
    assert trib(*distro.args(*stage1, "audit", "rpms", "hardy")).code == 0
