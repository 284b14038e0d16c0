"""Finding the few lines that give a spec its structure, in one regex pass over the text.

Section headers, conditional directives and macro definitions are the only lines whose meaning depends
on their first token, and that token is always a bare ``%word``. One regex finds every line whose first
token is such a word; a set lookup keeps the structural ones. Everything else (tags, script text) is
looked at only when an overlay asks, which keeps parsing thousands of specs cheap.
"""

from __future__ import annotations

import re

from tributary.spec.conditionals import DIRECTIVES, MACRO_DEFINITIONS
from tributary.spec.sections import SECTION_NAMES

STRUCTURAL_WORDS = SECTION_NAMES | frozenset(DIRECTIVES) | MACRO_DEFINITIONS

# First token of a line, when it is '%' plus letters and underscores and nothing else. Leading blanks
# are any whitespace but a newline (azldev trims the line), and a '#' in column 0 never matches, which
# is azldev's comment rule. The first line has no newline before it, hence the separate pattern.
_LATER_LINE = re.compile(r"\n[^\S\n]*(%[A-Za-z_]+)(?!\S)")
_FIRST_LINE = re.compile(r"[^\S\n]*(%[A-Za-z_]+)(?!\S)")


def structural_lines(text: str) -> list[tuple[int, str]]:
    """``(line index, first token as written)`` for each section header, conditional directive and
    macro definition in ``text``, in order. Lines are counted on ``\\n`` alone."""
    found: list[tuple[int, str]] = []
    first = _FIRST_LINE.match(text)
    if first is not None and first.group(1).lower() in STRUCTURAL_WORDS:
        found.append((0, first.group(1)))
    newlines = 0  # newlines before `position`
    position = 0
    count = text.count
    for match in _LATER_LINE.finditer(text):
        token = match.group(1)
        if token.lower() in STRUCTURAL_WORDS:
            start = match.start()
            newlines += count("\n", position, start)
            position = start
            found.append((newlines + 1, token))
    return found
