"""patch-add and patch-remove: a patch registered in the spec and its file in the sources directory.

The spec part follows azldev: a spec with a ``%patchlist`` gets the file name appended there;
otherwise a ``Patch<N+1>`` tag is added (add-tag placement), N being the highest ``PatchN`` across all
packages, with bare ``Patch:`` tags counting as 0..k-1 (``Patch%{n}`` tags are invisible and may
collide). Removal matches a doublestar glob against ``PatchN`` values (URLs included, hence
``**/x.patch``) and ``%patchlist`` entries. ``%patchN``/``%autopatch`` lines in ``%prep`` are not
touched. Both file-system preconditions are checked before the spec is written, so a failing overlay
leaves the tree as it was.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from tributary.config.model import Overlay
from tributary.errors import OverlayError
from tributary.fsutil import atomic_write
from tributary.globbing import compile_glob
from tributary.overlays.files import destination, overlay_files
from tributary.overlays.lines import append_lines
from tributary.overlays.tags import add_tag
from tributary.overlays.targets import required
from tributary.overlays.tree import ComponentTree, edit_spec
from tributary.spec import SpecDocument, patch_number

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


def add_patch_entry(doc: SpecDocument, filename: str, package: str) -> None:
    if doc.find_sections(PATCHLIST, ""):
        append_lines(doc, [filename], PATCHLIST, "")
    else:
        add_tag(doc, f"Patch{highest_patch_number(doc) + 1}", filename, package)


def remove_patch_entries(doc: SpecDocument, pattern: str) -> None:
    """Delete ``PatchN`` tags whose value matches and matching ``%patchlist`` lines; an error if none."""
    regex = compile_glob(pattern)
    doomed = [t.index for t in doc.all_tags() if patch_number(t.name) is not None and regex.match(t.value)]
    for section in doc.find_sections(PATCHLIST, ""):
        for index in range(section.body_start, section.end):
            entry = doc.line(index).strip()
            if entry and regex.match(entry):
                doomed.append(index)
    if not doomed:
        raise OverlayError(f"no PatchN tag or {PATCHLIST} entry matches {pattern!r}")
    doc.delete_indices(doomed)


def patch_file_name(overlay: Overlay) -> str:
    """Where the patch goes, relative to the sources directory: ``file``, else the source's name."""
    return overlay.file or PurePosixPath(required(overlay, "source")).name


def spec_patch_add(doc: SpecDocument, overlay: Overlay) -> None:
    add_patch_entry(doc, patch_file_name(overlay), overlay.package or "")


def spec_patch_remove(doc: SpecDocument, overlay: Overlay) -> None:
    remove_patch_entries(doc, required(overlay, "file"))


def apply_patch_add(overlay: Overlay, tree: ComponentTree) -> None:
    source = Path(required(overlay, "source"))
    if not source.is_file():
        raise OverlayError(f"patch source {str(source)!r} does not exist or is not a file")
    target = destination(tree, patch_file_name(overlay))
    edit_spec(tree, lambda doc: spec_patch_add(doc, overlay))
    atomic_write(target, source.read_bytes(), mode=stat.S_IMODE(source.stat().st_mode))


def apply_patch_remove(overlay: Overlay, tree: ComponentTree) -> None:
    pattern = required(overlay, "file")
    files = overlay_files(tree, pattern)
    edit_spec(tree, lambda doc: spec_patch_remove(doc, overlay))
    for path in files:
        os.unlink(path)
