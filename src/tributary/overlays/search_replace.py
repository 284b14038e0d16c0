"""spec-search-replace: a regex applied line by line, and the literal replace-all both regex overlays use.

Scope is every non-header line of the matching sections: the section filter is exact, and the package
filter applies only when a package is given (so ``section="%files"`` alone hits every ``%files``).
Header lines are never visited, so ``%package -n foo`` cannot be edited this way. The replacement is
literal text; a ``\\n`` in it splits the line. An overlay that changes nothing is an error, including
when every match is replaced by itself.

Three tributary extensions, off unless written: ``count`` (how many matches the regex must have in its
scope; more or fewer is an error listing where they are, so an upstream change that adds a second match
cannot silently be edited too), ``expand = true`` (the replacement is a template: ``\\1`` and
``\\g<name>`` stand for the regex's groups, ``\\\\`` for a backslash), and ``condition`` (only the lines of
one ``%if`` branch, see ``conditions``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from tributary.errors import OverlayError
from tributary.overlays.base import check_regex, check_section
from tributary.overlays.conditions import ConditionalOverlay, regions
from tributary.overlays.tree import ComponentTree, read_spec
from tributary.spec import Section, SpecDocument

Replacement = str | Callable[[re.Match[str]], str]
MAX_LISTED_LINES = 10


def replace_all(pattern: re.Pattern[str], text: str, replacement: Replacement) -> tuple[str, int]:
    """Replace every match the way Go's ReplaceAllString walks matches: an empty match right after a
    previous match is not replaced, and after an empty match the search moves on by one character.
    (Python's ``re.sub`` differs on both counts.) ``replacement`` is literal text, or a function of the
    match. Returns the new text and how many matches were replaced."""
    out: list[str] = []
    replaced_count = 0
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
            out.append(replacement if isinstance(replacement, str) else replacement(match))
            replaced_count += 1
        last_end = end
        search_at = end if end > search_at else search_at + 1
    if not out:
        return text, 0
    out.append(text[last_end:])
    return "".join(out), replaced_count


def replace_all_literal(pattern: re.Pattern[str], text: str, replacement: str) -> str:
    """``replace_all`` with literal replacement text (azldev's ReplaceAllLiteralString)."""
    return replace_all(pattern, text, replacement)[0]


@dataclass(frozen=True)
class SearchOptions:
    """spec-search-replace's tributary extensions (all off by default)."""

    count: int | None = None
    expand: bool = False
    condition: str | None = None


def search_replace(doc: SpecDocument, regex: str, replacement: str, section: str | None, package: str,
                   options: SearchOptions = SearchOptions()) -> None:
    pattern = re.compile(regex)
    scope = [
        s
        for s in doc.sections
        if (section is None or s.name == section) and (not package or s.package == package)
    ]
    replace: Replacement = (lambda match: match.expand(replacement)) if options.expand else replacement
    edits: list[tuple[int, str]] = []
    matched = False
    counted: list[int] = []  # the line of every match, once per match
    for index in _scope_lines(doc, scope, section, options.condition):
        line = doc.line(index)
        new, matches = replace_all(pattern, line, replace)
        counted += [index] * matches
        if new != line:
            edits.append((index, new))
        elif not matched and pattern.search(line):
            matched = True
    if options.count is not None and len(counted) != options.count:
        raise OverlayError(_count_message(regex, counted, options.count, section, package, options.condition))
    if not edits:
        raise OverlayError(_no_change_message(doc, pattern, regex, scope, matched, section, package))
    for index, new in reversed(edits):
        doc.replace_line(index, new)


def _scope_lines(doc: SpecDocument, scope: list[Section], section: str | None, condition: str | None) -> Iterator[int]:
    """The non-header lines the overlay visits: those of ``scope``, or with a condition those of that
    branch within ``scope``."""
    if condition is None:
        for found in scope:
            yield from range(found.body_start, found.end)
        return
    for region in regions(doc, scope, condition, what=f"section {section}" if section else "the spec"):
        yield from range(region.start, region.end)


def _count_message(regex: str, lines: list[int], count: int, section: str | None, package: str,
                   condition: str | None) -> str:
    where = f"section {section}" if section else "any section"
    if package:
        where += f" of package {package!r}"
    if condition is not None:
        where += f" in branch {condition!r}"
    distinct = sorted(set(lines))
    shown = ", ".join(str(index + 1) for index in distinct[:MAX_LISTED_LINES])
    more = ", ..." if len(distinct) > MAX_LISTED_LINES else ""
    at = f" (spec line{'s' if len(distinct) > 1 else ''} {shown}{more})" if lines else ""
    return f"regex {regex!r} matched {len(lines)} time(s) in {where}{at}, but count = {count} expects exactly {count}"


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


class SpecSearchReplace(ConditionalOverlay):
    """A regex applied line by line in the matching sections, the replacement taken literally (or, with
    ``expand``, as a template of the regex's groups)."""

    type: Literal["spec-search-replace"]
    package: str = ""
    section: str | None = None
    regex: str
    replacement: str = ""
    count: int | None = Field(default=None, ge=1, description=(
        "tributary extension: how many matches the regex must have in its scope; more or fewer is an error."))
    expand: bool = Field(default=False, description=(
        "tributary extension: the replacement is a template: \\1 and \\g<name> stand for the regex's groups."))

    def check(self) -> None:
        super().check()
        if self.section is not None:
            check_section(self.section)
        check_regex(self.regex)
        if self.expand:
            try:
                re.compile(self.regex).sub(self.replacement, "")  # Python checks the template here
            except re.error as exc:
                raise ValueError(f"replacement {self.replacement!r} is not a valid template for the regex: "
                                 f"{exc}") from exc

    def edit(self, doc: SpecDocument) -> None:
        search_replace(doc, self.regex, self.replacement, self.section, self.package,
                       SearchOptions(self.count, self.expand, self.condition))

    def already_upstream(self, tree: ComponentTree) -> str | None:
        if not self.aim_met(tree):
            return None
        doc = read_spec(tree)
        where = f"section {self.section}" if self.section else "the spec"
        if not self.replacement:
            return f"no line of {where} matches {self.regex!r} any more"
        wanted = replacement_pattern(self.regex, self.replacement)
        for index in _scope_lines(doc, self._scope(doc), self.section, None):
            if wanted.search(doc.line(index)):
                return f"{tree.spec_name}:{index + 1} already reads {doc.line(index).strip()!r}"
        return f"{where} already holds the replacement"

    def _scope(self, doc: SpecDocument) -> list[Section]:
        return [s for s in doc.sections if (self.section is None or s.name == self.section)
                and (not self.package or s.package == self.package)]

    def aim_met(self, tree: ComponentTree) -> bool:
        if self.expand or self.condition is not None:
            return False  # what the template writes depends on the matches: in doubt, not met
        doc = read_spec(tree)
        scope = self._scope(doc)
        if not scope:
            return False
        if self.replacement:
            return any(replaced(self.regex, self.replacement, "\n".join(doc.lines[s.body_start:s.end]))
                       for s in scope)
        pattern = re.compile(self.regex)
        return not any(pattern.search(doc.line(i)) for s in scope for i in range(s.body_start, s.end))
