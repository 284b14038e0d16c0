"""Doublestar globs, the pattern dialect azldev uses for includes, group specs, overlay files and patch values.

Python's ``glob`` and ``fnmatch`` differ from Go's doublestar: no ``{a,b}``, ``**`` only with a flag,
and other escaping. So the dialect is spelled out here:

* ``*`` matches any run of characters except ``/``; ``?`` one character except ``/``;
* ``[abc]``, ``[a-z]``, ``[!x]`` / ``[^x]`` match one character of a class, never ``/``;
* ``{a,b,c}`` matches any alternative (alternatives may nest and may contain ``/``);
* ``**`` as a whole path segment matches zero or more segments (``a/**/b``, ``**/x``, ``a/**``);
  elsewhere it acts as ``*``;
* a backslash escapes only the meta characters ``*?[]{}``; any other backslash is a literal
  character, so upstream names such as ``run-vmblock\\x2dfuse.mount`` match themselves.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from tributary import inputs
from tributary.errors import PatternError

_META = frozenset("*?[]{}")
_MAGIC = frozenset("*?[{")


def has_magic(pattern: str) -> bool:
    """Whether the pattern holds an unescaped wildcard, class or alternation."""
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and pattern[index + 1 : index + 2] in _META:
            index += 2
            continue
        if char in _MAGIC:
            return True
        index += 1
    return False


def unescape(pattern: str) -> str:
    """The literal path a pattern without magic names (escaped meta characters unescaped)."""
    return _ESCAPED_META.sub(r"\1", pattern)


_ESCAPED_META = re.compile(r"\\([*?\[\]{}])")


@functools.lru_cache(maxsize=512)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regex matching exactly the strings the pattern matches (use ``.match``; it is anchored)."""
    body, _ = _translate(pattern, 0, top_level=True)
    return re.compile(f"(?s:{body})\\Z")


def _translate(pattern: str, index: int, *, top_level: bool) -> tuple[str, int]:
    """Translate from ``index`` until the end, or (inside braces) until an unnested ``,`` or ``}``."""
    out: list[str] = []
    length = len(pattern)
    while index < length:
        char = pattern[index]
        if char == "\\" and index + 1 < length and pattern[index + 1] in _META:
            out.append(re.escape(pattern[index + 1]))
            index += 2
        elif char == "*":
            index = _star(pattern, index, out)
        elif char == "?":
            out.append("[^/]")
            index += 1
        elif char == "[":
            index = _char_class(pattern, index, out)
        elif char == "{":
            index = _alternation(pattern, index, out)
        elif char in ",}" and not top_level:
            break
        else:
            out.append(re.escape(char))
            index += 1
    return "".join(out), index


def _star(pattern: str, index: int, out: list[str]) -> int:
    end = index
    while end < len(pattern) and pattern[end] == "*":
        end += 1
    before = pattern[index - 1] if index else ""
    after = pattern[end] if end < len(pattern) else ""
    if end - index >= 2 and before in ("", "/", "{", ",") and after in ("", "/", "}", ","):
        if after == "/":
            out.append("(?:.*/)?")  # zero or more whole segments, each with its '/'
            return end + 1
        if out and out[-1] == "/":
            out[-1] = "(?:/.*)?"  # 'a/**' also matches 'a' itself, as doublestar does
        else:
            out.append(".*")
        return end
    out.append("[^/]*")
    return end


def _char_class(pattern: str, index: int, out: list[str]) -> int:
    end = index + 1
    if pattern[end : end + 1] in ("!", "^"):
        end += 1
    if pattern[end : end + 1] == "]":
        end += 1  # a ']' first in the class is a member
    while end < len(pattern) and pattern[end] != "]":
        end += 2 if pattern[end] == "\\" else 1
    if end >= len(pattern):
        raise PatternError(f"bad glob {pattern!r}: '[' without a closing ']'")
    body = pattern[index + 1 : end]
    negate = body[:1] in ("!", "^")
    if negate:
        body = body[1:]
    members = []
    position = 0
    while position < len(body):
        char = body[position]
        if char == "\\" and position + 1 < len(body):
            members.append(re.escape(body[position + 1]))
            position += 2
        elif char == "-" and members and position + 1 < len(body):
            members.append("-")
            position += 1
        else:
            members.append(re.escape(char))
            position += 1
    inner = "".join(members)
    out.append(f"[^/{inner}]" if negate else f"(?!/)[{inner}]")
    return end + 1


def _alternation(pattern: str, index: int, out: list[str]) -> int:
    options: list[str] = []
    position = index + 1
    while True:
        body, position = _translate(pattern, position, top_level=False)
        options.append(body)
        if position >= len(pattern):
            raise PatternError(f"bad glob {pattern!r}: '{{' without a closing '}}'")
        if pattern[position] == "}":
            out.append("(?:" + "|".join(options) + ")")
            return position + 1
        position += 1  # past ','


def glob_files(root: Path, pattern: str, *, skip_dirs: Collection[str] = (),
               skipped: list[Path] | None = None) -> list[Path]:
    """Regular files under ``root`` whose '/'-separated relative path matches ``pattern``, sorted.

    Symbolic links are never returned and never descended into, so every result lies inside
    ``root``. Directories named in ``skip_dirs`` (such as ``.git``) are not entered. Each symbolic
    link passed over that the pattern could have matched (a linked file it matches, a linked
    directory it could match something in) is appended to ``skipped``, for the caller to report.
    """
    regex = compile_glob(pattern)
    if not has_magic(pattern):
        literal = unescape(pattern)
        candidate = root / literal
        if (regex.match(literal) and inputs.is_file(candidate) and not _any_symlink(root, literal)
                and not set(literal.split("/")[:-1]) & set(skip_dirs)):
            return [candidate]
        return []
    found: list[Path] = []
    prefix = _static_prefix(pattern)
    start = root / prefix if prefix else root
    link = _first_symlink(root, prefix) if prefix else None
    if link is not None:
        if skipped is not None:
            skipped.append(link)
        return []
    if prefix and not inputs.is_dir(start):
        return []
    _walk(start, f"{prefix}/" if prefix else "", _Walk(pattern, regex, frozenset(skip_dirs), found, skipped))
    return sorted(found)


def may_match_below(pattern: str, directory: str) -> bool:
    """Whether ``pattern`` could match some path below ``directory`` (relative, '/'-separated): whether a
    walk for it has to look inside. True when unsure (an alternation that spans '/')."""
    segments = _segments(pattern)
    if segments is None:
        return True
    for index, part in enumerate(directory.split("/")):
        if index < len(segments) and segments[index] == "**":
            return True
        if index >= len(segments) - 1 or not compile_glob(segments[index]).match(part):
            return False
    return True


def _segments(pattern: str) -> list[str] | None:
    """The pattern's '/'-separated segments; None when a '{...}' holds a '/' (segments do not apply)."""
    depth = index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and pattern[index + 1 : index + 2] in _META:
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        elif char == "/" and depth:
            return None
        index += 1
    return pattern.split("/")


def split_absolute(pattern: str) -> tuple[str, str]:
    """An absolute pattern as (directory without magic, the rest relative to it), for ``glob_files``."""
    parts = pattern.split("/")
    for index, part in enumerate(parts):
        if has_magic(part):
            return "/".join(parts[:index]) or "/", "/".join(parts[index:])
    return "/".join(parts[:-1]) or "/", parts[-1]


def match(pattern: str, relative_path: str) -> bool:
    """Whether a '/'-separated relative path matches the pattern."""
    return compile_glob(pattern).match(relative_path) is not None


def _static_prefix(pattern: str) -> str:
    """The leading directories that hold no magic: the walk can start there instead of at the root."""
    static: list[str] = []
    for part in pattern.split("/")[:-1]:
        if has_magic(part) or "\\" in part or part in ("", ".", ".."):
            break
        static.append(part)
    return "/".join(static)


def _any_symlink(root: Path, relative: str) -> bool:
    return _first_symlink(root, relative) is not None


def _first_symlink(root: Path, relative: str) -> Path | None:
    path = root
    for part in relative.split("/"):
        path = path / part
        if inputs.is_symlink(path):
            return path
    return None


@dataclass(frozen=True)
class _Walk:
    """One glob's walk: what it looks for, where it puts what it finds and the links it passes over."""

    pattern: str
    regex: re.Pattern[str]
    skip: frozenset[str]
    found: list[Path]
    skipped: list[Path] | None


def _walk(directory: Path, prefix: str, walk: _Walk) -> None:
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        relative = prefix + entry.name
        if entry.is_dir(follow_symlinks=False):
            if entry.name not in walk.skip:
                _walk(Path(entry.path), relative + "/", walk)
        elif entry.is_file(follow_symlinks=False):
            if walk.regex.match(relative):
                walk.found.append(Path(entry.path))
        elif entry.is_symlink() and walk.skipped is not None and (
                walk.regex.match(relative) or (entry.is_dir() and may_match_below(walk.pattern, relative))):
            walk.skipped.append(Path(entry.path))
