"""The lines of a spec's scripts that apply patches by number: ``%patchN``, ``%patch N``, ``%patch -P N``.

rpm (4.18 and later) accepts all three spellings, and several ``-P`` options or numbers on one line;
``%patch`` with no number at all applies patch 0 (deprecated, refused by rpm 4.20). ``%autosetup`` and
``%autopatch`` apply every declared patch without naming it, so they are not patch lines here. A
number written with a macro (``%patch -P %{n}``) is unknown: ``None`` in ``numbers``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from tributary.spec.document import SpecDocument

# %patch options that take an argument (rpm's "P:p:REb:z:F:d:o:Z"): the next token is not a number.
_WITH_ARGUMENT = frozenset("PpbzFdo")
_HEAD = re.compile(r"^\s*%(?:\{)?patch(\d*)(\})?(?=\s|$)")


@dataclass(frozen=True)
class PatchLine:
    """One line applying patches: its index and the patch numbers it names (None: written as a macro)."""

    index: int
    numbers: tuple[int | None, ...]


def patch_line(line: str) -> tuple[int | None, ...] | None:
    """The numbers a ``%patch`` line applies, or None when ``line`` is no such line."""
    head = _HEAD.match(line)
    if head is None:
        return None
    numbers: list[int | None] = [int(head.group(1))] if head.group(1) else []
    tokens = line[head.end():].split()
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.startswith("-") and len(token) >= 2 and token[1] in _WITH_ARGUMENT:
            argument = token[2:] or (tokens[index + 1] if index + 1 < len(tokens) else "")
            index += 1 if token[2:] else 2
            if token[1] == "P":
                numbers.append(_number(argument))
            continue
        if not token.startswith("-"):
            numbers.append(_number(token))
        index += 1
    return tuple(numbers) if numbers else (0,)


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def patch_lines(doc: SpecDocument) -> list[PatchLine]:
    """Every ``%patch`` line in the spec's scripts (not in the preamble or ``%package`` bodies)."""
    found: list[PatchLine] = []
    for section in doc.sections:
        if section.is_package_section:
            continue
        for index in range(section.body_start, section.end):
            line = doc.line(index)
            if "%" in line and "patch" in line:
                numbers = patch_line(line)
                if numbers is not None:
                    found.append(PatchLine(index, numbers))
    return found


def without_patches(line: str, numbers: Collection[int]) -> str | None:
    """``line`` no longer applying the patches ``numbers``: None when it applies nothing else (delete
    it), the line itself when it applies none of them, else the line with their ``-P N`` options or
    numbers taken out (a ``%patchN`` line applies one patch only, so it is deleted or kept whole)."""
    applied = patch_line(line)
    if applied is None or not any(n in numbers for n in applied):
        return line
    if all(n in numbers for n in applied):
        return None
    head = _HEAD.match(line)
    assert head is not None
    if head.group(1) and int(head.group(1)) in numbers:  # "%patch2 -P 3" dropping 2: "%patch -P 3"
        kept = [line[:head.start(1)] + line[head.end(1):head.end()]]
    else:
        kept = [line[:head.end()]]
    tokens = line[head.end():].split()
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.startswith("-") and len(token) >= 2 and token[1] in _WITH_ARGUMENT:
            taken = [token] if token[2:] else tokens[index:index + 2]
            index += len(taken)
            if token[1] == "P" and _number(token[2:] or taken[-1]) in numbers:
                continue
            kept.extend(taken)
            continue
        index += 1
        if not token.startswith("-") and _number(token) in numbers:
            continue
        kept.append(token)
    return " ".join(kept)
