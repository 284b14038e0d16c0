"""Properties over random specs: insertions add exactly their line and leave every other byte alone."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from overlay_kit import edit

from tributary.errors import OverlayError
from tributary.spec import parse

LINES = [
    "Name: x", "BuildRequires: gcc", "Source0: a.tgz", "Source1: b.tgz", "", "# comment", "%if 0%{?fedora}", "%else",
    "%endif", "%ifarch x86_64", "%package devel", "Summary: d", "%description", "%description devel", "text",
    "%build", "make", "%files", "%files devel", "/usr/bin/x", "%changelog", "- entry",
]

specs = st.lists(st.sampled_from(LINES), max_size=30).map(lambda lines: "".join(line + "\n" for line in lines))
NEW = "Marker: inserted"


def without_marker(text: str) -> str:
    lines = text.splitlines(keepends=True)
    assert lines.count(NEW + "\n") == 1
    lines.remove(NEW + "\n")
    return "".join(lines)


@settings(max_examples=150, deadline=None)
@given(specs, st.sampled_from(["spec-add-tag", "spec-insert-tag", "spec-set-tag"]))
def test_tag_insertions_add_one_line_and_change_nothing_else(text: str, kind: str) -> None:
    assert without_marker(edit(text, kind, tag="Marker", value="inserted")) == text


@settings(max_examples=150, deadline=None)
@given(specs, st.sampled_from(["spec-prepend-lines", "spec-append-lines"]), st.sampled_from([None, "%build", "%files"]))
def test_line_insertions_add_one_line_per_matching_section(text: str, kind: str, section: str | None) -> None:
    fields = {"lines": [NEW]} if section is None else {"lines": [NEW], "section": section}
    try:
        result = edit(text, kind, **fields)
    except OverlayError:
        assume(False)
    matches = 1 if section is None else sum(1 for line in text.splitlines() if line == section)
    assert result.splitlines().count(NEW) == matches
    assert "".join(line for line in result.splitlines(keepends=True) if line != NEW + "\n") == text


@settings(max_examples=150, deadline=None)
@given(specs)
def test_insert_tag_stays_in_the_preamble_and_out_of_conditionals_it_could_leave(text: str) -> None:
    doc = parse(edit(text, "spec-insert-tag", tag="Source9", value="x"))
    index = doc.lines.index("Source9: x")
    preamble = doc.sections[0]
    assert index < preamble.end
    stack = doc.conditional_stack(index)
    if stack:
        closing = doc.conditionals.pairs.get(stack[0])
        assert closing is None or closing >= preamble.end
