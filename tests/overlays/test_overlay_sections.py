"""spec-remove-section and spec-remove-subpackage, with conditional balancing."""

from __future__ import annotations

import pytest
from overlay_kit import edit, spec

from tributary.errors import OverlayError


def test_conditional_fully_inside_is_removed_with_the_section() -> None:
    before = spec("%files devel", "%if a", "/x", "%endif", "", "%changelog")
    assert edit(before, "spec-remove-section", section="%files", package="devel") == spec("%changelog")


def test_trailing_if_of_the_next_section_is_kept() -> None:
    before = spec("%files devel", "/x", "%if %{with extra}", "%files extra", "/y", "%endif")
    after = spec("%if %{with extra}", "%files extra", "/y", "%endif")
    assert edit(before, "spec-remove-section", section="%files", package="devel") == after


def test_wrapped_section_leaves_an_empty_wrapper_and_the_next_sections_stay() -> None:
    before = spec("Name: x", "%if 0%{?with_devel}", "%package devel", "Summary: d", "", "%endif", "", "%description", "main")
    after = spec("Name: x", "%if 0%{?with_devel}", "%endif", "", "%description", "main")
    assert edit(before, "spec-remove-section", section="%package", package="devel") == after


def test_straddling_if_followed_by_content_is_an_error() -> None:
    before = spec("%files devel", "/x", "%if a", "/y", "%files other", "%endif")
    with pytest.raises(OverlayError, match="runs into the next section"):
        edit(before, "spec-remove-section", section="%files", package="devel")


def test_straddling_endif_followed_by_content_is_an_error() -> None:
    before = spec("%if a", "%package devel", "Summary: d", "%endif", "Requires: r", "%description devel")
    with pytest.raises(OverlayError, match="encloses section content"):
        edit(before, "spec-remove-section", section="%package", package="devel")


def test_else_of_an_outer_conditional_is_an_error() -> None:
    before = spec("%if a", "%files devel", "/a", "%else", "/b", "%endif")
    with pytest.raises(OverlayError, match=r"line 4 is an %else/%elif"):
        edit(before, "spec-remove-section", section="%files", package="devel")


def test_else_of_a_conditional_inside_the_section_is_fine() -> None:
    before = spec("%files devel", "%if a", "/a", "%else", "/b", "%endif", "%files")
    assert edit(before, "spec-remove-section", section="%files", package="devel") == spec("%files")


def test_unmatched_conditionals_anywhere_are_an_error() -> None:
    with pytest.raises(OverlayError, match="unmatched %if at line 1"):
        edit(spec("%if a", "%files devel", "/a"), "spec-remove-section", section="%files", package="devel")
    with pytest.raises(OverlayError, match="unmatched %endif at line 4"):
        edit(spec("%files devel", "/a", "%build", "%endif"), "spec-remove-section", section="%files", package="devel")


def test_missing_section_is_reported_before_any_conditional_problem() -> None:
    with pytest.raises(OverlayError, match="no %files section for package 'devel'"):
        edit(spec("%if a", "%files"), "spec-remove-section", section="%files", package="devel")


def test_empty_package_removes_the_main_package_section_only() -> None:
    before = spec("%files", "/a", "%files devel", "/b")
    assert edit(before, "spec-remove-section", section="%files") == spec("%files devel", "/b")


def test_remove_section_keeps_crlf_endings() -> None:
    before = "%build\r\nmake\r\n%install\r\nmake install\r\n"
    assert edit(before, "spec-remove-section", section="%build") == "%install\r\nmake install\r\n"


def test_remove_subpackage_removes_scriptlets_and_triggers_too() -> None:
    before = spec(
        "Name: x", "%package devel", "Summary: d", "%description devel", "d", "%post devel", "/sbin/ldconfig",
        "%triggerin devel -- bash", "echo", "%files devel", "/d", "%files", "/m",
    )
    assert edit(before, "spec-remove-subpackage", package="devel") == spec("Name: x", "%files", "/m")


def test_remove_subpackage_matches_the_form_the_header_uses() -> None:
    before = spec("%package -n foo-devel", "Summary: a", "%package devel", "Summary: b", "%files -n foo-devel", "/a")
    assert edit(before, "spec-remove-subpackage", package="foo-devel") == spec("%package devel", "Summary: b")
    with pytest.raises(OverlayError, match="no section belongs to package 'x-devel'"):
        edit(before, "spec-remove-subpackage", package="x-devel")


def test_remove_subpackage_wrapped_in_one_conditional_keeps_one_wrapper() -> None:
    before = spec("%if 0%{?with_devel}", "%package devel", "Summary: d", "%description devel", "d", "%files devel", "/x", "%endif", "%changelog")
    assert edit(before, "spec-remove-subpackage", package="devel") == spec("%if 0%{?with_devel}", "%endif", "%changelog")


def test_conditional_inside_a_macro_body_does_not_unbalance_removal() -> None:
    before = spec("%global foo \\", "%if 0\\", "x\\", "%{nil}", "%files devel", "/a", "%files")
    assert edit(before, "spec-remove-section", section="%files", package="devel") == spec("%global foo \\", "%if 0\\", "x\\", "%{nil}", "%files")
