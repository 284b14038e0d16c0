"""Doublestar globs, as azldev's configuration and overlays use them.

Python's ``glob``/``fnmatch`` differ from the Go doublestar dialect azldev speaks: no ``{a,b}``
alternation, a different escape rule, ``**`` only with ``recursive=True``. This module implements the
dialect explicitly: ``*`` ``?`` ``[...]`` within one path segment, ``**`` across segments, ``{a,b}``
alternation, and a backslash that escapes only the meta characters ``*?[]{}`` (any other backslash is
literal, which is how azldev matches upstream file names such as ``run-vmblock\\x2dfuse.mount``).
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

_META = set("*?[]{}")


def has_magic(pattern: str) -> bool:
    """True when the pattern has an unescaped meta character (so an empty match is not an error)."""
    escaped = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "*?[{":
            return True
    return False


def literal_path(pattern: str) -> str:
    """The path a pattern without magic names, with its meta-escaping backslashes removed."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern) and pattern[index + 1] in _META:
            out.append(pattern[index + 1])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Translate a doublestar pattern for '/'-separated relative paths into an anchored regex."""
    return re.compile(_translate(pattern) + r"\Z", re.DOTALL)


def _translate(pattern: str) -> str:
    out: list[str] = []
    index = 0
    length = len(pattern)
    while index < length:
        char = pattern[index]
        if char == "\\" and index + 1 < length and pattern[index + 1] in _META:
            out.append(re.escape(pattern[index + 1]))
            index += 2
        elif char == "*":
            if pattern.startswith("**", index):
                at_start = index == 0 or pattern[index - 1] == "/"
                end = index + 2
                if at_start and (end == length or pattern[end] == "/"):
                    # '**/' matches zero or more whole directories; a trailing '**' matches anything.
                    if end == length:
                        out.append(".*")
                        index = end
                    else:
                        out.append("(?:[^/]*/)*")
                        index = end + 1
                    continue
            out.append("[^/]*")
            index += 1
        elif char == "?":
            out.append("[^/]")
            index += 1
        elif char == "[":
            close = pattern.find("]", index + 2 if pattern[index + 1 : index + 2] in ("!", "^") else index + 1)
            if close == -1:
                out.append(re.escape(char))
                index += 1
                continue
            body = pattern[index + 1 : close]
            if body[:1] in ("!", "^"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            index = close + 1
        elif char == "{":
            close, options = _split_braces(pattern, index)
            if close == -1:
                out.append(re.escape(char))
                index += 1
                continue
            out.append("(?:" + "|".join(_translate(option) for option in options) + ")")
            index = close + 1
        else:
            out.append(re.escape(char))
            index += 1
    return "".join(out)


def _split_braces(pattern: str, start: int) -> tuple[int, list[str]]:
    depth = 0
    options: list[str] = []
    current: list[str] = []
    index = start
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            current.append(pattern[index : index + 2])
            index += 2
            continue
        if char == "{":
            depth += 1
            if depth > 1:
                current.append(char)
        elif char == "}":
            depth -= 1
            if depth == 0:
                options.append("".join(current))
                return index, options
            current.append(char)
        elif char == "," and depth == 1:
            options.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    return -1, []


def match(pattern: str, relative_path: str) -> bool:
    """Whether a '/'-separated relative path matches the pattern."""
    return compile_glob(pattern).match(relative_path) is not None


def glob_files(root: Path, pattern: str, *, exclude_dirs: frozenset[str] = frozenset()) -> list[Path]:
    """Regular files below ``root`` whose relative path matches, in lexical walk order.

    Symbolic links are neither followed nor returned, so a match never leads out of ``root``.
    """
    regex = compile_glob(pattern)
    prefix = _static_prefix(pattern)
    start = root / prefix if prefix else root
    if not start.is_dir() or start.is_symlink():
        return []
    found: list[Path] = []
    _walk(start, prefix, regex, exclude_dirs, found)
    return found


def _static_prefix(pattern: str) -> str:
    """The leading directories of a pattern that hold no magic: the walk can start there."""
    parts = pattern.split("/")
    static: list[str] = []
    for part in parts[:-1]:
        if has_magic(part) or "\\" in part or part in ("", ".", ".."):
            break
        static.append(part)
    return "/".join(static)


def _walk(directory: Path, relative: str, regex: re.Pattern[str], exclude: frozenset[str], found: list[Path]) -> None:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        rel = f"{relative}/{entry.name}" if relative else entry.name
        if entry.is_symlink():
            continue
        if entry.is_dir():
            if entry.name not in exclude:
                _walk(Path(entry.path), rel, regex, exclude, found)
        elif entry.is_file() and regex.match(rel):
            found.append(Path(entry.path))
