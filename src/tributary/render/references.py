"""Which files a spec refers to, so render can drop everything else from the output directory.

azldev asks ``spectool`` inside a mock chroot. We read the spec's own ``Source``/``Patch`` tags and
``%sourcelist``/``%patchlist`` lines with a small macro expander (``%global``/``%define`` and the
Name/Version/Release tags). Like azldev, when a reference still holds an unexpanded macro we cannot know
the file set, and keep every file rather than risk dropping one the build needs.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from tributary.spec import parse

_MACRO = re.compile(r"%\{(\??)([A-Za-z_][A-Za-z0-9_]*)\}|%([A-Za-z_][A-Za-z0-9_]*)")
_DEFINE = re.compile(r"^\s*%(?:global|define)\s+([A-Za-z_][A-Za-z0-9_]*)(?:\(\))?\s+(.*?)\s*$")
# Preamble tags rpm also defines as macros (%{name}, %{url}...), which Source lines often use.
_TAG_MACROS = frozenset({"name", "version", "release", "epoch", "summary", "license", "url"})
_SOURCE_TAG = re.compile(r"^(source|patch)\d*$", re.IGNORECASE)


def expand(text: str, macros: dict[str, str], depth: int = 0) -> str:
    """Expand the simple macros we know; ``%{?x}`` of an unknown x is empty, others stay as written."""

    def substitute(match: re.Match[str]) -> str:
        optional, braced, bare = match.group(1), match.group(2), match.group(3)
        name = braced or bare
        if name in macros:
            return macros[name]
        return "" if optional else match.group(0)

    expanded = _MACRO.sub(substitute, text)
    if expanded != text and depth < 10 and "%" in expanded:
        return expand(expanded, macros, depth + 1)
    return expanded


def referenced_files(spec_text: str) -> list[str] | None:
    """Base names of the files the spec ships (Source/Patch tags, source and patch lists).

    None when a name still holds a macro we cannot expand: the caller must then keep every file.
    """
    document = parse(spec_text)
    macros: dict[str, str] = {}
    for line in document.lines:
        match = _DEFINE.match(line)
        if match:
            macros.setdefault(match.group(1), match.group(2))
    names: list[str] = []
    for tag in document.all_tags():
        lowered = tag.name.lower()
        if lowered in _TAG_MACROS:
            macros.setdefault(lowered, tag.value)
        elif _SOURCE_TAG.match(tag.name):
            names.append(tag.value)
    for section in document.sections:
        if section.name in ("%sourcelist", "%patchlist"):
            for index in range(section.start + 1, section.end):
                line = document.line(index).strip()
                if line and not line.startswith("#"):
                    names.append(line)
    result: list[str] = []
    for raw in names:
        value = expand(raw, macros).strip()
        if "%" in value:
            return None
        # A URL's file name is its last path segment; '#/name' renames it, as spectool reads it.
        value = value.rsplit("#/", 1)[-1] if "#/" in value else value
        result.append(PurePosixPath(value.split("?", 1)[0]).name)
    return result
