"""Line endings and the editing helpers the overlays use."""

from tributary.spec import parse


def test_lines_and_endings_are_kept_per_line() -> None:
    doc = parse("a\r\nb\nc\rd")
    assert doc.lines == ("a", "b", "c\rd")
    assert [doc.ending(i) for i in range(3)] == ["\r\n", "\n", ""]


def test_new_lines_get_lf_unless_the_file_is_mostly_crlf() -> None:
    assert parse("a\nb\r\nc\n").newline == "\n"
    assert parse("a\r\nb\r\nc\n").newline == "\r\n"
    assert parse("").newline == "\n"
    crlf = parse("a\r\nb\r\n")
    crlf.insert_lines(1, ["x"])
    assert str(crlf) == "a\r\nx\r\nb\r\n"


def test_insert_keeps_embedded_newlines_verbatim() -> None:
    doc = parse("a\r\nb\r\n")
    assert doc.insert_lines(1, ["x\ny", "z"]) == 3
    assert str(doc) == "a\r\nx\ny\r\nz\r\nb\r\n"
    assert doc.lines == ("a", "x", "y", "z", "b")


def test_appending_after_an_unterminated_last_line_terminates_it() -> None:
    doc = parse("a\nb")
    doc.insert_lines(2, ["c"])
    assert str(doc) == "a\nb\nc\n"


def test_replace_keeps_the_ending_and_splits_on_newlines() -> None:
    doc = parse("a\r\nb\r\n")
    assert doc.replace_line(0, "x") == 1
    assert str(doc) == "x\r\nb\r\n"
    assert doc.replace_line(1, "y\nz") == 2
    assert str(doc) == "x\r\ny\nz\r\n"
    last = parse("a\nb")
    assert last.replace_line(1, "c\n") == 1
    assert str(last) == "a\nc\n" and len(last) == 2


def test_delete_removes_lines_with_their_endings() -> None:
    doc = parse("a\nb\nc\nd")
    doc.delete_lines(1, 3)
    assert str(doc) == "a\nd"
    doc.delete_indices([1])
    assert str(doc) == "a\n"
    doc.delete_indices([])
    assert str(doc) == "a\n"


def test_edits_refresh_sections_tags_and_conditionals() -> None:
    doc = parse("Name: x\n%build\nmake\n")
    assert [t.name for t in doc.all_tags()] == ["Name"]
    doc.insert_lines(1, ["%if 1", "Release: 1", "%endif"])
    assert [t.name for t in doc.all_tags()] == ["Name", "Release"]
    assert doc.conditionals.pairs == {1: 3}
    assert doc.sections[1].start == 4
    doc.replace_line(0, "%description")
    assert [s.name for s in doc.sections] == ["", "%description", "%build"]
