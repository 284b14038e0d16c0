"""patch-add and patch-remove: a patch registered in the spec and its file in the sources directory.

The spec part follows azldev: a spec with a ``%patchlist`` gets the file name appended there;
otherwise a ``Patch<N+1>`` tag is added (add-tag placement), N being the highest ``PatchN`` across all
packages, with bare ``Patch:`` tags counting as 0..k-1 (``Patch%{n}`` tags are invisible and may
collide). Removal matches a doublestar glob against ``PatchN`` values (URLs included, hence
``**/x.patch``) and ``%patchlist`` entries. Unlike azldev, removal also takes out the lines that apply
the removed patches by number (``%patchN``, ``%patch -P N``, ``%patch N``): azldev leaves them, and rpm
then refuses the spec ("No patch number N"), so its output could not build anyway (docs/COMPATIBILITY.md).
``%autosetup``/``%autopatch`` name no patch and stay. Both file-system preconditions are checked before
the spec is written, so a failing overlay leaves the tree as it was.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath
from typing import Literal

from tributary.errors import OverlayError
from tributary.fsutil import atomic_write
from tributary.globbing import compile_glob
from tributary.overlays.base import SpecOverlay, check_overlay_path
from tributary.overlays.files import check_not_spec, destination, holds_copy, matching_files, overlay_files
from tributary.overlays.lines import append_lines
from tributary.overlays.tags import add_tag
from tributary.overlays.tree import ComponentTree, decode, edit_spec, read_spec
from tributary.spec import SpecDocument, patch_number
from tributary.spec.patch_lines import patch_lines, without_patches

PATCHLIST = "%patchlist"


def highest_patch_number(doc: SpecDocument) -> int:
    """The highest N among ``PatchN`` tags of every package, -1 when there are none."""
    highest = -1
    bare = 0
    for tag in doc.all_tags():
        number = patch_number(tag.name)
        if number is not None:
            highest = max(highest, number)
        elif tag.name.lower() == "patch":
            bare += 1
    return max(highest, bare - 1)


def declared_patches(doc: SpecDocument) -> list[tuple[int, str]]:
    """``(line index, file name)`` of every patch the spec declares (``PatchN`` tags, ``%patchlist``)."""
    found = [(t.index, t.value.rsplit("/", 1)[-1]) for t in doc.all_tags() if t.name.lower().startswith("patch")]
    for section in doc.find_sections(PATCHLIST, ""):
        found += [(i, doc.line(i).strip().rsplit("/", 1)[-1]) for i in range(section.body_start, section.end)
                  if doc.line(i).strip() and not doc.line(i).startswith("#")]
    return found


def diff_changes(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """What a unified diff changes, without what merely describes it: per file (its path without the
    first component, ``a/``/``b/``), the hunks' lines with their ``@@`` ranges, headers, commit messages
    and trailing blanks left out. Two patches with equal changes make the same edit."""
    files: list[tuple[str, list[str]]] = []
    lines = text.splitlines()
    in_hunk = False
    for position, line in enumerate(lines):
        if line.startswith("--- ") and position + 1 < len(lines) and lines[position + 1].startswith("+++ "):
            in_hunk = False
            continue
        if line.startswith("+++ ") and position > 0 and lines[position - 1].startswith("--- "):
            path = line[4:].split("\t", 1)[0].strip()
            files.append((path.split("/", 1)[-1], []))
            continue
        if line.startswith("@@") and files:
            in_hunk = True
            files[-1][1].append("@@")
            continue
        if in_hunk and line[:1] in ("+", "-", " ", "\\"):
            files[-1][1].append(line.rstrip())
        elif in_hunk and line == "":
            files[-1][1].append(" ")
        else:
            in_hunk = False
    return tuple(sorted((path, tuple(body)) for path, body in files))


def add_patch_entry(doc: SpecDocument, filename: str, package: str) -> None:
    if doc.find_sections(PATCHLIST, ""):
        append_lines(doc, [filename], PATCHLIST, "")
    else:
        add_tag(doc, f"Patch{highest_patch_number(doc) + 1}", filename, package)


def remove_patch_entries(doc: SpecDocument, pattern: str) -> None:
    """Delete ``PatchN`` tags whose value matches, matching ``%patchlist`` lines and the ``%patch`` lines
    applying the removed ``PatchN``; an error if nothing matches."""
    regex = compile_glob(pattern)
    removed = [t for t in doc.all_tags() if patch_number(t.name) is not None and regex.match(t.value)]
    doomed = [t.index for t in removed]
    for section in doc.find_sections(PATCHLIST, ""):
        for index in range(section.body_start, section.end):
            entry = doc.line(index).strip()
            if entry and regex.match(entry):
                doomed.append(index)
    if not doomed:
        raise OverlayError(f"no PatchN tag or {PATCHLIST} entry matches {pattern!r}")
    numbers = {number for t in removed if (number := patch_number(t.name)) is not None}
    still_declared = {patch_number(t.name) for t in doc.all_tags() if t.index not in doomed}
    numbers -= still_declared  # the same number declared again elsewhere (another %if branch) still applies
    for applying in reversed(patch_lines(doc) if numbers else []):
        line = doc.line(applying.index)
        rewritten = without_patches(line, numbers)
        if rewritten is None:
            doomed.append(applying.index)
        elif rewritten != line:
            doc.replace_line(applying.index, rewritten)
    doc.delete_indices(doomed)


class PatchAdd(SpecOverlay):
    """A patch file copied in from ``source`` and registered in the spec (``%patchlist`` or ``PatchN``)."""

    type: Literal["patch-add"]
    package: str = ""
    file: str | None = None
    source: str

    def check(self) -> None:
        if self.file is not None:
            check_overlay_path(self.file, "file")
            check_not_spec(self.type, self.file)

    @property
    def file_name(self) -> str:
        """Where the patch goes, relative to the sources directory: ``file``, else the source's name."""
        return self.file or PurePosixPath(self.source).name

    def edit(self, doc: SpecDocument) -> None:
        add_patch_entry(doc, self.file_name, self.package)

    def apply(self, tree: ComponentTree) -> None:
        source = Path(self.source)
        if not source.is_file():
            raise OverlayError(f"patch source {self.source!r} does not exist or is not a file")
        target = destination(tree, self.file_name)
        edit_spec(tree, self.edit)
        atomic_write(target, source.read_bytes(), mode=stat.S_IMODE(source.stat().st_mode))

    def aim_met(self, tree: ComponentTree) -> bool:
        return holds_copy(tree, self.file_name, self.source)

    def already_upstream(self, tree: ComponentTree) -> str | None:
        """The same file is there already, or a patch the spec declares makes the same changes."""
        if holds_copy(tree, self.file_name, self.source):
            return f"upstream already ships {self.file_name} with the same content"
        source = Path(self.source)
        if not source.is_file():
            return None
        ours = diff_changes(decode(source.read_bytes()))
        if not ours:
            return None
        doc = read_spec(tree)
        for index, name in declared_patches(doc):
            path = tree.root / name
            if path.is_file() and not path.is_symlink() and diff_changes(decode(path.read_bytes())) == ours:
                return (f"upstream's {name} ({tree.spec_name}:{index + 1}: {doc.line(index).strip()!r}) makes "
                        "the same changes")
        return None

    def loose_file(self) -> str | None:
        return self.file

    def copied_file(self) -> tuple[str, Path] | None:
        return self.file_name, Path(self.source)


class PatchRemove(SpecOverlay):
    """Unregister the patches a glob names (``PatchN`` values, ``%patchlist`` entries) and delete their files."""

    type: Literal["patch-remove"]
    file: str

    def check(self) -> None:
        check_overlay_path(self.file, "file")

    def edit(self, doc: SpecDocument) -> None:
        remove_patch_entries(doc, self.file)

    def apply(self, tree: ComponentTree) -> None:
        files = overlay_files(tree, self.file)
        edit_spec(tree, self.edit)
        for path in files:
            os.unlink(path)

    def aim_met(self, tree: ComponentTree) -> bool:
        regex = compile_glob(self.file)
        doc = read_spec(tree)
        if any(patch_number(tag.name) is not None and regex.match(tag.value) for tag in doc.all_tags()):
            return False
        for section in doc.find_sections(PATCHLIST, ""):
            if any(doc.line(i).strip() and regex.match(doc.line(i).strip())
                   for i in range(section.body_start, section.end)):
                return False
        return not matching_files(tree, self.file)

    def loose_file(self) -> str | None:
        return self.file
