"""Help text flows: a docstring's paragraph is one paragraph on any terminal; examples keep their lines."""

from __future__ import annotations

import pytest

from tributary.cli.conventions import flowing


def test_a_paragraph_is_joined_and_an_indented_one_is_kept() -> None:
    text = "Summary line.\n\nOne paragraph written\nover three lines\nin the source.\n\nExamples:\n\n  trib a\n  trib b"
    assert flowing(text) == (
        "Summary line.\n\nOne paragraph written over three lines in the source.\n\nExamples:\n\n  trib a\n  trib b")


def test_command_help_wraps_to_the_terminal_not_to_the_source(trib, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "240")
    result = trib("comp", "list", "--help")
    assert result.code == 0, result.err
    lines = [line.strip() for line in result.out.splitlines()]
    assert ("With -O json, each row is the component's resolved configuration as azldev prints it (name, spec, "
            "overlays, build..., renderedSpecDir, locked) plus tributary's summary columns.") in lines
    assert "trib comp list -p 'lib*' -q -O json | jq -r '.[].renderedSpecDir'" in lines  # an example, as written
    argument = next(line for line in lines if line.startswith("│") and "COMPONENT..." in line)
    assert "<" not in argument and "list[str]" not in argument  # its name says what it takes
