"""The doublestar dialect: matching, escaping, and walking a directory without leaving it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tributary.errors import PatternError
from tributary.globbing import compile_glob, glob_files, has_magic, unescape


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.patch", "a.patch", True),
        ("*.patch", "d/a.patch", False),
        ("*", ".hidden", True),
        ("?.c", "a.c", True),
        ("?", "/", False),
        ("**/*.patch", "a.patch", True),
        ("**/*.patch", "x/y/a.patch", True),
        ("**/abc.patch", "https://example.org/x/abc.patch", True),
        ("**", "a/b/c", True),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/b", "ab", False),
        ("vendor/**", "vendor/a/b.c", True),
        ("vendor/**", "vendor", True),
        ("vendor/**", "vendored/a", False),
        ("a**b", "axyb", True),  # not a whole segment: acts as '*'
        ("a**b", "ax/b", False),
        ("{a,b}.c", "b.c", True),
        ("{a,b}.c", "c.c", False),
        ("{a,{b,c}d}", "cd", True),
        ("{src/*.c,*.h}", "src/x.c", True),
        ("{**/x,y}", "deep/er/x", True),
        ("[a-c]x", "bx", True),
        ("[!a-c]x", "dx", True),
        ("[^a-c]x", "ax", False),
        ("[!a]", "/", False),
        ("[]]", "]", True),
        ("a[\\]]b", "a]b", True),
        ("\\*", "*", True),
        ("\\*", "x", False),
        ("\\{a,b\\}", "{a,b}", True),
        ("run-vmblock\\x2dfuse.mount", "run-vmblock\\x2dfuse.mount", True),  # '\x' is not an escape
        ("EU:MM.patch", "EU:MM.patch", True),
        ("a,b}", "a,b}", True),
        ("a+b(c).patch", "a+b(c).patch", True),  # regex characters are literal
    ],
)
def test_compile_glob(pattern: str, path: str, matches: bool) -> None:
    assert bool(compile_glob(pattern).match(path)) is matches


@pytest.mark.parametrize(("pattern", "magic"), [("a*", True), ("a?", True), ("[ab]", True), ("{a,b}", True), ("a\\*", False), ("a\\x", False), ("a]", False), ("plain.txt", False)])
def test_has_magic(pattern: str, magic: bool) -> None:
    assert has_magic(pattern) is magic


def test_unescape_drops_only_meta_escapes() -> None:
    assert unescape("a\\*b\\x\\{") == "a*b\\x{"


@pytest.mark.parametrize("pattern", ["[abc", "{a,b", "x{y"])
def test_unclosed_classes_and_braces_are_errors(pattern: str) -> None:
    with pytest.raises(PatternError, match="bad glob"):
        compile_glob(pattern)


def test_glob_files_is_sorted_files_only_and_skips_links_and_named_dirs(tmp_path: Path) -> None:
    for name in ("b.txt", "a.txt", "sub/c.txt", ".git/d.txt", "dir.txt/e"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "f.txt").write_text("x")
    os.symlink(outside, tmp_path / "linkdir")
    os.symlink(tmp_path / "a.txt", tmp_path / "link.txt")
    found = [p.relative_to(tmp_path).as_posix() for p in glob_files(tmp_path, "**/*.txt", skip_dirs={".git"})]
    assert found == ["a.txt", "b.txt", "sub/c.txt"]
    assert glob_files(tmp_path, "link.txt") == []
    assert glob_files(tmp_path, "linkdir/f.txt") == []
    assert glob_files(tmp_path, "sub/c.txt") == [tmp_path / "sub/c.txt"]
    assert glob_files(tmp_path, ".git/d.txt", skip_dirs={".git"}) == []
