"""Section headers and package identity, per azldev's editor (reference section 2.1)."""

import pytest

from tributary.spec import SECTION_NAMES, parse, parse_header


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("%package devel", ("%package", "devel")),
        ("%package -n foo-devel", ("%package", "foo-devel")),
        ("%package -n %{name}+xen-devel", ("%package", "%{name}+xen-devel")),  # macros kept verbatim
        ("%description devel", ("%description", "devel")),
        ("%description -n python3-foo", ("%description", "python3-foo")),
        ("%files", ("%files", "")),
        ("%files -f %{name}.lang", ("%files", "")),  # -f consumes its argument
        ("%files -f list devel", ("%files", "devel")),
        ("%files devel -f list", ("%files", "devel")),
        ("%files -n foo -f list", ("%files", "foo")),
        ("%files bar -n foo", ("%files", "foo")),  # -n wins over a suffix wherever it stands
        ("%post -p /sbin/ldconfig", ("%post", "")),  # -p consumes its argument
        ("%post -p /sbin/ldconfig libs", ("%post", "libs")),
        ("%postun -n foo -p /sbin/ldconfig", ("%postun", "foo")),
        ("%filetriggerin -P 100 -- /usr/lib", ("%filetriggerin", "")),  # -P consumes, -- ends
        ("%transfiletriggerpostun -l x -- /usr/share", ("%transfiletriggerpostun", "")),  # -l consumes
        ("%triggerin -- bash", ("%triggerin", "")),  # tokens after -- are the condition
        ("%triggerin devel -- bash", ("%triggerin", "devel")),
        ("%triggerun -n foo -- bash < 2", ("%triggerun", "foo")),
        ("%pre -q devel", ("%pre", "devel")),  # an unknown flag skips only itself
        ("%changelog", ("%changelog", "")),
        ("%changelog something", ("%changelog", "")),  # no package, whatever follows
        ("%patchlist", ("%patchlist", "")),
        ("%sourcelist x", ("%sourcelist", "")),
        ("%Files devel", ("%Files", "devel")),  # name kept as written; recognised case-insensitively
        ("  %build", ("%build", "")),  # leading blanks are trimmed
        ("%build\r", ("%build", "")),
        ("%generate_buildrequires", ("%generate_buildrequires", "")),
        ("%package -n", ("%package", "")),
    ],
)
def test_header_identity(line: str, expected: tuple[str, str]) -> None:
    assert parse_header(line) == expected


@pytest.mark.parametrize(
    "line",
    ["%if 0%{?fedora}", "%ifarch x86_64", "%endif", "#%files", "# %files", "%files-extra", "%{files}", "%filesx",
     "%global files 1", "", "Name: x", "%define build 1"],
)
def test_not_a_header(line: str) -> None:
    assert parse_header(line) is None


def test_every_known_section_name_is_recognised_in_a_document() -> None:
    names = sorted(SECTION_NAMES)
    doc = parse("".join(f"{name}\nbody\n" for name in names))
    assert [s.name for s in doc.sections[1:]] == names
    assert len(names) == 32


def test_preamble_is_the_empty_section_and_sections_tile_the_file() -> None:
    doc = parse("Name: x\n\n%description\ntext\n%package devel\nSummary: d\n%files devel\n/x\n")
    assert [(s.name, s.package, s.start, s.end) for s in doc.sections] == [
        ("", "", 0, 2),
        ("%description", "", 2, 4),
        ("%package", "devel", 4, 6),
        ("%files", "devel", 6, 8),
    ]
    assert doc.sections[0].has_header is False and doc.sections[0].body_start == 0
    assert doc.sections[1].body_start == 3


def test_a_spec_starting_with_a_header_has_an_empty_preamble() -> None:
    doc = parse("%description\nx\n")
    assert doc.sections[0] == ("", "", 0, 0)
    assert doc.sections[1].name == "%description"


def test_conditional_lines_do_not_start_sections() -> None:
    doc = parse("%if 1\n%package devel\n%endif\n")
    assert [s.name for s in doc.sections] == ["", "%package"]
    assert doc.sections[1].end == 3  # the %endif belongs to the %package section textually


def test_find_sections_matches_name_case_sensitively_and_package_exactly() -> None:
    doc = parse("%files\n%Files devel\n%files devel\n%files -n devel\n")
    assert [s.start for s in doc.find_sections("%files", "devel")] == [2, 3]
    assert [s.start for s in doc.find_sections("%files", "")] == [0]
    assert doc.find_sections("%files", "x") == []


def test_package_sections_are_the_preamble_and_percent_package_bodies() -> None:
    doc = parse("Name: x\n%package devel\nSummary: d\n%description devel\nSummary: not a tag\n%PACKAGE devel\nA: b\n")
    assert [s.start for s in doc.package_sections("devel")] == [1, 5]
    assert [s.start for s in doc.package_sections("")] == [0]


def test_describe_names_the_section_for_messages() -> None:
    doc = parse("%files devel\n%build\n")
    assert doc.sections[0].describe() == "the preamble"
    assert doc.sections[1].describe() == "%files (package 'devel')"
    assert doc.sections[2].describe() == "%build"
