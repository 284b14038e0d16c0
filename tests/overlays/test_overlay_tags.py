"""spec-add-tag, -insert-tag, -set-tag, -update-tag, -remove-tag: the edge cases of reference 2.2."""

from __future__ import annotations

import pytest
from overlay_kit import edit, spec

from tributary.errors import OverlayError

# -- add ------------------------------------------------------------------------------------------


def test_add_tag_allows_duplicates() -> None:
    before = spec("BuildRequires: gcc", "%description")
    assert edit(before, "spec-add-tag", tag="BuildRequires", value="gcc") == spec("BuildRequires: gcc", "BuildRequires: gcc", "%description")


def test_add_tag_lands_inside_an_if_wrapping_the_next_section() -> None:
    before = spec("Name: x", "%if 0%{?a}", "%package foo", "%endif")
    assert edit(before, "spec-add-tag", tag="Vendor", value="v") == spec("Name: x", "%if 0%{?a}", "Vendor: v", "%package foo", "%endif")


def test_add_tag_to_a_headerless_spec_goes_to_the_end() -> None:
    assert edit(spec("Name: x", "# trailing comment"), "spec-add-tag", tag="A", value="b") == spec("Name: x", "# trailing comment", "A: b")


def test_add_tag_to_a_spec_starting_with_a_header_goes_to_the_top() -> None:
    assert edit(spec("%description", "d"), "spec-add-tag", tag="A", value="b") == spec("A: b", "%description", "d")


def test_add_tag_matches_the_package_as_written() -> None:
    before = spec("Name: x", "%package -n %{name}+xen-devel", "Summary: s", "%package devel", "Summary: d")
    after = spec("Name: x", "%package -n %{name}+xen-devel", "Summary: s", "Requires: y", "%package devel", "Summary: d")
    assert edit(before, "spec-add-tag", package="%{name}+xen-devel", tag="Requires", value="y") == after


def test_add_tag_goes_into_every_matching_package_section() -> None:
    before = spec("%if a", "%package devel", "Summary: 1", "%else", "%package devel", "Summary: 2", "%endif")
    after = spec("%if a", "%package devel", "Summary: 1", "%else", "Requires: r", "%package devel", "Summary: 2", "%endif", "Requires: r")
    assert edit(before, "spec-add-tag", package="devel", tag="Requires", value="r") == after


def test_add_tag_uses_the_files_line_ending() -> None:
    before = "Name: x\r\n%description\r\n"
    assert edit(before, "spec-add-tag", tag="A", value="b") == "Name: x\r\nA: b\r\n%description\r\n"


def test_add_tag_to_missing_subpackage_is_an_error() -> None:
    with pytest.raises(OverlayError, match=r"no %package section for package 'devel'"):
        edit(spec("Name: x", "%files devel"), "spec-add-tag", package="devel", tag="A", value="b")


# -- insert ---------------------------------------------------------------------------------------


def test_insert_tag_after_last_tag_of_its_family() -> None:
    before = spec("Name: x", "Source0: a.tgz", "source1: b.tgz", "BuildRequires: gcc")
    after = spec("Name: x", "Source0: a.tgz", "source1: b.tgz", "Source9999: x.azl.macros", "BuildRequires: gcc")
    assert edit(before, "spec-insert-tag", tag="Source9999", value="x.azl.macros") == after


def test_insert_tag_without_family_goes_after_last_tag() -> None:
    before = spec("Name: x", "License: MIT", "", "%description")
    after = spec("Name: x", "License: MIT", "Source9999: m", "", "%description")
    assert edit(before, "spec-insert-tag", tag="Source9999", value="m") == after


def test_insert_tag_without_tags_behaves_like_add_tag() -> None:
    before = spec("# only a comment", "", "%description")
    assert edit(before, "spec-insert-tag", tag="Source0", value="m") == spec("# only a comment", "", "Source0: m", "%description")


def test_insert_tag_leaves_nested_conditionals_entirely() -> None:
    before = spec("Source0: a", "%if 1", "%ifarch x86_64", "Source1: b", "%endif", "Other: o", "%endif", "Name: x")
    after = spec("Source0: a", "%if 1", "%ifarch x86_64", "Source1: b", "%endif", "Other: o", "%endif", "Source2: c", "Name: x")
    assert edit(before, "spec-insert-tag", tag="Source2", value="c") == after


def test_insert_tag_stays_put_when_the_endif_is_beyond_the_section() -> None:
    before = spec("Source0: a", "%if 1", "Source1: b", "%package x", "%endif")
    after = spec("Source0: a", "%if 1", "Source1: b", "Source2: c", "%package x", "%endif")
    assert edit(before, "spec-insert-tag", tag="Source2", value="c") == after


def test_insert_tag_into_subpackage() -> None:
    before = spec("Requires: main", "%package devel", "Requires: a", "Summary: s", "%description devel")
    after = spec("Requires: main", "%package devel", "Requires: a", "Requires: b", "Summary: s", "%description devel")
    assert edit(before, "spec-insert-tag", package="devel", tag="Requires", value="b") == after


def test_insert_tag_into_missing_subpackage_is_an_error() -> None:
    with pytest.raises(OverlayError, match="no %package section for package 'nope'"):
        edit(spec("Name: x"), "spec-insert-tag", package="nope", tag="A", value="b")


# -- set / update ----------------------------------------------------------------------------------


def test_set_tag_in_subpackage_updates_or_adds() -> None:
    before = spec("Vendor: main", "%package devel", "Summary: s", "%files devel")
    added = edit(before, "spec-set-tag", package="devel", tag="Vendor", value="V")
    assert added == spec("Vendor: main", "%package devel", "Summary: s", "Vendor: V", "%files devel")
    assert edit(added, "spec-set-tag", package="devel", tag="vendor", value="W") == spec(
        "Vendor: main", "%package devel", "Summary: s", "vendor: W", "%files devel"
    )


def test_update_tag_uses_the_overlays_spelling_and_touches_only_its_package() -> None:
    before = spec("release:    1", "%package devel", "Release: 9")
    assert edit(before, "spec-update-tag", tag="Release", value="2") == spec("Release: 2", "%package devel", "Release: 9")


def test_update_tag_keeps_requires_post_distinct() -> None:
    before = spec("Requires: a", "Requires(post): b")
    assert edit(before, "spec-update-tag", tag="Requires(post)", value="c") == spec("Requires: a", "Requires(post): c")


def test_update_tag_ignores_column_zero_comments_but_not_indented_tags() -> None:
    before = spec("#Release: 0", "  Release: 1")
    assert edit(before, "spec-update-tag", tag="Release", value="2") == spec("#Release: 0", "Release: 2")


def test_update_tag_errors() -> None:
    with pytest.raises(OverlayError, match="no tag 'Release' in the main package"):
        edit(spec("Name: x", "%package devel", "Release: 1"), "spec-update-tag", tag="Release", value="2")
    with pytest.raises(OverlayError, match="no tag 'Release' in package 'devel'"):
        edit(spec("Release: 1", "%package devel", "Summary: s"), "spec-update-tag", package="devel", tag="Release", value="2")
    with pytest.raises(OverlayError, match="no %package section for package 'devel'"):
        edit(spec("Release: 1"), "spec-update-tag", package="devel", tag="Release", value="2")


# -- remove ---------------------------------------------------------------------------------------


def test_remove_tag_value_is_case_insensitive_and_whole() -> None:
    before = spec("Obsoletes: chromedriver chromium chromium-headless", "Obsoletes: chromium", "Obsoletes: CHROMIUM")
    assert edit(before, "spec-remove-tag", tag="obsoletes", value="Chromium") == spec("Obsoletes: chromedriver chromium chromium-headless")
    assert edit(before, "spec-remove-tag", tag="Obsoletes", value="chromedriver chromium chromium-headless") == spec(
        "Obsoletes: chromium", "Obsoletes: CHROMIUM"
    )


def test_remove_tag_without_value_removes_every_instance_in_the_package_only() -> None:
    before = spec("BuildRequires: a", "%if x", "BuildRequires: b", "%endif", "%package devel", "BuildRequires: c")
    assert edit(before, "spec-remove-tag", tag="BuildRequires") == spec("%if x", "%endif", "%package devel", "BuildRequires: c")
    assert edit(before, "spec-remove-tag", tag="BuildRequires", package="devel") == spec(
        "BuildRequires: a", "%if x", "BuildRequires: b", "%endif", "%package devel"
    )


def test_remove_tag_with_empty_value_means_any_value() -> None:
    assert edit(spec("Patch0: a", "Patch0: b", "Name: n"), "spec-remove-tag", tag="Patch0", value="") == spec("Name: n")


def test_remove_tag_errors() -> None:
    with pytest.raises(OverlayError, match="no tag 'BuildRequires' with value 'xen-devel' in the main package"):
        edit(spec("BuildRequires: gcc"), "spec-remove-tag", tag="BuildRequires", value="xen-devel")
    with pytest.raises(OverlayError, match="no tag 'Patch0' in the main package"):
        edit(spec("%description", "Patch0: in a description, not a tag"), "spec-remove-tag", tag="Patch0")


def test_insert_tag_reference_example_and_duplicates() -> None:
    before = spec("Name: x", "Source0: a.tgz", "BuildRequires: gcc")
    after = spec("Name: x", "Source0: a.tgz", "Source9999: x.azl.macros", "BuildRequires: gcc")
    assert edit(before, "spec-insert-tag", tag="Source9999", value="x.azl.macros") == after
    assert edit(after, "spec-insert-tag", tag="Source9999", value="x.azl.macros") == spec(
        "Name: x", "Source0: a.tgz", "Source9999: x.azl.macros", "Source9999: x.azl.macros", "BuildRequires: gcc"
    )
