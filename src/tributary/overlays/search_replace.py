"""spec-search-replace: a regex applied line by line, and the literal replace-all both regex overlays use.

Scope is every non-header line of the matching sections: the section filter is exact, and the package
filter applies only when a package is given (so ``section="%files"`` alone hits every ``%files``).
Header lines are never visited, so ``%package -n foo`` cannot be edited this way. The replacement is
literal text; a ``\\n`` in it splits the line. An overlay that changes nothing is an error, including
when every match is replaced by itself.
"""

from __future__ import annotations

import re
from typing import Literal

from tributary.errors import OverlayError
from tributary.overlays.base import SpecOverlay, check_regex, check_section
from tributary.overlays.tree import ComponentTree, read_spec
from tributary.spec import Section, SpecDocument


def replace_all_literal(pattern: re.Pattern[str], text: str, replacement: str) -> str:
    """Replace every match with ``replacement`` taken literally, the way Go's ReplaceAllLiteralString
    walks matches: an empty match right after a previous match is not replaced, and after an empty
    match the search moves on by one character. (Python's ``re.sub`` differs on both counts.)"""
    out: list[str] = []
    last_end = 0
    search_at = 0
    length = len(text)
    while search_at <= length:
        match = pattern.search(text, search_at)
        if match is None:
            break
        start, end = match.span()
        out.append(text[last_end:start])
        if end > last_end or start == 0:
            out.append(replacement)
        last_end = end
        search_at = end if end > search_at else search_at + 1
    if not out:
        return text
    out.append(text[last_end:])
    return "".join(out)


def search_replace(doc: SpecDocument, regex: str, replacement: str, section: str | None, package: str) -> None:
    pattern = re.compile(regex)
    scope = [
        s
        for s in doc.sections
        if (section is None or s.name == section) and (not package or s.package == package)
    ]
    edits: list[tuple[int, str]] = []
    matched = False
    for found in scope:
        for index in range(found.body_start, found.end):
            line = doc.line(index)
            new = replace_all_literal(pattern, line, replacement)
            if new != line:
                edits.append((index, new))
            elif not matched and pattern.search(line):
                matched = True
    if not edits:
        raise OverlayError(_no_change_message(doc, pattern, regex, scope, matched, section, package))
    for index, new in reversed(edits):
        doc.replace_line(index, new)


def _no_change_message(
    doc: SpecDocument,
    pattern: re.Pattern[str],
    regex: str,
    scope: list[Section],
    matched: bool,
    section: str | None,
    package: str,
) -> str:
    where = f"section {section}" if section else "any section"
    if package:
        where += f" of package {package!r}"
    if section and not scope:
        return f"no section {section}" + (f" for package {package!r}" if package else "") + " to search"
    if matched:
        return f"regex {regex!r} matched in {where} but the replacement left every line unchanged"
    message = f"regex {regex!r} matched no line in {where}"
    if any(found.has_header and pattern.search(doc.line(found.start)) for found in scope):
        message += " (it matches a section header line, and headers are never edited)"
    return message


def replacement_pattern(regex: str, replacement: str) -> re.Pattern[str]:
    """The replacement as the regex would leave it: starting a line if the regex is anchored with ``^``,
    ending one if with ``$``, so a longer line that merely contains it does not count."""
    head = "^" if regex.startswith("^") else ""
    tail = "$" if regex.endswith("$") and not regex.endswith("\\$") else ""
    return re.compile(head + re.escape(replacement) + tail, re.MULTILINE)


def replaced(regex: str, replacement: str, text: str) -> bool:
    """Whether ``text`` reads as the regex overlay left it: the replacement there, or for a deletion
    (empty replacement) no match left."""
    if replacement:
        return replacement_pattern(regex, replacement).search(text) is not None
    return re.compile(regex, re.MULTILINE).search(text) is None


class SpecSearchReplace(SpecOverlay):
    """A regex applied line by line in the matching sections, the replacement taken literally."""

    type: Literal["spec-search-replace"]
    package: str = ""
    section: str | None = None
    regex: str
    replacement: str = ""

    def check(self) -> None:
        if self.section is not None:
            check_section(self.section)
        check_regex(self.regex)

    def edit(self, doc: SpecDocument) -> None:
        search_replace(doc, self.regex, self.replacement, self.section, self.package)

    def aim_met(self, tree: ComponentTree) -> bool:
        doc = read_spec(tree)
        scope = [s for s in doc.sections if (self.section is None or s.name == self.section)
                 and (not self.package or s.package == self.package)]
        if not scope:
            return False
        if self.replacement:
            return any(replaced(self.regex, self.replacement, "\n".join(doc.lines[s.body_start:s.end]))
                       for s in scope)
        pattern = re.compile(self.regex)
        return not any(pattern.search(doc.line(i)) for s in scope for i in range(s.body_start, s.end))
