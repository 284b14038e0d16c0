"""Which files of a component's directory its spec needs, so render can drop everything else.

azldev asks ``spectool`` inside a mock chroot of the target distribution. We read the spec with our
own model (``render.spec_view``: macros expanded with the component's own, ``%(...)`` under bash,
``%{lua:}`` in Lua, ``%include``d files read) and keep:

* what every ``Source``/``Patch`` tag names (``Patch 0:`` and ``Patch0 :`` are tags too), and every
  line of ``%sourcelist``/``%patchlist``, by rpm's rule: the part after the last ``/``, so both
  ``https://host/x.tar.gz#/name`` and ``...#./name`` (and a ``?query`` before them) give ``name``;
  for a relative path, its top-level directory too, as azldev does;
* files read through ``%include`` and ``%{load:...}``;
* files a build script names in the source directory (``%{_sourcedir}/name``, ``$RPM_SOURCE_DIR/name``);
* files listed, one per line, in a kept ``*.patches`` file (a patch series that ``%prep`` applies
  with ``git am``).

Both branches of a conditional the spec cannot decide here (``%ifarch``, a macro of the upstream
distribution) count, so a file used on one architecture only is kept. When a name still holds
something unknown, it is a pattern (the unknown part matches anything); a ``%{lua:}`` in the preamble
that could not run may stand for any tag, so then every file is kept.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from tributary.spec.evaluate import SpecFacts
from tributary.spec.macros import matching_close

PATCH_LIST_SUFFIXES = (".patches",)
"""Kept files whose lines name further files to keep (patch series applied by a script)."""

MAX_LIST_BYTES = 1024 * 1024

_SHELL_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*")
_BARE_MACRO = re.compile(r"%[?!]*[A-Za-z_][A-Za-z0-9_]*")
_UNKNOWN_AT = {"%": _BARE_MACRO, "$": _SHELL_VARIABLE}
_SOURCE_DIR_VARIABLE = re.compile(r"\$\{?RPM_SOURCE_DIR\}?/([^\s\"';|&<>()]+)")


def referenced_files(tree: Path, facts: SpecFacts) -> set[str] | None:
    """Top-level entries of ``tree`` the spec (read as ``facts``, ``spec_view.read_spec``) needs; None
    when any of them may be (keep everything)."""
    if facts.hidden:
        return None
    root = str(tree.resolve())
    patterns: set[str] = set()
    for value in [*facts.sources.values(), *facts.patches.values(), *facts.listed]:
        if not value.strip():
            continue  # a tag whose value expanded to nothing (`%{?with_x:x.patch}` without x) names no file
        patterns.add(name_pattern(value.rsplit("/", 1)[-1]))
        if "://" not in value and "/" in value.strip("/"):
            patterns.add(name_pattern(value.lstrip("/").split("/", 1)[0]))
    for included in facts.included:
        patterns.add(name_pattern(_in_directory(included, root)))
    for line in facts.scripts:
        patterns.update(name_pattern(name) for name in script_references(line, root))
    entries = sorted(entry.name for entry in tree.iterdir())
    keep = {entry for entry in entries if any(fnmatch.fnmatchcase(entry, pattern) for pattern in patterns)}
    for listing in sorted(keep):
        if listing.endswith(PATCH_LIST_SUFFIXES):
            keep.update(_listed_files(tree / listing, set(entries)))
    return keep


def name_pattern(name: str) -> str:
    """A file name as a glob: whatever is still unknown in it (a macro, a shell variable) matches anything."""
    pattern: list[str] = []
    position = 0
    while position < len(name):
        char = name[position]
        if char == "%" and name[position + 1 : position + 2] in ("{", "(", "["):
            close = matching_close(name, position + 1)
            position = len(name) if close < 0 else close + 1
            pattern.append("*")
            continue
        unknown = _UNKNOWN_AT.get(char)
        match = unknown.match(name, position) if unknown else None
        if match:
            pattern.append("*")
            position = match.end()
            continue
        pattern.append(char)
        position += 1
    return "".join(pattern) or "*"


def script_references(line: str, source_dir: str) -> list[str]:
    """Top-level names a build-script line uses in the source directory (``%{_sourcedir}`` has been
    expanded to ``source_dir`` already)."""
    names = []
    prefix = source_dir.rstrip("/") + "/"
    start = line.find(prefix)
    while start >= 0:
        rest = line[start + len(prefix) :]
        names.append(re.split(r"[\s\"';|&<>()/]", rest, maxsplit=1)[0])
        start = line.find(prefix, start + len(prefix))
    names += [match.group(1).split("/", 1)[0] for match in _SOURCE_DIR_VARIABLE.finditer(line)]
    return [name for name in names if name]


def _in_directory(path: str, root: str) -> str:
    """The top-level entry a path read by ``%include``/``%{load:}`` is in."""
    prefix = root.rstrip("/") + "/"
    relative = path.removeprefix(prefix)
    return relative.lstrip("/").split("/", 1)[0]


def _listed_files(listing: Path, entries: set[str]) -> set[str]:
    """Entries of the directory named on the lines of a patch-series file (first word of each line)."""
    if not listing.is_file() or listing.is_symlink() or listing.stat().st_size > MAX_LIST_BYTES:
        return set()
    found = set()
    for line in listing.read_text(encoding="utf-8", errors="replace").splitlines():
        words = line.split()
        if words and not words[0].startswith("#"):
            name = words[0].rsplit("/", 1)[-1]
            if name in entries:
                found.add(name)
    return found
