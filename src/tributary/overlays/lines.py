"""spec-prepend-lines and spec-append-lines: raw lines at the edges of sections or of the file.

With a section, every section matching ``(section, package)`` exactly gets the lines, and an empty
package means the main package only. "End of a section" is just before the next header, so lines
appended there land after the section's trailing blank lines, comments and ``%if`` lines, even when
that ``%if`` wraps the next section (azldev's behaviour, kept on purpose). ``lines`` entries are
written verbatim, so one holding ``\\n`` becomes several lines.
"""

from __future__ import annotations

from collections.abc import Sequence

from tributary.config.model import Overlay
from tributary.overlays.targets import exact_sections
from tributary.spec import SpecDocument


def prepend_lines(doc: SpecDocument, lines: Sequence[str], section: str | None, package: str) -> None:
    """Lines right after each matching header, or at the very top without a section."""
    if section is None:
        doc.insert_lines(0, lines)
        return
    for found in reversed(exact_sections(doc, section, package)):
        doc.insert_lines(found.body_start, lines)


def append_lines(doc: SpecDocument, lines: Sequence[str], section: str | None, package: str) -> None:
    """Lines just before the header following each matching section, or at the very end."""
    if section is None:
        doc.insert_lines(len(doc), lines)
        return
    for found in reversed(exact_sections(doc, section, package)):
        doc.insert_lines(found.end, lines)


def spec_prepend_lines(doc: SpecDocument, overlay: Overlay) -> None:
    prepend_lines(doc, overlay.lines or [], overlay.section, overlay.package or "")


def spec_append_lines(doc: SpecDocument, overlay: Overlay) -> None:
    append_lines(doc, overlay.lines or [], overlay.section, overlay.package or "")
