"""spec-prepend-lines and spec-append-lines."""

from __future__ import annotations

import pytest
from overlay_kit import edit, spec

from tributary.errors import OverlayError


def test_prepend_goes_after_each_matching_header() -> None:
    before = spec("%if a", "%files devel", "/a", "%else", "%files devel", "/b", "%endif")
    after = spec("%if a", "%files devel", "# x", "/a", "%else", "%files devel", "# x", "/b", "%endif")
    assert edit(before, "spec-prepend-lines", section="%files", package="devel", lines=["# x"]) == after


def test_empty_package_means_main_package_only() -> None:
    before = spec("%files", "/a", "%files devel", "/b")
    after = spec("%files", "/a", "/extra", "%files devel", "/b")
    assert edit(before, "spec-append-lines", section="%files", lines=["/extra"]) == after
    assert edit(before, "spec-prepend-lines", section="%files", package="", lines=["/extra"]) == spec(
        "%files", "/extra", "/a", "%files devel", "/b"
    )


def test_append_with_package_uses_the_reference_example() -> None:
    before = spec("%files examples", "/usr/share/x", "%changelog")
    after = spec("%files examples", "/usr/share/x", "", "%gopkgfiles", "%changelog")
    assert edit(before, "spec-append-lines", section="%files", package="examples", lines=["", "%gopkgfiles"]) == after


def test_append_without_section_goes_to_the_very_end_usually_the_changelog() -> None:
    before = spec("Name: x", "%changelog", "* entry")
    assert edit(before, "spec-append-lines", lines=["tail"]) == spec("Name: x", "%changelog", "* entry", "tail")


def test_append_to_a_file_without_final_newline_terminates_the_last_line() -> None:
    assert edit("Name: x", "spec-append-lines", lines=["tail"]) == "Name: x\ntail\n"


def test_append_to_the_last_section_goes_to_end_of_file() -> None:
    assert edit(spec("%build", "make"), "spec-append-lines", section="%build", lines=["done"]) == spec("%build", "make", "done")


def test_embedded_newlines_are_written_verbatim() -> None:
    before = spec("%install", "make install", "%files")
    after = spec("%install", "make install", "a", "b", "%files")
    assert edit(before, "spec-append-lines", section="%install", lines=["a\nb"]) == after


def test_section_names_match_case_sensitively() -> None:
    with pytest.raises(OverlayError, match="no %Build section for the main package"):
        edit(spec("%build", "make"), "spec-prepend-lines", section="%Build", lines=["x"])


def test_missing_section_or_package_is_an_error() -> None:
    with pytest.raises(OverlayError, match="no %check section for the main package"):
        edit(spec("%build"), "spec-append-lines", section="%check", lines=["x"])
    with pytest.raises(OverlayError, match="no %files section for package 'devel'"):
        edit(spec("%files"), "spec-prepend-lines", section="%files", package="devel", lines=["x"])


def test_prepend_without_section_goes_above_everything() -> None:
    before = "# comment\r\nName: x\r\n"
    assert edit(before, "spec-prepend-lines", lines=["a", "b"]) == "a\r\nb\r\n# comment\r\nName: x\r\n"


def test_prepend_reference_example_keeps_quotes_and_dollars() -> None:
    line = 'export CFLAGS="$CFLAGS -std=gnu89"'
    assert edit(spec("%build", "%configure"), "spec-prepend-lines", section="%build", lines=[line]) == spec("%build", line, "%configure")
