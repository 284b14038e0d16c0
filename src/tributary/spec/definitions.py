"""Macro definitions a spec writes on lines of their own (``%global``/``%define``), and uses of a macro.

Only what the text shows, without expansion: enough for an overlay to change a definition in place
(``spec-set-macro``), for a removal to know which definitions it takes with it, and for the render
check to see whether a macro the spec no longer defines is still used. A definition continued with
``\\`` spans several lines; a definition written inside another's continued body is part of that body,
not a definition of the spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from tributary.spec.conditionals import MACRO_DEFINITIONS, continuation_end
from tributary.spec.document import SpecDocument

_HEAD = re.compile(r"^(\s*)(%\w+)(\s+)([A-Za-z_][A-Za-z0-9_]*)(\([^)]*\))?(\s*)(.*)$", re.DOTALL)
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class MacroDefinition:
    """One ``%global``/``%define`` line (and its continuation lines, up to ``end``, exclusive)."""

    start: int
    end: int
    keyword: str  # as written: "%global" or "%define"
    name: str
    parameters: str  # "(opts)" of a parametric macro, else ""
    body: str  # the first line's text after the name (continuation lines not included)

    def rewritten(self, line: str, value: str) -> str:
        """``line`` (this definition's first line) with ``value`` as its whole body, spacing kept."""
        match = _HEAD.match(line)
        assert match is not None
        indent, keyword, gap, name, parameters, space, _ = match.groups()
        return f"{indent}{keyword}{gap}{name}{parameters or ''}{space or ' '}{value}"


def macro_definitions(doc: SpecDocument) -> list[MacroDefinition]:
    """Every definition the spec makes on a line of its own, in file order (both ``%if`` branches)."""
    found: list[MacroDefinition] = []
    body_end = 0
    for index, token in doc.structural:
        if index < body_end or token.lower() not in MACRO_DEFINITIONS:
            continue
        body_end = continuation_end(doc.lines, index)
        match = _HEAD.match(doc.line(index))
        if match is None:
            continue  # "%global" with no name: rpm refuses it; nothing to address here
        found.append(MacroDefinition(index, body_end, match.group(2), match.group(4), match.group(5) or "",
                                     match.group(7)))
    return found


@lru_cache(maxsize=256)
def use_pattern(name: str) -> re.Pattern[str]:
    """A use of macro ``name``: ``%name``, ``%{name}``, ``%{?name}``, ``%{!?name:...}``, ``%?name``; not
    the escaped ``%%name``, nor a longer name that starts the same."""
    return re.compile(r"(?<!%)(?:%%)*%(?:\{[!?]*|[!?]+)?" + re.escape(name) + r"(?![A-Za-z0-9_])")


def uses_macro(text: str, name: str) -> bool:
    return use_pattern(name).search(text) is not None


def used_outside(doc: SpecDocument, name: str, skipped: set[int]) -> int | None:
    """The first line (index) outside ``skipped`` that uses macro ``name``, None when none does.
    Definitions of ``name`` itself do not count as uses."""
    pattern = use_pattern(name)
    own = {i for d in macro_definitions(doc) if d.name == name for i in range(d.start, d.end)}
    for index, line in enumerate(doc.lines):
        if index in skipped or index in own or "%" not in line:
            continue
        if pattern.search(line):
            return index
    return None
