"""Tag lines (``Name: value``) as azldev's editor recognises them.

The rule is deliberately naive and must stay so to match azldev: any token free of blanks and colons
followed by ``:`` is a tag name, with no macro expansion and no knowledge of real rpm tags. So
``Requires(post)`` is its own tag, and both branches of a ``%if`` are seen. Only a ``#`` in column 0
makes a comment; an indented ``#`` is ordinary text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG = re.compile(r"([^\s:]+):\s*")
_DIGITS = "0123456789"


@dataclass(frozen=True, slots=True)
class Tag:
    """A tag line: its index in the document, the name as written and the trimmed value."""

    index: int
    name: str
    value: str

    def is_named(self, name: str) -> bool:
        return self.name.lower() == name.lower()


def parse_tag(line: str) -> tuple[str, str] | None:
    """``(name, value)`` if ``line`` reads as a tag, else None. Section headers are the caller's
    business: this only knows the shape of a tag line."""
    if line[:1] == "#":
        return None
    stripped = line.strip()
    match = _TAG.match(stripped)
    if match is None:
        return None
    return match.group(1), stripped[match.end() :]


def tag_family(name: str) -> str:
    """The family spec-insert-tag groups by: lowercased, trailing digits dropped (``Source9999`` ->
    ``source``); an all-digit name is its own family."""
    lower = name.lower()
    return lower.rstrip(_DIGITS) or lower


def format_tag(name: str, value: str) -> str:
    """A rewritten tag line: azldev emits one space after the colon, whatever the original alignment."""
    return f"{name}: {value}"


def patch_number(name: str) -> int | None:
    """N for a ``PatchN`` tag (any case, decimal N), None for anything else including bare ``Patch``
    and macro-numbered ``Patch%{n}``."""
    lower = name.lower()
    if not lower.startswith("patch"):
        return None
    suffix = lower[5:]
    if suffix and suffix.isascii() and suffix.isdigit():
        return int(suffix)
    return None
