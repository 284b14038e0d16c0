"""spec-remove-section and spec-remove-subpackage: delete whole sections without unbalancing ``%if``.

A section runs from its header to the next header, so a conditional may straddle its edges. The
rules, from azldev: a conditional entirely inside the section goes with it; a straddling ``%if`` or
``%endif`` is kept (so a wrapped section leaves an empty ``%if``/``%endif`` wrapper behind), but only
when nothing but blank lines, comments and other ``%if``/``%endif`` lines would be left with it; an
``%else``/``%elif`` of a conditional reaching outside the section is an error; and so is any unmatched
``%if``/``%endif`` in the spec, since no safe range can be computed then.
"""

from __future__ import annotations

from typing import Literal

from tributary.errors import OverlayError
from tributary.overlays.base import SpecOverlay, check_section
from tributary.overlays.targets import exact_sections
from tributary.overlays.tree import ComponentTree, read_spec
from tributary.spec import Conditionals, Directive, Section, SpecDocument, directive_of

_ADVICE = "adjust the conditionals first (for example with spec-search-replace)"


def remove_sections(doc: SpecDocument, sections: list[Section]) -> None:
    """Delete each section's balanced line range, all in one edit."""
    conditionals = doc.conditionals
    problem = conditionals.problem()
    if problem:
        raise OverlayError(f"cannot remove {sections[0].describe()}: {problem}")
    doomed: list[int] = []
    for section in sections:
        start, end = _balanced_range(doc, conditionals, section)
        doomed.extend(range(start, end))
    doc.delete_indices(doomed)


def _balanced_range(doc: SpecDocument, conditionals: Conditionals, section: Section) -> tuple[int, int]:
    start, end = section.start, section.end
    where = f"{section.describe()} (lines {start + 1}-{end})"
    keep_from = end
    for opening, closing in conditionals.pairs.items():
        opening_inside = start <= opening < end
        if opening_inside == (start <= closing < end):
            continue  # wholly inside (removed with the section) or wholly outside (untouched)
        keep_from = min(keep_from, opening if opening_inside else closing)
        if opening_inside and _has_content(doc, opening + 1, end):
            raise OverlayError(f"{where}: a conditional opened in it runs into the next section; {_ADVICE}")
    for branch in conditionals.branches:
        enclosing = conditionals.stacks[branch]
        if start <= branch < end and enclosing:
            innermost = enclosing[-1]
            if not (innermost >= start and conditionals.pairs[innermost] < end):
                raise OverlayError(
                    f"{where}: line {branch + 1} is an %else/%elif of a conditional reaching outside the section; "
                    f"{_ADVICE}"
                )
    if keep_from < end and _has_content(doc, keep_from, end):
        raise OverlayError(f"{where}: a conditional straddling its end encloses section content; {_ADVICE}")
    return start, keep_from


def _has_content(doc: SpecDocument, start: int, end: int) -> bool:
    """Whether lines ``start``..``end`` hold anything but blanks, comments, ``%if`` and ``%endif``."""
    for index in range(start, end):
        line = doc.line(index)
        stripped = line.strip()
        if not stripped or stripped[0] == "#":
            continue
        if directive_of(line) in (Directive.OPEN, Directive.CLOSE):
            continue
        return True
    return False


class SpecRemoveSection(SpecOverlay):
    """Delete every section named ``section`` of ``package`` (empty: the main package)."""

    type: Literal["spec-remove-section"]
    package: str = ""
    section: str

    def check(self) -> None:
        if not self.section:
            raise ValueError("overlay type 'spec-remove-section': section must not be empty")
        check_section(self.section)

    def edit(self, doc: SpecDocument) -> None:
        remove_sections(doc, exact_sections(doc, self.section, self.package))

    def aim_met(self, tree: ComponentTree) -> bool:
        return not read_spec(tree).find_sections(self.section, self.package)


class SpecRemoveSubpackage(SpecOverlay):
    """Delete every section of the ``%package`` named ``package`` (its header's spelling)."""

    type: Literal["spec-remove-subpackage"]
    package: str

    def edit(self, doc: SpecDocument) -> None:
        found = [s for s in doc.sections if s.has_header and s.package == self.package]
        if not found:
            raise OverlayError(f"no section belongs to package {self.package!r}")
        remove_sections(doc, found)

    def aim_met(self, tree: ComponentTree) -> bool:
        return not any(s.has_header and s.package == self.package for s in read_spec(tree).sections)
