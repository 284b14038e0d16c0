"""Render keeps every file the spec needs and drops the rest (issue 15, item 4): the file set is what rpm
would see, computed by tributary's own spec model with the component's macros."""

from __future__ import annotations

from tributary.config import load_project
from tributary.render.render import render_one

HEADER = """\
Name:           {name}
Version:        5.3
Release:        1%{{?dist}}
Summary:        A package
License:        MIT
"""

TAIL = """
%description
A package.

%prep
%autosetup -p1

%files

%changelog
* Mon Jan 06 2025 Packager <p@example.org> - 5.3-1
- Initial
"""


def render_local(make_project, name: str, preamble: str, files: dict[str, str], *, tail: str = TAIL,
                 comp: str = "") -> set[str]:
    """Render a local component whose spec is HEADER + ``preamble`` + ``tail``; the files it kept."""
    spec = HEADER.format(name=name) + preamble + tail
    root = make_project({
        "azldev.toml": 'includes = ["comps/**/*.comp.toml"]\n',
        f"comps/{name}/{name}.comp.toml":
            f'[components.{name}]\nspec = {{ type = "local", path = "{name}.spec", reason = "test" }}\n{comp}',
        f"comps/{name}/{name}.spec": spec,
        f"comps/{name}/unused.txt": "nothing names this file\n",
        **{f"comps/{name}/{file}": text for file, text in files.items()},
    })
    outcome = render_one(load_project(root), name, check=False)
    assert outcome.status == "ok", outcome.error
    return {path.name for path in (root / "specs" / name[0] / name).iterdir()}


def test_patches_written_by_a_lua_loop_are_kept(make_project) -> None:
    """bash's spec writes its PatchN tags from a %{lua:} loop over its patch level."""
    preamble = (
        "%define patchlevel 3\n"
        "Source1: dot-bashrc\n"
        "%{lua:for i=1,rpm.expand('%{patchlevel}') do\n"
        "    print(string.format('Patch%u: bash-%s-patch-%u.patch\\n', i, rpm.expand('%{version}'), i))\n"
        "end}\n"
        "Patch102: bash-2.03-profile.patch\n"
    )
    files = {f"bash-5.3-patch-{i}.patch": f"patch {i}\n" for i in range(1, 5)}
    kept = render_local(make_project, "bash", preamble, {**files, "dot-bashrc": "x\n", "bash-2.03-profile.patch": "p\n"})
    assert kept == {"bash.spec", "dot-bashrc", "bash-2.03-profile.patch", "bash-5.3-patch-1.patch",
                    "bash-5.3-patch-2.patch", "bash-5.3-patch-3.patch"}


def test_patches_applied_from_the_patches_lua_table_are_kept(make_project) -> None:
    """%prep applying every patch with `for i, p in ipairs(patches)` needs each declared patch."""
    preamble = "Patch0: a.patch\nPatch1: b.patch\n"
    tail = TAIL.replace("%autosetup -p1", "%setup -q\n%{lua: for i, p in ipairs(patches) do print('patch -p1 < '..p..'\\n') end}")
    kept = render_local(make_project, "lpatch", preamble, {"a.patch": "a\n", "b.patch": "b\n"}, tail=tail)
    assert kept == {"lpatch.spec", "a.patch", "b.patch"}


def test_a_source_url_renamed_with_a_dot_slash_fragment_is_kept(make_project) -> None:
    preamble = (
        "Source0: https://example.org/download?file=pkg-%{version}.tar.gz#./pkg-%{version}.tar.gz\n"
        "Source1: https://example.org/get.cgi?id=7#./helper.sh\n"
        "Source2: https://example.org/archive/v%{version}.tar.gz#/renamed.conf\n"
    )
    kept = render_local(make_project, "frag", preamble, {"helper.sh": "#!/bin/sh\n", "renamed.conf": "x\n"})
    assert kept == {"frag.spec", "helper.sh", "renamed.conf"}


def test_patch_tags_with_a_space_before_the_number_or_the_colon_are_kept(make_project) -> None:
    preamble = "Patch 0: zero.patch\nPatch1 : one.patch\nPatch: two.patch\nSource 3 : three.conf\n"
    files = {"zero.patch": "0\n", "one.patch": "1\n", "two.patch": "2\n", "three.conf": "3\n"}
    kept = render_local(make_project, "spaced", preamble, files)
    assert kept == {"spaced.spec", *files}


def test_patches_listed_in_a_patches_file_applied_with_git_am_are_kept(make_project) -> None:
    preamble = "Source10: %{name}.patches\n"
    tail = TAIL.replace(
        "%autosetup -p1",
        "%autosetup -S git -N\nwhile read -r p; do git am %{_sourcedir}/\"$p\"; done < %{SOURCE10}",
    )
    files = {
        "series.patches": "",
        "gitam.patches": "# applied in order\n0001-first.patch\n0002-second.patch\n",
        "0001-first.patch": "From 1\n",
        "0002-second.patch": "From 2\n",
        "0003-dropped.patch": "From 3 (no longer listed)\n",
    }
    kept = render_local(make_project, "gitam", preamble, files, tail=tail)
    assert kept == {"gitam.spec", "gitam.patches", "0001-first.patch", "0002-second.patch"}


def test_files_a_build_script_reads_from_the_source_directory_are_kept(make_project) -> None:
    tail = TAIL.replace("%autosetup -p1", "%autosetup\ncp %{_sourcedir}/extra.conf .\n"
                        "install -m644 $RPM_SOURCE_DIR/%{name}.service %{buildroot}\n")
    kept = render_local(make_project, "scripted", "", {"extra.conf": "x\n", "scripted.service": "[Unit]\n"}, tail=tail)
    assert kept == {"scripted.spec", "extra.conf", "scripted.service"}


def test_files_of_every_architecture_and_included_files_are_kept(make_project) -> None:
    preamble = (
        "%ifarch x86_64\nPatch1: x86.patch\n%endif\n"
        "%ifarch aarch64\nPatch2: arm.patch\n%endif\n"
        "%include %{_sourcedir}/extra-patches.inc\n"
    )
    files = {"x86.patch": "x\n", "arm.patch": "a\n", "extra-patches.inc": "Patch3: included.patch\n",
             "included.patch": "i\n"}
    kept = render_local(make_project, "arches", preamble, files)
    assert kept == {"arches.spec", *files}


def test_names_use_the_components_macros_bash_and_keep_what_is_unknown(make_project) -> None:
    preamble = (
        "%global commit 0123456789abcdef0123456789abcdef01234567\n"
        "%global shortcommit %(c=%{commit}; echo ${c:0:7})\n"
        "Source1: %{name}-%{shortcommit}.conf\n"
        "Source2: %{flavour}-settings.conf\n"
        "Source3: %{gosource_extra}.tar.gz\n"
        "%bcond_with extra\n"
        "Patch1: %{?with_extra:extra.patch}\n"
        "Patch2: %{?with_docs:docs.patch}\n"
    )
    files = {"names-0123456.conf": "bash substring\n", "names-0123456789.conf": "not this one\n",
             "tribex-settings.conf": "from build.defines\n", "other-settings.conf": "another flavour\n",
             "vendored.tar.gz": "unknown macro: kept\n", "extra.patch": "with extra\n",
             "docs.patch": "without docs\n"}
    comp = 'build = { with = ["extra"], defines = { flavour = "tribex" } }\n'
    kept = render_local(make_project, "names", preamble, files, comp=comp)
    assert kept == {"names.spec", "names.azl.macros", "names-0123456.conf", "tribex-settings.conf",
                    "vendored.tar.gz", "extra.patch"}
