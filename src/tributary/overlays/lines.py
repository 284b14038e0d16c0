"""spec-prepend-lines and spec-append-lines: raw lines at the edges of sections or of the file.

With a section, every section matching ``(section, package)`` exactly gets the lines, and an empty
package means the main package only. "End of a section" is just before the next header, so lines
appended there land after the section's trailing blank lines, comments and ``%if`` lines, even when
that ``%if`` wraps the next section (azldev's behaviour, kept on purpose). ``lines`` entries are
written verbatim, so one holding ``\\n`` becomes several lines.

With ``condition`` (a tributary extension, see ``conditions``) the lines go at the start or end of that
``%if`` branch instead: within the matching sections when a section is given (a section whose header
lies in the branch counts whole), anywhere in the file otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

from tributary.overlays.base import check_section
from tributary.overlays.conditions import ConditionalOverlay, find_branches, regions
from tributary.overlays.targets import exact_sections
from tributary.overlays.tree import ComponentTree, read_spec
from tributary.spec import SpecDocument


def prepend_lines(doc: SpecDocument, lines: Sequence[str], section: str | None, package: str,
                  condition: str | None = None) -> None:
    """Lines right after each matching header, or at the very top without a section (with a condition:
    at the start of that branch)."""
    if condition is not None:
        for start, _ in reversed(_spans(doc, section, package, condition)):
            doc.insert_lines(start, lines)
    elif section is None:
        doc.insert_lines(0, lines)
    else:
        for found in reversed(exact_sections(doc, section, package)):
            doc.insert_lines(found.body_start, lines)


def append_lines(doc: SpecDocument, lines: Sequence[str], section: str | None, package: str,
                 condition: str | None = None) -> None:
    """Lines just before the header following each matching section, or at the very end (with a
    condition: at the end of that branch)."""
    if condition is not None:
        for _, end in reversed(_spans(doc, section, package, condition)):
            doc.insert_lines(end, lines)
    elif section is None:
        doc.insert_lines(len(doc), lines)
    else:
        for found in reversed(exact_sections(doc, section, package)):
            doc.insert_lines(found.end, lines)


def _spans(doc: SpecDocument, section: str | None, package: str, condition: str) -> list[tuple[int, int]]:
    """``(first line, end)`` of each place a conditional overlay writes to, in file order."""
    if section is None:
        return [(branch.directive + 1, branch.end) for branch in find_branches(doc, condition)]
    found = regions(doc, exact_sections(doc, section, package), condition, what=f"section {section}")
    return [(region.start, region.end) for region in found]


def physical_lines(lines: Sequence[str]) -> list[str]:
    """An overlay's ``lines`` as the physical lines they write (an entry holding ``\\n`` is several)."""
    return [piece for line in lines for piece in line.split("\n")]


def _block(lines: Sequence[str]) -> list[str]:
    """The overlay's lines as physical lines, blank ones at either end dropped (they are spacing)."""
    physical = physical_lines(lines)
    while physical and not physical[0].strip():
        physical.pop(0)
    while physical and not physical[-1].strip():
        physical.pop()
    return physical


def _contains_block(haystack: Sequence[str], block: Sequence[str]) -> bool:
    width = len(block)
    return bool(block) and any(list(haystack[i:i + width]) == list(block) for i in range(len(haystack) - width + 1))


class _LinesOverlay(ConditionalOverlay):
    """Raw lines at the edges of the matching sections, or of the file without a section."""

    package: str = ""
    section: str | None = None
    lines: list[str]
    succeeds_anyway: ClassVar[bool] = True

    def check(self) -> None:
        super().check()
        if "package" in self.model_fields_set and self.section is None:
            raise ValueError(f"overlay type {self.type!r}: package needs section")
        if self.section is not None:
            check_section(self.section)

    def aim_met(self, tree: ComponentTree) -> bool:
        """The block is already there: anywhere in the file, or in every matching section (or branch)."""
        doc = read_spec(tree)
        block = _block(self.lines)
        if self.condition is not None:
            spans = _spans(doc, self.section, self.package, self.condition)
            return all(_contains_block(doc.lines[start:end], block) for start, end in spans)
        if self.section is None:
            return _contains_block(doc.lines, block)
        sections = doc.find_sections(self.section, self.package)
        return bool(sections) and all(_contains_block(doc.lines[s.body_start:s.end], block) for s in sections)


class SpecPrependLines(_LinesOverlay):
    type: Literal["spec-prepend-lines"]

    def edit(self, doc: SpecDocument) -> None:
        prepend_lines(doc, self.lines, self.section, self.package, self.condition)


class SpecAppendLines(_LinesOverlay):
    type: Literal["spec-append-lines"]

    def edit(self, doc: SpecDocument) -> None:
        append_lines(doc, self.lines, self.section, self.package, self.condition)
