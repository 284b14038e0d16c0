"""Find the line of a key in a TOML file, lazily.

``tomllib`` keeps no positions. Rather than pay for position tracking on every load of thousands of
files, we parse fast and come back here only when a line number is needed: for an error, or for
``comp query -v``. The scanner understands the structure of TOML (tables, arrays of tables, dotted keys,
inline tables, arrays, all four string kinds) but not its values, which tomllib already checked.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tributary.errors import Location

Key = str | int
KeyPath = tuple[Key, ...]

# Runs the scanner skips in one step instead of a character at a time (a 7,400-table file is common).
_SPACE = re.compile(r"[ \t\r]*(?:#[^\n]*)?")
_SPACE_AND_NEWLINES = re.compile(r"(?:[ \t\r\n]+|#[^\n]*)*")
_BARE_KEY = re.compile(r"[\w$-]*")
_SIMPLE_HEADER = re.compile(r"\[([\w$-]+(?:\.[\w$-]+)*)\]")  # [a.b.c]: bare keys, no spaces
_SCALAR = re.compile(r"[^,\]}\n#]*")
_BASIC_STRING_BODY = re.compile(r'(?:[^"\\\n]|\\.)*')
_LITERAL_STRING_BODY = re.compile(r"[^'\n]*")


@dataclass(frozen=True)
class Origin:
    """Where a table was written: the file and the key path inside it (line found lazily)."""

    path: Path
    keys: tuple[Any, ...]

    def location(self, *sub: Any) -> Location:
        return Location(self.path, find_line(self.path, (*self.keys, *sub)))

    def __str__(self) -> str:
        return str(self.location())


def find_line(path: Path, keys: Sequence[Key]) -> int | None:
    """The 1-based line where ``keys`` is defined in ``path``, or where its closest parent is."""
    positions = _positions(path, path.stat().st_mtime_ns)
    wanted = tuple(keys)
    while wanted:
        if wanted in positions:
            return positions[wanted]
        wanted = wanted[:-1]
    return None


@functools.lru_cache(maxsize=64)
def _positions(path: Path, _mtime: int) -> dict[KeyPath, int]:
    return scan(path.read_text(encoding="utf-8", errors="replace"))


def scan(text: str) -> dict[KeyPath, int]:
    """Map every key path in the document (array elements as integer indexes) to its first line."""
    return _Scanner(text).run()


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.positions: dict[KeyPath, int] = {}
        self.array_counts: dict[KeyPath, int] = {}

    # -- low-level cursor -------------------------------------------------------------------
    def _peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def _advance(self, count: int = 1) -> None:
        self._jump(min(self.pos + count, len(self.text)))

    def _jump(self, end: int) -> None:
        """Move to ``end``, counting the lines passed."""
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end

    def _skip_space(self, newlines: bool = False) -> None:
        """Spaces and a comment; with ``newlines``, blank and comment lines too."""
        match = (_SPACE_AND_NEWLINES if newlines else _SPACE).match(self.text, self.pos)
        assert match is not None  # both patterns match the empty string
        self._jump(match.end())

    def _record(self, keys: KeyPath, line: int) -> None:
        self.positions.setdefault(keys, line)

    # -- structure ----------------------------------------------------------------------------
    def run(self) -> dict[KeyPath, int]:
        table: KeyPath = ()
        while self.pos < len(self.text):
            self._skip_space(newlines=True)
            char = self._peek()
            if not char:
                break
            if char == "[":
                table = self._header()
            else:
                self._key_value(table)
            self._skip_to_line_end()
        return self.positions

    def _skip_to_line_end(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end

    def _header(self) -> KeyPath:
        line = self.line
        is_array = self._peek(1) == "["
        simple = None if is_array else _SIMPLE_HEADER.match(self.text, self.pos)
        if simple:
            written: KeyPath = tuple(simple.group(1).split("."))
            self.pos = simple.end()
        else:
            self._advance(2 if is_array else 1)
            written = self._keys()
            self._skip_space()
            self._advance(2 if is_array else 1)
        keys = self._inside_arrays(written[:-1]) + written[-1:]
        if is_array:
            index = self.array_counts.get(keys, 0)
            self.array_counts[keys] = index + 1
            self._record(keys, line)
            keys = keys + (index,)
        for depth in range(1, len(keys) + 1):
            self._record(keys[:depth], line)
        return keys

    def _inside_arrays(self, keys: KeyPath) -> KeyPath:
        """Inside ``[[a]]`` a header ``[a.b]`` belongs to the last ``a`` element: insert its index."""
        resolved: list[Key] = []
        for key in keys:
            resolved.append(key)
            count = self.array_counts.get(tuple(resolved))
            if count is not None:
                resolved.append(count - 1)
        return tuple(resolved)

    def _keys(self) -> KeyPath:
        keys: list[Key] = []
        while True:
            self._skip_space()
            keys.append(self._key())
            self._skip_space()
            if self._peek() == ".":
                self._advance()
                continue
            return tuple(keys)

    def _key(self) -> str:
        char = self._peek()
        if char in ('"', "'"):
            return self._string_value()
        match = _BARE_KEY.match(self.text, self.pos)
        assert match is not None  # the pattern matches the empty string
        self.pos = match.end()
        return match.group()

    def _key_value(self, table: KeyPath) -> None:
        line = self.line
        keys = table + self._keys()
        for depth in range(len(table) + 1, len(keys) + 1):
            self._record(keys[:depth], line)
        self._skip_space()
        if self._peek() == "=":
            self._advance()
        self._skip_space()
        self._value(keys)

    def _value(self, keys: KeyPath) -> None:
        char = self._peek()
        if char in ('"', "'"):
            self._string_value()
        elif char == "[":
            self._array(keys)
        elif char == "{":
            self._inline_table(keys)
        else:
            match = _SCALAR.match(self.text, self.pos)
            assert match is not None  # the pattern matches the empty string
            self.pos = match.end()

    def _array(self, keys: KeyPath) -> None:
        self._advance()
        index = 0
        while True:
            self._skip_space(newlines=True)
            char = self._peek()
            if char in ("]", ""):
                self._advance()
                return
            if char == ",":
                self._advance()
                continue
            self._record(keys + (index,), self.line)
            self._value(keys + (index,))
            index += 1

    def _inline_table(self, keys: KeyPath) -> None:
        self._advance()
        while True:
            self._skip_space(newlines=True)
            char = self._peek()
            if char in ("}", ""):
                self._advance()
                return
            if char == ",":
                self._advance()
                continue
            line = self.line
            inner = keys + self._keys()
            for depth in range(len(keys) + 1, len(inner) + 1):
                self._record(inner[:depth], line)
            self._skip_space()
            if self._peek() == "=":
                self._advance()
            self._skip_space()
            self._value(inner)

    def _string_value(self) -> str:
        quote = self._peek()
        triple = self.text.startswith(quote * 3, self.pos)
        self._advance(3 if triple else 1)
        start = self.pos
        if not triple:  # one line: its body in one step, then the closing quote (or the line's end)
            body = (_BASIC_STRING_BODY if quote == '"' else _LITERAL_STRING_BODY).match(self.text, start)
            assert body is not None  # both patterns match the empty string
            self.pos = body.end()
            self._advance()
            return body.group()
        while self.pos < len(self.text):
            char = self._peek()
            if quote == '"' and char == "\\":
                self._advance(2)
                continue
            if triple and self.text.startswith(quote * 3, self.pos):
                end = self.pos
                self._advance(3)
                while self._peek() == quote:  # up to two quotes may close a multi-line string
                    self._advance()
                return self.text[start:end]
            if not triple and (char == quote or char == "\n"):
                end = self.pos
                self._advance()
                return self.text[start:end]
            self._advance()
        return self.text[start:]
