"""A spec as a list of physical lines plus the structure overlays address: sections, tags, conditionals.

The document is lossless: ``str(parse(text)) == text`` for any text. Structure is derived from the
lines, never stored instead of them: one regex pass at parse time finds the structural lines (headers,
conditionals, macro definitions); section objects, tags and conditional nesting are built from them
only when asked for, and every edit simply recomputes what it invalidated. That keeps parse cheap for
the thousands of specs a render touches, almost all of which are never edited.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from tributary.spec.conditionals import Conditionals, analyse
from tributary.spec.lines import (
    LF,
    dominant_newline,
    join_lines,
    split_lines,
    split_text,
)
from tributary.spec.scan import structural_lines
from tributary.spec.sections import SECTION_NAMES, Section, package_of
from tributary.spec.tags import Tag, parse_tag


def parse(text: str) -> SpecDocument:
    """Parse spec text; never fails, whatever the text holds."""
    return SpecDocument(text)


class SpecDocument:
    """The lines of one spec and the sections, tags and conditionals read from them."""

    __slots__ = ("_conditionals", "_contents", "_endings", "_sections", "_structural", "_tags", "newline")
    # Derived from the lines, built when first asked for and dropped by every edit (``_restructure``).
    _sections: tuple[Section, ...] | None
    _tags: dict[int, list[Tag]]
    _conditionals: Conditionals | None

    def __init__(self, text: str = "") -> None:
        self._contents, self._endings = split_lines(text)
        self.newline = dominant_newline(text)
        self._restructure(text)

    def __str__(self) -> str:
        return join_lines(self._contents, self._endings)

    def __len__(self) -> int:
        return len(self._contents)

    # -- reading ----------------------------------------------------------------------------

    @property
    def lines(self) -> Sequence[str]:
        """Line contents without their endings (a read-only view; edit through the methods below)."""
        return tuple(self._contents)

    def line(self, index: int) -> str:
        return self._contents[index]

    def ending(self, index: int) -> str:
        return self._endings[index]

    @property
    def sections(self) -> tuple[Section, ...]:
        """Every section in file order, starting with the preamble (which may be empty)."""
        if self._sections is None:
            self._sections = self._build_sections()
        return self._sections

    def find_sections(self, name: str, package: str) -> list[Section]:
        """Sections whose header token equals ``name`` exactly and whose package equals ``package``;
        the preamble is ``("", "")``."""
        return [s for s in self.sections if s.name == name and s.package == package]

    def package_sections(self, package: str) -> list[Section]:
        """Where tags of ``package`` live: the preamble for ``""``, else each ``%package`` section
        naming it exactly as written."""
        return [s for s in self.sections if s.is_package_section and s.package == package]

    def tags(self, section: Section) -> list[Tag]:
        """Tag lines of a package section (none for other sections), in order."""
        if not section.is_package_section:
            return []
        cached = self._tags.get(section.start)
        if cached is None:
            cached = []
            contents = self._contents
            for index in range(section.body_start, section.end):
                parsed = parse_tag(contents[index])
                if parsed is not None:
                    cached.append(Tag(index, parsed[0], parsed[1]))
            self._tags[section.start] = cached
        return cached

    def all_tags(self) -> Iterator[Tag]:
        """Tags of every package section, in file order."""
        for section in self.sections:
            yield from self.tags(section)

    @property
    def conditionals(self) -> Conditionals:
        if self._conditionals is None:
            self._conditionals = analyse(self._contents, self._structural)
        return self._conditionals

    @property
    def structural(self) -> Sequence[tuple[int, str]]:
        """``(line index, first token as written)`` of every header, conditional directive and macro
        definition line, in order (see :func:`tributary.spec.scan.structural_lines`)."""
        return tuple(self._structural)

    def conditional_stack(self, index: int) -> tuple[int, ...]:
        """``%if`` line indices of the conditionals containing line ``index``, outermost first."""
        return self.conditionals.stacks[index]

    # -- editing ----------------------------------------------------------------------------

    def insert_lines(self, index: int, texts: Sequence[str]) -> int:
        """Insert ``texts`` before line ``index`` (``len(self)`` appends); return how many physical
        lines were added. Each text ends with the document's dominant newline, and a newline inside a
        text is kept verbatim, starting a further physical line. Appending after a last line that had
        no newline gives that line one, so the two never run together."""
        contents: list[str] = []
        endings: list[str] = []
        for text in texts:
            pieces, piece_endings = split_text(text, self.newline)
            contents += pieces
            endings += piece_endings
        if not contents:
            return 0
        if index == len(self._contents) and self._endings and self._endings[-1] == "":
            # Give the unterminated last line an ending, read back the way split_lines reads it: a
            # trailing "\r" followed by the new "\n" is one CRLF ending, not content.
            last, ending = split_text(self._contents[-1], self.newline)
            self._contents[-1:], self._endings[-1:] = last, ending
        self._contents[index:index] = contents
        self._endings[index:index] = endings
        self._rescan()
        return len(contents)

    def replace_line(self, index: int, text: str) -> int:
        """Replace the contents of line ``index``, keeping its ending; a newline inside ``text``
        splits it into several physical lines. Return how many lines now stand in its place."""
        pieces, endings = split_text(text, self._endings[index])
        self._contents[index : index + 1] = pieces
        self._endings[index : index + 1] = endings
        if self._contents[-1] == "" and self._endings[-1] == "":
            # "x\n" written over an unterminated last line: the empty remainder is no line at all.
            del self._contents[-1], self._endings[-1]
            pieces.pop()
        self._rescan()
        return len(pieces)

    def delete_lines(self, start: int, end: int) -> None:
        """Delete lines ``start`` up to ``end`` (exclusive), endings included."""
        del self._contents[start:end], self._endings[start:end]
        self._rescan()

    def delete_indices(self, indices: Iterable[int]) -> None:
        """Delete the given lines, endings included, in one edit."""
        doomed = set(indices)
        if not doomed:
            return
        keep = [i for i in range(len(self._contents)) if i not in doomed]
        self._contents = [self._contents[i] for i in keep]
        self._endings = [self._endings[i] for i in keep]
        self._rescan()

    # -- structure --------------------------------------------------------------------------

    def _rescan(self) -> None:
        """After an edit: find the structural lines again and drop everything derived from them."""
        self._restructure(LF.join(self._contents))

    def _restructure(self, text: str) -> None:
        self._structural = structural_lines(text)
        self._sections = None
        self._tags = {}
        self._conditionals = None

    def _build_sections(self) -> tuple[Section, ...]:
        contents = self._contents
        sections: list[Section] = []
        name = package = ""
        start = 0
        for index, token in self._structural:
            if token.lower() not in SECTION_NAMES:
                continue
            sections.append(Section(name, package, start, index))
            tokens = contents[index].split()
            name, package, start = tokens[0], package_of(tokens), index
        sections.append(Section(name, package, start, len(contents)))
        return tuple(sections)
