"""spec-search-replace: a regex applied line by line, and the literal replace-all both regex overlays use.

Scope is every non-header line of the matching sections: the section filter is exact, and the package
filter applies only when a package is given (so ``section="%files"`` alone hits every ``%files``).
Header lines are never visited, so ``%package -n foo`` cannot be edited this way. The replacement is
literal text; a ``\\n`` in it splits the line. An overlay that changes nothing is an error, including
when every match is replaced by itself.
"""

from __future__ import annotations

import re

from tributary.config.model import Overlay
from tributary.errors import OverlayError
from tributary.overlays.targets import required
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


def search_replace(doc: SpecDocument, regex: str, replacement: str, section: str | None, package: str | None) -> None:
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
    package: str | None,
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


def spec_search_replace(doc: SpecDocument, overlay: Overlay) -> None:
    search_replace(doc, required(overlay, "regex"), overlay.replacement or "", overlay.section, overlay.package)
