"""str(parse(text)) == text for any text, and the fast structural scan agrees with a naive reading."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from tributary.spec import parse, parse_header
from tributary.spec.conditionals import Directive, directive_of

FRAGMENTS = [
    "\n", "\r\n", "\r", "\t", " ", "#", "%", ":", "\\", "\u00e9", "\u2028", "\x0b", "\x85", "\u3000",
    "%if 0%{?fedora}", "%ifarch x86_64", "%else", "%elif 1", "%endif", "%If 1", "%ENDIF",
    "%package devel", "%package -n foo", "%Package x", "%files", "%files -f list.txt devel",
    "%description -n %{name}-libs", "%changelog", "%patchlist", "%triggerin -- bash", "%post -p /sbin/ldconfig",
    "%build", "  %build", "#%build", "%{name}", "%global foo \\", "%define bar() \\", "%prep\r",
    "Name: x", "BuildRequires: gcc", "Requires(post): y", "  # Indented: comment", "Source0: http://a/b",
]

spec_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=60).map("".join)


@settings(max_examples=400, deadline=None)
@given(spec_text)
def test_round_trip_is_byte_exact(text: str) -> None:
    assert str(parse(text)) == text


@settings(max_examples=300, deadline=None)
@given(spec_text)
def test_sections_tile_the_document_and_match_a_line_by_line_reading(text: str) -> None:
    doc = parse(text)
    sections = doc.sections
    assert sections[0].name == "" and sections[0].package == "" and sections[0].start == 0
    assert sections[-1].end == len(doc)
    for before, after in itertools.pairwise(sections):
        assert before.end == after.start
    expected = [(i, header) for i, line in enumerate(doc.lines) if (header := parse_header(line)) is not None]
    assert [(s.start, (s.name, s.package)) for s in sections[1:]] == expected


@settings(max_examples=300, deadline=None)
@given(spec_text)
def test_conditional_stacks_match_a_naive_count(text: str) -> None:
    doc = parse(text)
    conditionals = doc.conditionals
    assert len(conditionals.stacks) == len(doc)
    depth = 0
    in_macro_body = False
    for index, line in enumerate(doc.lines):
        if in_macro_body:
            in_macro_body = line.endswith("\\")
            assert conditionals.depth(index) == max(depth, 0)
            continue
        tokens = line.split()
        if tokens and tokens[0].lower() in ("%define", "%global") and line.lstrip()[:1] == "%":
            in_macro_body = line.endswith("\\")
        kind = directive_of(line) if line.lstrip()[:1] == "%" and not in_macro_body else None
        if kind is Directive.OPEN:
            depth += 1
            assert conditionals.depth(index) == depth
        elif kind is Directive.CLOSE and depth > 0 and index not in conditionals.unmatched_endifs:
            assert conditionals.depth(index) == depth
            depth -= 1
        else:
            assert conditionals.depth(index) == depth


@settings(max_examples=200, deadline=None)
@given(spec_text, st.data())
def test_edits_keep_the_document_consistent_with_its_own_text(text: str, data: st.DataObject) -> None:
    doc = parse(text)
    size = len(doc)
    choice = data.draw(st.sampled_from(["insert", "replace", "delete"]))
    if choice == "insert":
        at = data.draw(st.integers(0, size))
        inserted = data.draw(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=3))
        doc.insert_lines(at, inserted)
    elif choice == "replace" and size:
        doc.replace_line(data.draw(st.integers(0, size - 1)), data.draw(st.sampled_from(FRAGMENTS)))
    elif size:
        start = data.draw(st.integers(0, size - 1))
        doc.delete_lines(start, data.draw(st.integers(start, size)))
    rendered = str(doc)
    reparsed = parse(rendered)
    assert str(reparsed) == rendered
    assert reparsed.lines == doc.lines
    assert [reparsed.ending(i) for i in range(len(reparsed))] == [doc.ending(i) for i in range(len(doc))]
    assert reparsed.sections == doc.sections
