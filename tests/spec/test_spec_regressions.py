"""Cases hypothesis found once, kept as plain tests."""

from tributary.spec import parse


def test_appending_after_an_unterminated_line_ending_in_cr_reads_back_the_same() -> None:
    doc = parse("%prep\r")
    doc.insert_lines(1, ["\n"])
    rendered = str(doc)
    assert rendered == "%prep\r\n\n\n"
    assert parse(rendered).lines == doc.lines
