"""Release values azldev bumped when it rendered Azure Linux 4.0 (April 2026), Fedora's versioning forms,
conditional Release lines, and what cannot be bumped (issue 15, items 2 and 3).

Each component is a real dist-git repository with one upstream commit; one committed lock of the project
is one fingerprint change, so every static Release goes up by exactly one.
"""

from __future__ import annotations

import re
import shutil
from types import SimpleNamespace

import pytest
from support import DistGitDistro, copy_example_distro

from tributary.cli.app import main

SPEC = """\
{defines}Name:           {name}
Version:        1.0
{release}
Summary:        A package
License:        MIT
Source0:        {name}-1.0.tar.gz

%description
A package.

%prep
%autosetup

%files

%changelog
{changelog}"""

HAND_CHANGELOG = "* Mon Jan 06 2025 Packager <p@example.org> - 1.0-1\n- Initial\n"


def spec(name: str, release: str, defines: str = "", changelog: str = HAND_CHANGELOG) -> str:
    return SPEC.format(name=name, release=release, defines=defines, changelog=changelog)


def release_lines(text: str) -> list[str]:
    return re.findall(r"^Release:.*$", text, re.MULTILINE)


# (Release lines as upstream wrote them, extra definitions, Release lines expected, definitions expected)
FORMS = {
    # Forms from Azure Linux 4.0's tree that azldev bumped in April 2026.
    "decimal": ("Release: 2.1%{?dist}", "", ["Release: 3.1%{?dist}"], ""),
    "buildid": ("Release: 22%{?dist}%{?buildid}", "", ["Release: 23%{?dist}%{?buildid}"], ""),
    "prever": ("Release: 2%{?prever_dot}%{?dist}", "", ["Release: 3%{?prever_dot}%{?dist}"], ""),
    "gittag": ("Release: 9.git%{gittagcommit}%{?dist}", "%global gittagcommit abc1234\n",
               ["Release: 10.git%{gittagcommit}%{?dist}"], ""),
    "alphatag": ("Release: 1%{?alphatag:.%{alphatag}}%{?dist}", "", ["Release: 2%{?alphatag:.%{alphatag}}%{?dist}"], ""),
    "snapshot-minor": ("Release: 0.git%{shortcommit0}%{?dist}.2", "%global shortcommit0 0123abc\n",
                       ["Release: 1.git%{shortcommit0}%{?dist}.2"], ""),
    # Fedora's versioning guidelines: a pre-release, a snapshot, %{?dist} in the middle (minor bump).
    "prerelease": ("Release:        0.1.rc2%{?dist}", "", ["Release: 1.1.rc2%{?dist}"], ""),
    "datesnapshot": ("Release: 0.3.20250101git%{shortcommit}%{?dist}", "%global shortcommit 9f8e7d6\n",
                     ["Release: 1.3.20250101git%{shortcommit}%{?dist}"], ""),
    "dist-middle": ("Release: 1%{?dist}.1", "", ["Release: 2%{?dist}.1"], ""),
    # A macro as the whole release: its definition in the spec is raised, the Release line stays.
    "macro": ("Release: %{baserelease}%{?dist}", "%global baserelease 4\n", ["Release: %{baserelease}%{?dist}"],
              "%global baserelease 5"),
    "macro-chain": ("Release: %{rel}", "%define pkgrel 7\n%global rel %{pkgrel}%{?dist}\n", ["Release: %{rel}"],
                    "%define pkgrel 8"),
    # Both branches of a conditional, each raised from its own value.
    "conditional": ("%if 0%{?rhel}\nRelease: 3%{?dist}\n%else\nRelease: 7%{?dist}\n%endif", "",
                    ["Release: 4%{?dist}", "Release: 8%{?dist}"], ""),
}


@pytest.fixture(scope="module")
def rendered_forms(tmp_path_factory, example_upstream):
    """Every form above as a component of one distribution, locked, committed and rendered once."""
    base = tmp_path_factory.mktemp("release-forms")
    upstream = base / "upstream"
    shutil.copytree(example_upstream.root, upstream, symlinks=True)

    distro = DistGitDistro(copy_example_distro(base, upstream), upstream, base,
                           lambda *args: SimpleNamespace(code=main(list(args)), out="", err=""))
    for form, (release, defines, _, _) in FORMS.items():
        name = f"rel-{form}"
        distro.add_package(name, [{f"{name}.spec": spec(name, release, defines)}])
    distro.lock_and_commit()
    distro.cli("comp", "render", "-a")  # each test looks at its own component's output
    return distro


@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_leading_number_of_each_release_form_is_bumped(rendered_forms, form: str) -> None:
    _, _, expected, definition = FORMS[form]
    out = rendered_forms.rendered(f"rel-{form}")
    assert (out / f"rel-{form}.spec").is_file(), f"render failed: {sorted(p.name for p in out.iterdir())}"
    text = (out / f"rel-{form}.spec").read_text()
    assert release_lines(text) == expected
    if definition:
        assert re.search(rf"^{re.escape(definition)}$", text, re.MULTILINE), text


LLVM_RELEASE = "%if 0%{?rhel} == 8\nRelease:\t1%{?dist}\n%else\nRelease:\t%autorelease\n%endif"


def test_conditional_release_with_autorelease_keeps_both_lines_and_is_autorelease(dist_git_distro) -> None:
    """llvm-style: the static fallback stays as upstream wrote it, the component is rpmautospec's."""
    distro = dist_git_distro
    text = spec("llvmish", LLVM_RELEASE, changelog="%autochangelog\n")
    distro.add_package("llvmish", [{"llvmish.spec": text}, {"llvmish.spec": text + "\n"}])
    distro.lock_and_commit()
    assert distro.cli("comp", "render", "llvmish").code == 0
    rendered = (distro.rendered("llvmish") / "llvmish.spec").read_text()
    assert release_lines(rendered) == ["Release:\t1%{?dist}", "Release:\t%autorelease"]
    # rpmautospec numbered it: two upstream commits plus the committed lock.
    assert "release_number = 3;" in rendered
    assert re.findall(r"^\* .* - (\S+)$", rendered, re.MULTILINE) == ["1.0-3", "1.0-2", "1.0-1"]


def test_autorelease_in_the_first_branch_is_autorelease_too(dist_git_distro) -> None:
    distro = dist_git_distro
    release = "%if 0%{?fedora}\nRelease: %autorelease\n%else\nRelease: 5%{?dist}\n%endif"
    distro.add_package("autofirst", [{"autofirst.spec": spec("autofirst", release, changelog="%autochangelog\n")}])
    distro.lock_and_commit()
    assert distro.cli("comp", "render", "autofirst").code == 0
    rendered = (distro.rendered("autofirst") / "autofirst.spec").read_text()
    assert release_lines(rendered) == ["Release: %autorelease", "Release: 5%{?dist}"]
    assert "release_number = 2;" in rendered


def test_a_release_that_cannot_be_bumped_names_its_upstream_line(dist_git_distro) -> None:
    distro = dist_git_distro
    release = "Release: %{lua: print(4)}%{?dist}"
    distro.add_package("luarel", [{"luarel.spec": spec("luarel", release)}])
    distro.add_package("undefrel", [{"undefrel.spec": spec("undefrel", "Release: %{pkg_release}%{?dist}")}])
    distro.add_package("badmacro", [{"badmacro.spec": spec("badmacro", "Release: %{rel}",
                                                           defines="%global rel %{lua: print(2)}\n")}])
    distro.lock_and_commit()
    result = distro.cli("comp", "render", "luarel", "undefrel", "badmacro")
    assert result.code == 1
    url = f"file://{distro.upstream}/git"
    # Each names the line of upstream's spec at the rendered commit (line 3, after Name and Version).
    assert re.search(rf"{re.escape(url)}/luarel\.git [0-9a-f]{{12}}:luarel\.spec:3: component 'luarel': cannot bump "
                     r"Release '%\{lua: print\(4\)\}%\{\?dist\}' by 1: it starts with neither a number nor a macro",
                     result.err), result.err
    assert re.search(r"undefrel\.spec:3: component 'undefrel': .*%\{pkg_release\}, which the spec does not define",
                     result.err), result.err
    assert re.search(r"badmacro\.spec:1: component 'badmacro': cannot bump Release '%global rel %\{lua: print\(2\)\}' "
                     r"by 1: %\{rel\} \(used by Release\) does not start with a number", result.err), result.err
    for name in ("luarel", "undefrel", "badmacro"):
        assert sorted(p.name for p in distro.rendered(name).iterdir()) == ["RENDER_FAILED"]
