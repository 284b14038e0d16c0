"""A render is checked before it is written (issue 18): azldev's traps, each a golden test, and the check
that turns what rpm would refuse into a render error naming the overlay, without crying wolf.

Each trap test says how the same project fared on the original main (fc1b5b1).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tributary.config import load_project
from tributary.render.render import FAILED_MARKER, render_one
from tributary.render.verify import distribution_macros

HEAD = """\
Name:           tool
Version:        1.0
Release:        1%{?dist}
Summary:        A tool
License:        MIT
"""

TAIL = """\

%description
A tool.

%prep
%setup -q -c -T

%build
echo build

%install
mkdir -p %{buildroot}

%files

%changelog
* Mon Jan 01 2024 A <a@b.c> - 1.0-1
- Initial
"""


def project(make_project, spec: str, comp: str, files: dict[str, str] | None = None) -> Path:
    return make_project({
        "azldev.toml": 'includes = ["comps/**/*.comp.toml"]\n',
        "comps/tool/tool.comp.toml": '[components.tool]\nspec = { type = "local", path = "tool.spec", reason = "r" }\n'
                                     + comp,
        "comps/tool/tool.spec": spec,
        **{f"comps/tool/{name}": text for name, text in (files or {}).items()},
    })


def add_setting(root: Path, line: str) -> None:
    """Write ``line`` into the component's own table (before its overlays)."""
    comp = root / "comps/tool/tool.comp.toml"
    head, _, rest = comp.read_text().partition("\n[[")
    comp.write_text(f"{head}\n{line}\n[[{rest}" if rest else f"{head}\n{line}\n")


def rendered(root: Path) -> str:
    return (root / "specs/t/tool/tool.spec").read_text()


def render(root: Path):
    return render_one(load_project(root), "tool", check=False)


# --- trap 1: the build options' macros file and the spec's own Source9999 (azldev issue 235) ------------


def test_build_options_macros_file_takes_the_first_free_source_number(make_project) -> None:
    """fc1b5b1: rendered "ok" with two Source9999 lines, which rpm refuses ("source 9999 defined multiple
    times")."""
    spec = HEAD + "Source9998:     extra.conf\nSource9999:     own.conf\n" + TAIL
    root = project(make_project, spec, 'build = { with = ["docs"] }\n', {"own.conf": "x\n", "extra.conf": "y\n"})
    outcome = render(root)
    assert outcome.status == "ok", outcome.error
    text = rendered(root)
    assert "Source9999:     own.conf\nSource9997: tool.azl.macros\n" in text
    assert text.count("Source9999") == 1
    assert outcome.warnings == ()


def test_the_macros_file_avoids_a_number_an_overlay_adds_too(make_project) -> None:
    comp = 'build = { with = ["docs"] }\n[[components.tool.overlays]]\ntype = "spec-insert-tag"\ntag = "Source9999"\n' \
           'value = "added.conf"\n'
    root = project(make_project, HEAD + TAIL, comp, {"added.conf": "x\n"})
    outcome = render(root)
    assert outcome.status == "ok", outcome.error
    assert "Source9998: tool.azl.macros\nSource9999: added.conf\n" in rendered(root)


def test_without_a_collision_the_macros_file_is_source9999_as_in_azldev(make_project) -> None:
    root = project(make_project, HEAD + "Source0: a.conf\n" + TAIL, 'build = { with = ["docs"] }\n', {"a.conf": ""})
    assert render(root).status == "ok"
    assert "Source0: a.conf\nSource9999: tool.azl.macros\n" in rendered(root)


# --- trap 2: patch-remove and the %patch lines of the patches it removes -----------------------------------


PATCHED = HEAD + "Patch0:         keep.patch\nPatch1:         CVE-1.patch\nPatch2:         CVE-2.patch\n" + TAIL.replace(
    "%setup -q -c -T\n", "%setup -q -c -T\n%patch0 -p1\n%patch -P 1 -p1\n%patch 2 -p1\n")
PATCHES = {name: f"--- a/{name}\n+++ b/{name}\n" for name in ("keep.patch", "CVE-1.patch", "CVE-2.patch")}
REMOVE_CVES = '[[components.tool.overlays]]\ntype = "patch-remove"\nfile = "CVE-*.patch"\ndescription = "fixed upstream"\n'


def test_patch_remove_takes_the_lines_applying_its_patches_too(make_project) -> None:
    """fc1b5b1: rendered "ok" keeping "%patch -P 1 -p1" and "%patch 2 -p1"; rpm then fails %prep ("No patch
    number 1")."""
    root = project(make_project, PATCHED, REMOVE_CVES, PATCHES)
    outcome = render(root)
    assert outcome.status == "ok", outcome.error
    assert "%setup -q -c -T\n%patch0 -p1\n\n%build" in rendered(root)
    assert sorted(p.name for p in (root / "specs/t/tool").iterdir()) == ["keep.patch", "tool.spec"]


# --- trap 3: a removed section's %global that the spec still uses (azldev issue 203) -----------------------

GLOBAL_IN_PACKAGE = HEAD + TAIL.replace("%build\necho build\n", "%build\necho %{docdir}\n").replace(
    "%prep", "%package doc\nSummary: Docs\n%global docdir /usr/share/doc/tool\n\n%description doc\nDocs.\n\n%prep")
REMOVE_DOC = '[[components.tool.overlays]]\ntype = "spec-remove-subpackage"\npackage = "doc"\ndescription = "no docs"\n'


def test_a_removed_global_still_used_is_reported_and_bytes_stay_azldevs(make_project) -> None:
    """fc1b5b1: the same bytes, and no word about %docdir."""
    root = project(make_project, GLOBAL_IN_PACKAGE, REMOVE_DOC)
    outcome = render(root)
    assert outcome.status == "ok", outcome.error
    assert "%global docdir" not in rendered(root)
    assert any("%docdir is no longer defined, but line" in w and "overlay #1 (spec-remove-subpackage" in w
               and "render.keep-used-macros" in w for w in outcome.warnings), outcome.warnings


def test_keep_used_macros_keeps_the_definition(make_project) -> None:
    """fc1b5b1: the configuration is refused (render has no keep-used-macros)."""
    root = project(make_project, GLOBAL_IN_PACKAGE, "render = { keep-used-macros = true }\n" + REMOVE_DOC)
    outcome = render(root)
    assert outcome.status == "ok", outcome.error
    assert "%description\nA tool.\n\n%global docdir /usr/share/doc/tool\n%prep\n" in rendered(root)
    assert not any("docdir" in w for w in outcome.warnings)


# --- trap 4: the empty %if a removal leaves ------------------------------------------------------------------

WRAPPED = HEAD + TAIL.replace("%prep", "%if 0%{?with_static}\n%package static\nSummary: s\n\n%description static\n"
                                       "s\n\n%files static\n%endif\n\n%prep")
REMOVE_STATIC = '[[components.tool.overlays]]\ntype = "spec-remove-subpackage"\npackage = "static"\n'


def test_the_empty_conditional_stays_by_default_and_goes_with_the_option(make_project) -> None:
    """fc1b5b1: the wrapper stays (azldev's bytes); the option is refused as an unknown key."""
    root = project(make_project, WRAPPED, REMOVE_STATIC)
    assert render(root).status == "ok"
    assert "A tool.\n\n%if 0%{?with_static}\n%endif\n\n%prep" in rendered(root)
    add_setting(root, "render = { drop-empty-conditionals = true }")
    assert render(root).status == "ok"
    assert "A tool.\n\n\n%prep" in rendered(root)


def test_lint_points_at_both_removal_options(make_project, trib) -> None:
    spec = GLOBAL_IN_PACKAGE.replace("%package doc", "%if 1\n%package doc").replace("Docs.\n\n%prep", "Docs.\n%endif\n\n%prep")
    root = project(make_project, spec, REMOVE_DOC)
    result = trib("-C", str(root), "-O", "json", "lint")
    assert result.code == 1
    messages = [f["message"] for f in json.loads(result.out)]
    assert any("drops %global docdir" in m and "render.keep-used-macros" in m for m in messages), messages
    assert any("leaves an empty %if" in m and "render.drop-empty-conditionals" in m for m in messages), messages
    add_setting(root, "render = { keep-used-macros = true, drop-empty-conditionals = true }")
    messages = [f["message"] for f in json.loads(trib("-C", str(root), "-O", "json", "lint").out)]
    assert not any("render.keep-used-macros" in m or "drop-empty-conditionals" in m for m in messages), messages


# --- the check: render errors that name the overlay ---------------------------------------------------------


def test_an_overlay_that_declares_a_source_twice_fails_the_render_and_check(make_project, trib) -> None:
    comp = '[[components.tool.overlays]]\ntype = "spec-add-tag"\ntag = "Source0"\nvalue = "b.conf"\n' \
           'description = "second source"\n'
    root = project(make_project, HEAD + "Source0: a.conf\n" + TAIL, comp, {"a.conf": "", "b.conf": ""})
    # --check first: once the RENDER_FAILED marker is in the tree, --check counts it as no drift (azldev's rule)
    check = trib("-C", str(root), "comp", "render", "-a", "--check")
    assert check.code == 1 and "Source0 is declared twice" in check.err
    assert not (root / "specs").exists()
    result = trib("comp", "render", "-a", cwd=root)
    assert result.code == 1
    first = result.err.splitlines()[0]
    assert first.startswith("error: component 'tool': overlay #1 (spec-add-tag, \"second source\") at "
                            "comps/tool/tool.comp.toml:3: the rendered spec fails its check: Source0 is declared twice")
    assert "rpm: source 0 defined multiple times" in first
    assert sorted(p.name for p in (root / "specs/t/tool").iterdir()) == [FAILED_MARKER]


def test_a_patch_line_for_no_patch_names_the_overlay_that_wrote_it(make_project) -> None:
    comp = '[[components.tool.overlays]]\ntype = "spec-set-tag"\ntag = "Vendor"\nvalue = "V"\n' \
           '[[components.tool.overlays]]\ntype = "spec-append-lines"\nsection = "%prep"\nlines = ["%patch -P 3 -p1"]\n'
    root = project(make_project, HEAD + TAIL, comp)
    outcome = render(root)
    assert outcome.status == "error"
    assert "overlay #2 (spec-append-lines) at " in outcome.error
    assert "comps/tool/tool.comp.toml:7: the rendered spec fails its check: line 17 applies patch 3 " \
           "('%patch -P 3 -p1'), but no Patch3 is declared" in outcome.error
    assert "rpm: No patch number 3" in outcome.error


def test_removing_a_file_the_spec_still_names_is_an_error(make_project) -> None:
    comp = '[[components.tool.overlays]]\ntype = "file-remove"\nfile = "a.conf"\n'
    root = project(make_project, HEAD + "Source1: a.conf\n" + TAIL, comp, {"a.conf": ""})
    outcome = render(root)
    assert outcome.status == "error"
    assert "overlay #1 (file-remove) at " in outcome.error
    assert "comps/tool/tool.comp.toml:3: the rendered spec fails its check: Source1 names 'a.conf', which is " \
           "neither in the rendered directory nor among the verified sources" in outcome.error


def test_upstreams_own_problem_is_a_warning(make_project) -> None:
    comp = '[[components.tool.overlays]]\ntype = "spec-set-tag"\ntag = "Vendor"\nvalue = "V"\n'
    spec = HEAD + "Source0: a.conf\nSource0: b.conf\n" + TAIL
    root = project(make_project, spec, comp, {"a.conf": "", "b.conf": ""})
    outcome = render(root)
    assert outcome.status == "ok", outcome.error
    assert any("upstream's own spec already: Source0 is declared twice" in w for w in outcome.warnings)
    assert any("upstream's own spec already: rpm: source 0 defined multiple times" in w for w in outcome.warnings)


@pytest.mark.parametrize(("line", "why"), [
    ("BuildSystem:    autotools", "predates rpm 4.20"),
    ("%gometa -f", "it uses %gometa, which no macro file known here defines"),
    ("BuildRequires:  %{py3_dist setuptools}", "it uses %py3_dist"),
])
def test_what_the_host_cannot_judge_is_a_warning(make_project, line: str, why: str) -> None:
    comp = '[[components.tool.overlays]]\ntype = "spec-set-tag"\ntag = "Vendor"\nvalue = "V"\n'
    root = project(make_project, HEAD + line + "\n" + TAIL, comp)
    outcome = render(root)
    assert outcome.status == "ok", outcome.error
    assert any(why in w for w in outcome.warnings), outcome.warnings


def test_the_distributions_own_macros_judge_what_the_host_cannot(make_project) -> None:
    config_spec = HEAD.replace("tool", "tribex-rpm-config") + "Source0: macros.tribex\n" \
        "Provides: system-rpm-config = %{version}-%{release}\n" + TAIL
    comp = '[[components.tool.overlays]]\ntype = "spec-add-tag"\ntag = "BuildRequires"\nvalue = "%{tribex_toolchain}"\n'
    root = project(make_project, HEAD + TAIL, comp)
    outcome = render(root)
    assert any("it uses %tribex_toolchain" in w for w in outcome.warnings), outcome.warnings
    rpm_config = root / "comps/tribex-rpm-config"
    rpm_config.mkdir()
    (rpm_config / "tribex-rpm-config.spec").write_text(config_spec)
    (rpm_config / "macros.tribex").write_text("%tribex_toolchain gcc\n")
    (rpm_config / "tribex-rpm-config.comp.toml").write_text(
        '[components.tribex-rpm-config]\nspec = { type = "local", path = "tribex-rpm-config.spec", reason = "r" }\n')
    project_now = load_project(root)
    assert distribution_macros(project_now) == (rpm_config / "macros.tribex",)
    outcome = render_one(project_now, "tool", check=False)
    assert outcome.status == "ok", outcome.error
    assert outcome.warnings == ()


def test_components_whose_spec_no_overlay_changes_are_not_parsed_by_rpm(make_project, monkeypatch) -> None:
    import tributary.render.verify as verify

    parsed: list[str] = []
    monkeypatch.setattr(verify, "rpm_findings", lambda tree, spec, macros: parsed.append(spec) or [])
    root = project(make_project, HEAD + TAIL, '[[components.tool.overlays]]\ntype = "file-add"\nfile = "x"\n'
                                              'source = "x.conf"\n', {"x.conf": ""})
    assert render(root).status == "ok"
    assert parsed == []


# --- the new options' errors through render: each names the overlay and its TOML line -----------------------

@pytest.mark.parametrize(("overlay", "message"), [
    ('type = "spec-search-replace"\nsection = "%build"\nregex = "echo"\nreplacement = "true"\ncount = 2\n',
     "regex 'echo' matched 1 time(s) in section %build (spec line 15), but count = 2 expects exactly 2"),
    ('type = "spec-set-tag"\ntag = "Release"\nvalue = "5"\ncondition = "%if 0%{?fedora}"\n',
     "no branch '%if 0%{?fedora}' in the spec"),
    ('type = "spec-add-changelog"\nauthor = "A <a@b.c>"\ntext = "t"\ndate = 2023-01-01\n',
     "date 2023-01-01 is older than the spec's newest changelog entry (2024-01-01)"),
])
def test_a_new_options_failure_names_the_overlay_and_its_line(make_project, overlay: str, message: str) -> None:
    comp = '[[components.tool.overlays]]\ntype = "spec-set-tag"\ntag = "Vendor"\nvalue = "V"\n' \
           '[[components.tool.overlays]]\n' + overlay
    root = project(make_project, HEAD + TAIL, comp)
    outcome = render(root)
    assert outcome.status == "error"
    assert "overlay #2 (" in outcome.error and "comps/tool/tool.comp.toml:7" in outcome.error, outcome.error
    assert message in outcome.error, outcome.error
    assert sorted(p.name for p in (root / "specs/t/tool").iterdir()) == [FAILED_MARKER]
