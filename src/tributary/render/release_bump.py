"""Raising a spec's static Release by a number of synthetic commits, the way azldev did in April 2026.

The azldev that rendered Azure Linux 4.0's tree (April 2026) bumped the *leading number* of the Release
value and kept the rest as written: ``2.1%{?dist}`` -> ``3.1%{?dist}``, ``22%{?dist}%{?buildid}``,
``2%{?prever_dot}%{?dist}``, ``9.git%{gittagcommit}%{?dist}``, ``1%{?alphatag:.%{alphatag}}%{?dist}``,
``0.git%{shortcommit0}%{?dist}.2`` -> ``1.git%{shortcommit0}%{?dist}.2``. That covers the forms of
Fedora's versioning guidelines (snapshots, pre-releases, ``%{?dist}`` in the middle for a minor bump).
Two cases go further than azldev, which refused them:

* a Release that *is* a macro (``%{baserelease}%{?dist}``, ``%{rel}``) whose definitions in the spec
  start with a number: the definitions are raised, so every other use of the macro (a subpackage's
  ``Requires: ...-%{baserelease}``) stays consistent;
* several Release lines (both branches of a ``%if``): each is raised from its own value, where azldev
  wrote the last one's bumped value over all of them.

A Release using ``%autorelease`` in any branch makes the component an rpmautospec one (Azure Linux's llvm
keeps ``Release: 1%{?dist}`` for RHEL 8 next to ``Release: %autorelease``): nothing is bumped here.
Anything else cannot be bumped and is a :class:`ReleaseBumpError` naming the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tributary.spec import SpecDocument, Tag, format_tag, parse

AUTORELEASE = re.compile(r"%(?:\{\??)?autorelease(?![A-Za-z0-9_])")
_LEADING_NUMBER = re.compile(r"^(\s*)(\d+)(.*)$", re.DOTALL)
_LEADING_MACRO = re.compile(r"^%(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_DEFINITION = re.compile(r"^(\s*%(?:global|define)\s+)([A-Za-z_][A-Za-z0-9_]*)(\s+)(.*)$")
MAX_MACRO_DEPTH = 8


@dataclass
class ReleaseBumpError(Exception):
    """A Release value (or a definition it leads to) that does not start with a number."""

    index: int  # 0-based line of the spec
    value: str
    reason: str


def release_tags(document: SpecDocument) -> list[Tag]:
    """Every ``Release`` line of the main package (both branches of a conditional included)."""
    tags: list[Tag] = []
    for section in document.sections:
        if section.name == "":
            tags += [tag for tag in document.tags(section) if tag.is_named("Release")]
    return tags


def uses_autorelease(tags: list[Tag]) -> bool:
    return any(AUTORELEASE.search(tag.value) for tag in tags)


def bump_release(text: str, count: int) -> str:
    """``text`` with every main-package Release raised by ``count`` (see the module's rules)."""
    document = parse(text)
    raised: set[str] = set()
    for tag in release_tags(document):
        number = _LEADING_NUMBER.match(tag.value)
        if number is not None:
            document.replace_line(tag.index, format_tag(tag.name, _raise(number, count)))
            continue
        macro = _LEADING_MACRO.match(tag.value)
        if macro is None:
            raise ReleaseBumpError(tag.index, tag.value, "it starts with neither a number nor a macro")
        _raise_macro(document, macro.group(1) or macro.group(2), count, raised, (tag.index, tag.value), 0)
    return str(document)


def _raise(match: re.Match[str], count: int) -> str:
    space, digits, rest = match.groups()
    return f"{space}{int(digits) + count}{rest}"


def _raise_macro(document: SpecDocument, name: str, count: int, raised: set[str], user: tuple[int, str],
                 depth: int) -> None:
    """Raise the leading number of every definition of ``name`` (following a definition that is itself
    a macro), each macro once however many Release lines use it."""
    if name in raised:
        return
    raised.add(name)
    definitions = [(index, match) for index, line in enumerate(document.lines)
                   if (match := _DEFINITION.match(line)) is not None and match.group(2) == name]
    if not definitions or depth > MAX_MACRO_DEPTH:
        raise ReleaseBumpError(user[0], user[1], f"it starts with %{{{name}}}, which the spec does not define")
    for index, definition in definitions:
        head, _, gap, body = definition.groups()
        number = _LEADING_NUMBER.match(body)
        if number is not None:
            document.replace_line(index, f"{head}{name}{gap}{_raise(number, count)}")
            continue
        inner = _LEADING_MACRO.match(body)
        if inner is None:
            raise ReleaseBumpError(index, document.line(index).strip(),
                                   f"%{{{name}}} (used by Release) does not start with a number")
        _raise_macro(document, inner.group(1) or inner.group(2), count, raised, (index, document.line(index).strip()),
                     depth + 1)
