"""spec-search-replace: per line, headers never visited, literal replacements, the package rule."""

from __future__ import annotations

import re

import pytest
from overlay_kit import edit, spec

from tributary.errors import OverlayError
from tributary.overlays.search_replace import replace_all_literal


def test_replaces_every_occurrence_on_every_line() -> None:
    before = spec("%build", "a a", "b a")
    assert edit(before, "spec-search-replace", regex="a", replacement="x") == spec("%build", "x x", "b x")


def test_replacement_is_literal() -> None:
    before = spec("BuildRequires: foo-devel")
    after = spec("BuildRequires: $1 \\1 \\g<1>")
    assert edit(before, "spec-search-replace", regex=r"(foo)-devel", replacement=r"$1 \1 \g<1>") == after


def test_anchored_regex_per_line_in_the_preamble() -> None:
    before = spec("BuildRequires:  setup >= 2.15.0-3", "Name: x")
    after = spec("BuildRequires:  setup >= 2.15.0-1", "Name: x")
    assert edit(
        before, "spec-search-replace", regex=r"^BuildRequires:\s+setup >= 2\.15\.0-3$", replacement="BuildRequires:  setup >= 2.15.0-1"
    ) == after


def test_anchors_see_crlf_lines_without_their_ending() -> None:
    assert edit("Requires: gcc\r\n", "spec-search-replace", regex="gcc$", replacement="clang") == "Requires: clang\r\n"


def test_empty_replacement_leaves_an_empty_line() -> None:
    before = spec("%build", "./configure \\", "  --enable-foo \\", "  --bar")
    after = spec("%build", "./configure \\", "", "  --bar")
    assert edit(before, "spec-search-replace", section="%build", regex=r"^\s*--enable-foo \\$") == after


def test_newline_in_replacement_splits_the_line() -> None:
    assert edit(spec("%build", "make"), "spec-search-replace", regex="^make$", replacement="make\nmake check") == spec(
        "%build", "make", "make check"
    )


def test_section_without_package_hits_every_such_section() -> None:
    before = spec("%files", "/usr/lib/a", "%files devel", "/usr/lib/b", "%build", "/usr/lib")
    after = spec("%files", "%{_libdir}/a", "%files devel", "%{_libdir}/b", "%build", "/usr/lib")
    assert edit(before, "spec-search-replace", section="%files", regex="/usr/lib/", replacement="%{_libdir}/") == after


def test_package_filter_applies_when_set() -> None:
    before = spec("%files", "/a", "%files devel", "/a", "%post devel", "/a")
    assert edit(before, "spec-search-replace", section="%files", package="devel", regex="/a", replacement="/b") == spec(
        "%files", "/a", "%files devel", "/b", "%post devel", "/a"
    )
    assert edit(before, "spec-search-replace", package="devel", regex="/a", replacement="/b") == spec(
        "%files", "/a", "%files devel", "/b", "%post devel", "/b"
    )
    assert edit(before, "spec-search-replace", package="", regex="/a", replacement="/b") == spec(
        "%files", "/b", "%files devel", "/b", "%post devel", "/b"
    )


def test_header_lines_are_never_edited_even_without_a_section() -> None:
    before = spec("Name: foo", "%files foo", "/foo")
    assert edit(before, "spec-search-replace", regex="foo", replacement="bar") == spec("Name: bar", "%files foo", "/bar")


def test_no_change_is_an_error_with_a_clear_message() -> None:
    with pytest.raises(OverlayError, match=r"regex 'nothing' matched no line in section %build"):
        edit(spec("%build", "make"), "spec-search-replace", section="%build", regex="nothing", replacement="x")
    with pytest.raises(OverlayError, match="left every line unchanged"):
        edit(spec("%build", "make"), "spec-search-replace", regex="make", replacement="make")
    with pytest.raises(OverlayError, match="headers are never edited"):
        edit(spec("%package -n foo"), "spec-search-replace", regex="^%package -n foo$", replacement="x")
    with pytest.raises(OverlayError, match=r"no section %check .*to search"):
        edit(spec("%build", "make"), "spec-search-replace", section="%check", regex="make", replacement="x")
    with pytest.raises(OverlayError, match="of package 'devel'"):
        edit(spec("%files devel", "/a"), "spec-search-replace", package="devel", regex="/b", replacement="x")


@pytest.mark.parametrize(
    ("regex", "text", "expected"),
    [
        ("x*", "axb", "-a-b-"),  # Go skips the empty match right after 'x'; re.sub gives -a--b-
        ("", "ab", "-a-b-"),
        ("a|", "ab", "-b-"),  # the empty match after "a" abuts it and is skipped
        ("b*", "abb", "-a-"),
        ("(?m)^", "A\nB\n", "-A\n-B\n-"),
        ("z", "abc", "abc"),
    ],
)
def test_replace_all_literal_walks_matches_like_go(regex: str, text: str, expected: str) -> None:
    assert replace_all_literal(re.compile(regex), text, "-") == expected


def test_matching_never_spans_lines_even_with_dotall() -> None:
    with pytest.raises(OverlayError, match="matched no line"):
        edit(spec("%build", "make", "install"), "spec-search-replace", regex="(?s)make.install", replacement="x")
