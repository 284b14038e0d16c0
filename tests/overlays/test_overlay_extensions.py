"""tributary's overlay extensions (issue 18), each before and after, and each error with its file:line:
spec-set-macro, spec-search-replace's count and expand, the condition selector, spec-add-changelog.

None of them changes what an overlay without them does (tests/overlays/test_overlay_reference_table.py
pins that); on the original main (fc1b5b1) every configuration below was refused as an unknown type or key.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from overlay_kit import edit, make_tree, overlay, spec

from tributary.config import load_project
from tributary.errors import ConfigError, OverlayError
from tributary.overlays import apply_overlay, apply_spec_overlay

# --- spec-set-macro -----------------------------------------------------------------------------------------


def test_set_macro_changes_every_definition_keeping_keyword_options_and_spacing() -> None:
    before = spec("%global  commit  1a2b", "%if 0%{?rhel}", "%define commit 9f9f", "%endif",
                  "%define short(n) %{lua: x}\\", "  continued", "Name: x")
    after = spec("%global  commit  c0ffee", "%if 0%{?rhel}", "%define commit c0ffee", "%endif",
                 "%define short(n) %{lua: x}\\", "  continued", "Name: x")
    assert edit(before, "spec-set-macro", macro="commit", value="c0ffee") == after
    assert edit(before, "spec-set-macro", macro="short", value="%{sub %commit 1 7}") == spec(
        "%global  commit  1a2b", "%if 0%{?rhel}", "%define commit 9f9f", "%endif", "%define short(n) %{sub %commit 1 7}",
        "Name: x")


def test_set_macro_defines_an_absent_macro_at_the_top() -> None:
    assert edit(spec("Name: x"), "spec-set-macro", macro="with_docs", value="0") == spec("%global with_docs 0", "Name: x")


def test_set_macro_ignores_definitions_inside_another_macros_body() -> None:
    before = spec("%define outer \\", "%global inner 1", "Name: x")
    assert edit(before, "spec-set-macro", macro="inner", value="2") == spec("%global inner 2", *before.splitlines())


@pytest.mark.parametrize(("fields", "message"), [
    ({"macro": "%commit", "value": "1"}, "macro '%commit' is not a macro name (write it without '%')"),
    ({"macro": "commit", "value": " "}, "value must not be empty"),
    ({"macro": "commit", "value": "a\\"}, "value must be one line"),
])
def test_set_macro_errors(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        overlay("spec-set-macro", **fields)


# --- spec-search-replace: count and expand -----------------------------------------------------------------

BUILD = spec("Name: x", "%build", "make -j1 all", "make -j1 check", "%install", "make -j1 install")


def test_count_matching_applies_as_without_it() -> None:
    assert edit(BUILD, "spec-search-replace", section="%build", regex="-j1", replacement="-j4", count=2) == \
        edit(BUILD, "spec-search-replace", section="%build", regex="-j1", replacement="-j4")


@pytest.mark.parametrize(("count", "found"), [(1, "matched 2 time(s) in section %build (spec lines 3, 4)"),
                                              (3, "matched 2 time(s) in section %build (spec lines 3, 4)")])
def test_more_or_fewer_matches_than_count_is_an_error(count: int, found: str) -> None:
    with pytest.raises(OverlayError) as raised:
        edit(BUILD, "spec-search-replace", section="%build", regex="-j1", replacement="-j4", count=count)
    assert str(raised.value) == f"regex '-j1' {found}, but count = {count} expects exactly {count}"


def test_expand_writes_the_groups() -> None:
    before = spec("Requires: foo >= 1.2", "Requires: bar >= 3.4")
    after = spec("Requires: foo >= 1.2.0", "Requires: bar >= 3.4.0")
    assert edit(before, "spec-search-replace", regex=r"(?P<name>\w+) >= (\d+)\.(\d+)$",
                replacement=r"\g<name> >= \2.\3.0", expand=True) == after
    assert edit(before, "spec-search-replace", regex=r"(\w+) >= (\d+\.\d+)$", replacement=r"\1 >= \2.0",
                expand=True, count=2) == after


def test_without_expand_the_replacement_stays_literal_as_in_azldev() -> None:
    assert edit(spec("a = 1"), "spec-search-replace", regex=r"(\d)", replacement=r"\1\1") == spec(r"a = \1\1")


def test_a_bad_count_or_template_is_a_configuration_error_with_its_line(make_project) -> None:
    root = make_project({
        "azldev.toml": '[components.x]\nspec = { type = "local", path = "x.spec" }\n\n'
                       '[[components.x.overlays]]\ntype = "spec-search-replace"\nregex = "(a)"\n'
                       'replacement = "\\\\2"\nexpand = true\n',
        "x.spec": "Name: x\n",
    })
    with pytest.raises(ConfigError) as raised:
        load_project(root)
    assert str(raised.value).endswith("azldev.toml:4: components.x.overlays[0]: replacement '\\\\2' is not a valid template for the regex: "
                                      "invalid group reference 2 at position 1")
    toml = root / "azldev.toml"
    toml.write_text(toml.read_text().replace("expand = true", "count = 0").replace('"\\\\2"', '"b"'))
    with pytest.raises(ConfigError, match=r"azldev.toml:\d+: .*count.*greater than or equal to 1"):
        load_project(root)


# --- condition: one %if branch ---------------------------------------------------------------------------------

BRANCHED = spec("Name: x", "%if 0%{?rhel}", "Release: 1%{?dist}", "BuildRequires: a", "%else", "Release: 2%{?dist}",
                "%endif", "License: MIT", "", "%description", "d", "%if %{with docs}", "%package doc", "Summary: d",
                "%description doc", "dd", "%endif", "%build", "%if %{with x}", "make A", "%else", "make B", "%endif")


def test_set_tag_in_one_branch_only() -> None:
    after = edit(BRANCHED, "spec-set-tag", tag="Release", value="5%{?dist}", condition="%if   0%{?rhel}")
    assert after == BRANCHED.replace("Release: 1%{?dist}", "Release: 5%{?dist}")
    without = edit(BRANCHED, "spec-set-tag", tag="Release", value="5%{?dist}")
    assert without.count("Release: 5%{?dist}") == 2  # azldev: every branch


def test_the_else_branch_and_adding_at_a_branchs_end() -> None:
    assert edit(BRANCHED, "spec-update-tag", tag="Release", value="7", condition="!%if 0%{?rhel}") == \
        BRANCHED.replace("Release: 2%{?dist}", "Release: 7")
    assert edit(BRANCHED, "spec-add-tag", tag="BuildRequires", value="b", condition="!%if 0%{?rhel}") == \
        BRANCHED.replace("Release: 2%{?dist}\n", "Release: 2%{?dist}\nBuildRequires: b\n")
    assert edit(BRANCHED, "spec-insert-tag", tag="BuildRequires", value="c", condition="%if 0%{?rhel}") == \
        BRANCHED.replace("BuildRequires: a\n", "BuildRequires: a\nBuildRequires: c\n")
    assert edit(BRANCHED, "spec-remove-tag", tag="Release", condition="%IF 0%{?rhel}") == \
        BRANCHED.replace("Release: 1%{?dist}\n", "")


def test_lines_and_search_replace_in_a_branch() -> None:
    assert edit(BRANCHED, "spec-append-lines", section="%build", lines=["make C"], condition="%if %{with x}") == \
        BRANCHED.replace("make A\n", "make A\nmake C\n")
    assert edit(BRANCHED, "spec-prepend-lines", lines=["# docs"], condition="%if %{with docs}") == \
        BRANCHED.replace("%if %{with docs}\n", "%if %{with docs}\n# docs\n")
    assert edit(BRANCHED, "spec-search-replace", regex="^make", replacement="gmake", condition="!%if %{with x}") == \
        BRANCHED.replace("make B", "gmake B")


def test_sections_whose_header_is_in_the_branch() -> None:
    assert edit(BRANCHED, "spec-add-tag", package="doc", tag="Requires", value="r", condition="%if %{with docs}") == \
        BRANCHED.replace("Summary: d\n", "Summary: d\nRequires: r\n")
    assert edit(BRANCHED, "spec-remove-section", section="%description", package="doc",
                condition="%if %{with docs}") == BRANCHED.replace("%description doc\ndd\n", "")


def test_a_branch_the_spec_lacks_lists_the_ones_it_has() -> None:
    with pytest.raises(OverlayError) as raised:
        edit(BRANCHED, "spec-set-tag", tag="Release", value="5", condition="%if 0%{?fedora}")
    assert str(raised.value) == (
        "no branch '%if 0%{?fedora}' in the spec (its branches: '%if 0%{?rhel}' at line 2, '!%if 0%{?rhel}' at line 5, "
        "'%if %{with docs}' at line 12, '%if %{with x}' at line 19, '!%if %{with x}' at line 21)")
    with pytest.raises(OverlayError, match=r"branch '%if %\{with x\}' \(line 19\) is not in the main package"):
        edit(BRANCHED, "spec-set-tag", tag="Vendor", value="V", condition="%if %{with x}")


@pytest.mark.parametrize("condition", ["0%{?rhel}", "%endif", "%else", "!%elif x", "%if"])
def test_a_condition_must_name_a_branch_opening_directive(condition: str) -> None:
    with pytest.raises(ValueError, match="condition"):
        overlay("spec-set-tag", tag="Release", value="1", condition=condition)


def test_types_without_a_branch_to_choose_do_not_take_condition() -> None:
    with pytest.raises(ValueError, match="'patch-add' does not take condition"):
        overlay("patch-add", source="x.patch", condition="%if 1")


# --- spec-add-changelog -----------------------------------------------------------------------------------------

def add_entry(spec_text: str, /, **fields: object) -> str:
    return apply_spec_overlay(spec_text, overlay("spec-add-changelog", **fields))


STATIC = spec("Name: x", "Version: 1.2", "Release: 3%{?dist}", "%description", "d", "%changelog",
              "* Mon Jan 06 2025 U <u@example.org> - 1.2-3", "- upstream")


def test_a_static_changelog_gets_the_entry_on_top_with_its_version() -> None:
    after = add_entry(STATIC, author="Tributary Builders <b@example.org>", date="2025-02-03",
                 text="Build with the distribution's flags\n100% reproducible")
    assert after == STATIC.replace("%changelog\n", "%changelog\n* Mon Feb 03 2025 Tributary Builders <b@example.org> - "
                                   "1.2-3\n- Build with the distribution's flags\n- 100%% reproducible\n\n")


def test_without_a_date_the_entry_takes_the_newest_ones() -> None:
    after = add_entry(STATIC, author="B <b@example.org>", text="- why")
    assert "%changelog\n* Mon Jan 06 2025 B <b@example.org> - 1.2-3\n- why\n\n* Mon Jan 06 2025 U" in after


def test_a_spec_without_changelog_gets_one() -> None:
    after = add_entry(spec("Name: x", "Version: 1", "Release: 1", "%description", "d"),
                 author="B <b@example.org>", date=dt.date(2025, 3, 1), text="why")
    assert after.endswith("d\n\n%changelog\n* Sat Mar 01 2025 B <b@example.org> - 1-1\n- why\n")


def test_an_autochangelog_spec_is_left_to_the_history() -> None:
    text = spec("Name: x", "Release: %autorelease", "%changelog", "%autochangelog")
    assert add_entry(text, author="B <b@example.org>", text="why") == text


def test_changelog_errors() -> None:
    with pytest.raises(OverlayError, match=r"date 2024-12-31 is older than the spec's newest changelog entry \(2025-01-06\)"):
        add_entry(STATIC, author="B <b@example.org>", date="2024-12-31", text="why")
    with pytest.raises(ValueError, match="author 'B' must read 'Name <email>'"):
        overlay("spec-add-changelog", author="B", text="why")
    with pytest.raises(OverlayError, match="give the entry a date"):
        add_entry(spec("Name: x"), author="B <b@example.org>", text="why")


def test_aim_met_of_set_macro(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, spec("%global v 2", "Name: x"))
    assert overlay("spec-set-macro", macro="v", value="2").aim_met(tree)
    assert not overlay("spec-set-macro", macro="v", value="3").aim_met(tree)
    apply_overlay(overlay("spec-set-macro", macro="v", value="2"), tree)  # already there: no error
