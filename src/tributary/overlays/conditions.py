"""The ``condition`` selector (a tributary extension): tag and section overlays acting in one ``%if`` branch.

azldev's overlays see both branches of every conditional, so a spec that sets ``Release`` or declares
``%package doc`` differently per branch can only be edited in all of them at once (azldev PR 215 asked
for this). ``condition`` names one branch by the directive line that opens it, compared with runs of
blanks made one and the directive's name in any case:

* ``"%if %{with docs}"``, ``"%ifarch x86_64"``, ``"%elif 0%{?rhel}"``: the branch that line opens;
* ``"!%if %{with docs}"``: the ``%else`` branch of the conditional that line opens.

Within a package section the overlay then acts on the lines of that branch only: its tags, and the
branch's end (just before its ``%else``/``%elif``/``%endif``) where an overlay would add at the
section's end. A section whose header lies inside the branch is in it whole. Every conditional with
that directive counts; none at all is an error that lists the conditionals the spec has.
"""

from __future__ import annotations

from dataclasses import dataclass

from tributary.errors import OverlayError
from tributary.overlays.base import SpecOverlay
from tributary.spec import Directive, Section, SpecDocument, directive_of
from tributary.spec.conditionals import DIRECTIVES

ELSE_PREFIX = "!"
MAX_LISTED = 8


def check_condition(condition: str) -> None:
    """A ValueError unless ``condition`` reads as a branch-opening directive (or ``!`` and an ``%if``)."""
    text = normalise(condition)
    negated = text.startswith(ELSE_PREFIX)
    body = text[1:].lstrip() if negated else text
    token = body.split(" ", 1)[0].lower()
    kind = DIRECTIVES.get(token)
    if kind is None or kind is Directive.CLOSE or token == "%else" or (negated and kind is not Directive.OPEN):
        raise ValueError(f"condition {condition!r} must be the directive that opens a branch, such as "
                         "'%if %{with docs}', '%ifarch x86_64' or '%elif 0%{?rhel}' ('!%if ...' for its %else)")
    if body == token:
        raise ValueError(f"condition {condition!r} names no expression after {token}")


def normalise(text: str) -> str:
    """A directive line as conditions compare it: blanks collapsed, the directive's name lowercased."""
    words = text.split()
    if not words:
        return ""
    head = words[0]
    if head.startswith(ELSE_PREFIX) and len(head) > 1:
        words[0:1] = [ELSE_PREFIX, head[1:]]
    position = 1 if words[0] == ELSE_PREFIX else 0
    if position < len(words):
        words[position] = words[position].lower()
    return (ELSE_PREFIX + " ".join(words[1:])) if position else " ".join(words)


@dataclass(frozen=True)
class Branch:
    """The lines of one branch: after its directive line (``directive``) up to ``end``, exclusive."""

    directive: int
    end: int

    def holds(self, index: int) -> bool:
        return self.directive < index < self.end


def find_branches(doc: SpecDocument, condition: str) -> list[Branch]:
    """Every branch ``condition`` names; an error listing the spec's conditionals when there is none."""
    wanted = normalise(condition)
    negated = wanted.startswith(ELSE_PREFIX)
    opener = wanted[1:] if negated else wanted
    conditionals = doc.conditionals
    found: list[Branch] = []
    for opening in sorted(conditionals.pairs):
        for number, (start, end) in enumerate(conditionals.branch_ranges(opening)):
            text = normalise(doc.line(start))
            if negated:
                if number == 0 and text == opener:
                    last_start, last_end = conditionals.branch_ranges(opening)[-1]
                    if directive_of(doc.line(last_start)) is Directive.BRANCH and \
                            doc.line(last_start).split()[0].lower() == "%else":
                        found.append(Branch(last_start, last_end))
            elif text == opener:
                found.append(Branch(start, end))
    if not found:
        raise OverlayError(f"no branch {condition!r} in the spec{_listing(doc)}")
    return found


def _listing(doc: SpecDocument) -> str:
    """`` (its branches: '%if a' at line 3, '!%if a' at line 5...)``, written as a condition names them."""
    conditionals = doc.conditionals
    shown = []
    for opening in sorted(conditionals.pairs):
        opener = normalise(doc.line(opening))
        for start, _ in conditionals.branch_ranges(opening):
            text = normalise(doc.line(start))
            shown.append(f"{ELSE_PREFIX + opener if text == '%else' else text!r} at line {start + 1}")
    if not shown:
        return " (it has no conditionals)"
    more = f", and {len(shown) - MAX_LISTED} more" if len(shown) > MAX_LISTED else ""
    return f" (its branches: {', '.join(shown[:MAX_LISTED])}{more})"


@dataclass(frozen=True)
class Region:
    """Where an overlay acts in one section: lines ``start`` to ``end`` (exclusive); ``whole`` when that is
    the section's body entire."""

    section: Section
    start: int
    end: int
    whole: bool

    def holds(self, index: int) -> bool:
        return self.start <= index < self.end


def whole(sections: list[Section]) -> list[Region]:
    return [Region(s, s.body_start, s.end, True) for s in sections]


def regions(doc: SpecDocument, sections: list[Section], condition: str | None, *, what: str) -> list[Region]:
    """The parts of ``sections`` an overlay acts on: all of each without a condition; with one, the
    sections whose header lies in a named branch (whole), else the named branches inside the sections.
    ``what`` names the sections for the error when the branch lies in none of them."""
    if condition is None:
        return whole(sections)
    branches = find_branches(doc, condition)
    found: list[Region] = []
    for section in sections:
        if section.has_header and any(b.holds(section.start) for b in branches):
            found.append(Region(section, section.body_start, section.end, True))
            continue
        found.extend(Region(section, b.directive + 1, b.end, False) for b in branches
                     if section.body_start <= b.directive and b.end < section.end)
    if not found:
        lines = ", ".join(str(b.directive + 1) for b in branches)
        raise OverlayError(f"branch {condition!r} (line {lines}) is not in {what}")
    return found


class ConditionalOverlay(SpecOverlay):
    """A spec overlay that takes ``condition``: the types of the tag, lines, search-replace and
    remove-section families."""

    condition: str | None = None

    def check(self) -> None:
        if self.condition is not None:
            check_condition(self.condition)
