"""spec-add-changelog (a tributary extension): a changelog entry saying why the distribution differs.

An entry has an ``author`` (``Name <email>``), a ``date`` and a ``text``. Without ``text``, render writes
one item per overlay of the component that has a description (``- <description>``), so the changelog
says what the distribution changed in the words the overlays already use. Without ``date``, the entry
takes the date of the newest entry before it, so it stays on top whatever upstream adds.

* A spec with a static ``%changelog`` gets the entry on top (a ``%changelog`` section is added at the
  end when the spec has none). Its header names the version-release the spec builds once render has
  raised the Release (``restamp``), or none when that cannot be known without rpm.
* A spec whose changelog is ``%autochangelog`` is not edited here: the entry becomes one commit of the
  synthetic history rpmautospec renders (``render.release``), newest, so rpmautospec writes it like its
  other entries (and, as for any commit, ``%autorelease`` counts it).

``%`` in the text is written ``%%``: rpm expands macros in ``%changelog``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import ClassVar, Literal

from pydantic import Field

from tributary.errors import OverlayError
from tributary.overlays.base import Overlay, SpecOverlay
from tributary.spec import SpecDocument
from tributary.spec.evaluate import evaluate
from tributary.spec.macros import unexpanded

CHANGELOG = "%changelog"
AUTOCHANGELOG = re.compile(r"^%autochangelog\s*$", re.MULTILINE)
_AUTHOR = re.compile(r"^\S.* <[^<>\s]+@[^<>\s]+>$")
_HEADER = re.compile(r"^\*\s+(?:\w{3}\s+)?(\w{3})\s+(\d{1,2})\s+(\d{4})\b")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class SpecAddChangelog(SpecOverlay):
    """A changelog entry: on top of a static ``%changelog``, or a commit of an ``%autochangelog`` spec's
    synthetic history."""

    type: Literal["spec-add-changelog"]
    leaves_tree_unchanged: ClassVar[bool] = True
    author: str = Field(description="tributary extension: who the entry names, as 'Name <email>'.")
    date: dt.date | None = Field(default=None, description=(
        "tributary extension: the entry's date (default: the newest entry's, so it stays on top)."))
    text: str | None = Field(default=None, description=(
        "tributary extension: the entry's lines ('- ' is added to lines without it); default: one item per "
        "overlay description of the component."))

    def check(self) -> None:
        if not _AUTHOR.match(self.author):
            raise ValueError(f"author {self.author!r} must read 'Name <email>'")
        if self.text is not None and not self.text.strip():
            raise ValueError("text must not be empty (leave it out to list the overlays' descriptions)")

    def edit(self, doc: SpecDocument) -> None:
        if AUTOCHANGELOG.search(str(doc)):
            return  # rpmautospec writes it from the synthetic history (render.release)
        items = entry_items(self.text_or_error())
        sections = doc.find_sections(CHANGELOG, "")
        newest = newest_date(doc)
        when = self.date or newest
        if when is None:
            raise OverlayError("the spec's changelog has no dated entry to follow: give the entry a date")
        if newest is not None and when < newest:
            raise OverlayError(f"date {when.isoformat()} is older than the spec's newest changelog entry "
                               f"({newest.isoformat()}); rpm wants %changelog newest first")
        entry = [header(when, self.author, spec_evr(str(doc))), *items, ""]
        if sections:
            doc.insert_lines(sections[0].body_start, entry)
        else:
            doc.insert_lines(len(doc), ["", CHANGELOG, *entry[:-1]])

    def text_or_error(self) -> str:
        if self.text is None:
            raise OverlayError("the entry has no text, and no other overlay of the component has a description "
                               "to list in its place; give it a text")
        return self.text

    def when(self, previous: int) -> int:
        """The entry's time as a commit of the synthetic history: its date at noon UTC, or ``previous``
        (the commit before it) when it has no date."""
        if self.date is None:
            return previous
        return int(dt.datetime(self.date.year, self.date.month, self.date.day, 12, tzinfo=dt.UTC).timestamp())


def generated_text(overlays: Sequence[Overlay]) -> str | None:
    """One item per overlay with a description (changelog overlays left out); None when none has one."""
    items = [f"- {overlay.description}" for overlay in overlays
             if overlay.description and not isinstance(overlay, SpecAddChangelog)]
    return "\n".join(items) if items else None


def entry_items(text: str, *, escape: bool = True) -> list[str]:
    """The entry's lines: each line that starts neither with '-' nor with a blank becomes an item, and
    ``%`` is escaped (rpm expands macros in ``%changelog``) unless ``escape`` is False."""
    items = []
    for line in text.strip("\n").split("\n"):
        line = line.rstrip()
        if escape:
            line = line.replace("%", "%%")
        items.append(line if not line or line[0] in "- \t" else f"- {line}")
    return items


def commit_message(text: str) -> str:
    """The entry as a commit message rpmautospec turns back into it: the first item is the subject, the
    others ``- item`` lines of the body (rpmautospec escapes ``%`` itself)."""
    items = entry_items(text, escape=False)
    subject, rest = items[0].removeprefix("- "), items[1:]
    return subject + ("\n\n" + "\n".join(rest) if rest else "")


def header(when: dt.date, author: str, evr: str | None) -> str:
    """``* Wed Jan 01 2025 Name <email> - 1.0-1`` (English names whatever the locale, as rpm wants)."""
    suffix = f" - {evr}" if evr else ""
    day = f"{_DAYS[when.weekday()]} {_MONTHS[when.month - 1]} {when.day:02d} {when.year}"
    return f"* {day} {author}{suffix}"


def newest_date(doc: SpecDocument) -> dt.date | None:
    """The date of the first entry of the spec's ``%changelog``, if it has one rpm's format."""
    for section in doc.find_sections(CHANGELOG, ""):
        for index in range(section.body_start, section.end):
            match = _HEADER.match(doc.line(index))
            if match is not None:
                month, day, year = match.groups()
                if month not in _MONTHS:
                    return None
                try:
                    return dt.date(int(year), _MONTHS.index(month) + 1, int(day))
                except ValueError:
                    return None
    return None


def spec_evr(text: str) -> str | None:
    """``[epoch:]version-release`` as the spec states it (``%{?dist}`` and such expanded away), None when
    a value needs something only rpm or a build could tell."""
    facts = evaluate(text, macros={"dist": ""})
    if not facts.version or not facts.release:
        return None
    evr = f"{facts.version}-{facts.release}"
    if facts.epoch:
        evr = f"{facts.epoch}:{evr}"
    return None if unexpanded(evr) else evr


def restamp(text: str, entries: Sequence[SpecAddChangelog]) -> str:
    """``text`` with the version-release in the headers of the top entries ``entries`` wrote brought up
    to date (render raises a static Release after the overlays ran)."""
    doc = SpecDocument(text)
    evr = spec_evr(text)
    authors = {entry.author for entry in entries}
    sections = doc.find_sections(CHANGELOG, "")
    if not sections or not entries:
        return text
    seen = 0
    for index in range(sections[0].body_start, sections[0].end):
        line = doc.line(index)
        if not line.startswith("*"):
            continue
        if seen == len(entries):
            break
        seen += 1
        match = _HEADER.match(line)
        author = line[match.end():].split(" - ", 1)[0].strip() if match else ""
        if match is not None and author in authors:
            doc.replace_line(index, line[:match.end()] + " " + author + (f" - {evr}" if evr else ""))
    return str(doc)
