"""Tag recognition: only in package sections, naive `Name: value` shape, column-0 `#` comments."""

import pytest

from tributary.spec import format_tag, parse, parse_tag, patch_number, tag_family


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Name: foo", ("Name", "foo")),
        ("Name:foo", ("Name", "foo")),
        ("Release:        1%{?dist}   ", ("Release", "1%{?dist}")),
        ("  BuildRequires:  gcc  ", ("BuildRequires", "gcc")),
        ("Requires(post): systemd", ("Requires(post)", "systemd")),
        ("Source0: https://example.org/a.tar.gz", ("Source0", "https://example.org/a.tar.gz")),
        ("Empty:", ("Empty", "")),
        ("  # Indented: still a tag name '#'", None),  # '#' then a blank: no tag shape
        ("  #Indented: value", ("#Indented", "value")),  # an indented '#' is not a comment
        ("#Commented: value", None),  # column-0 '#' makes the line blank
        ("Not a tag", None),
        ("Two words: value", None),
        (": value", None),
        ("", None),
    ],
)
def test_parse_tag(line: str, expected: tuple[str, str] | None) -> None:
    assert parse_tag(line) == expected


@pytest.mark.parametrize(
    ("name", "family"),
    [("Source9999", "source"), ("Source", "source"), ("PATCH12", "patch"), ("BuildRequires", "buildrequires"),
     ("Requires(post)", "requires(post)"), ("123", "123")],
)
def test_tag_family(name: str, family: str) -> None:
    assert tag_family(name) == family


@pytest.mark.parametrize(
    ("name", "number"),
    [("Patch0", 0), ("patch12", 12), ("PATCH007", 7), ("Patch", None), ("Patch%{n}", None), ("Patches", None),
     ("Source1", None), ("Patch+1", None), ("Patch١", None)],
)
def test_patch_number(name: str, number: int | None) -> None:
    assert patch_number(name) == number


def test_tags_are_parsed_only_in_package_sections_and_in_both_branches() -> None:
    doc = parse(
        "Name: x\n%if 0%{?a}\nRelease: 1\n%else\nRelease: 2\n%endif\n"
        "%description\nSummary: not a tag here\n%package devel\nRequires: x\n%build\nCFLAGS: no\n"
    )
    preamble, description, devel, build = doc.sections
    assert [(t.index, t.name, t.value) for t in doc.tags(preamble)] == [(0, "Name", "x"), (2, "Release", "1"), (4, "Release", "2")]
    assert doc.tags(description) == []
    assert [(t.name, t.value) for t in doc.tags(devel)] == [("Requires", "x")]
    assert doc.tags(build) == []
    assert [t.index for t in doc.all_tags()] == [0, 2, 4, 9]
    assert doc.tags(preamble)[1].is_named("RELEASE")


def test_format_tag_uses_one_space() -> None:
    assert format_tag("Release", "2%{?dist}") == "Release: 2%{?dist}"
