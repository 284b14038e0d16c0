"""file-prepend-lines, file-search-replace, file-add, file-remove and file-rename: the loose files
beside the spec.

``file`` is a doublestar glob relative to the sources directory, except for file-add (and patch-add)
where it is a literal destination. Globs match regular files only: symlinks are neither matched nor
followed, ``.spec`` files and anything under ``.git/`` are never touched, and so nothing outside the
directory can be reached. Edits keep each file's permission bits. (file-remove and file-search-replace
with ``archive`` work inside a tarball instead: see :mod:`tributary.overlays.archives`.)
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from tributary.config.model import Overlay
from tributary.errors import OverlayError, PathEscapeError
from tributary.fsutil import atomic_write, check_relative, resolve_inside
from tributary.globbing import glob_files, has_magic, unescape
from tributary.overlays.search_replace import replace_all_literal
from tributary.overlays.targets import required
from tributary.overlays.tree import ComponentTree, decode, encode, rewrite

SKIPPED_DIRS = frozenset({".git"})
SPEC_SUFFIX = ".spec"


def overlay_files(tree: ComponentTree, pattern: str) -> list[Path]:
    """The sources-directory files a glob names; an error when it names none."""
    check_relative(pattern, what="file")
    found = [p for p in glob_files(tree.root, pattern, skip_dirs=SKIPPED_DIRS) if not p.name.endswith(SPEC_SUFFIX)]
    if not found:
        _explain_literal_miss(tree, pattern)
        raise OverlayError(f"no file matches {pattern!r}")
    for path in found:
        resolve_inside(tree.root, path.relative_to(tree.root), what="file")
    return found


def _explain_literal_miss(tree: ComponentTree, pattern: str) -> None:
    """Give a precise error when a plain file name points at something overlays refuse to touch."""
    if has_magic(pattern):
        return
    literal = unescape(pattern)
    path = tree.root / literal
    if path.is_symlink():
        resolve_inside(tree.root, literal, what="file")  # raises when the link leads outside
        raise OverlayError(f"{pattern!r} is a symbolic link; overlays do not follow links")
    if literal.endswith(SPEC_SUFFIX):
        raise OverlayError(f"{pattern!r} is a .spec file; file overlays never touch specs")


def destination(tree: ComponentTree, relative: str) -> Path:
    """A new file's path inside the sources directory; an error if it exists, escapes or is a spec."""
    check_relative(relative, what="file")
    if relative.endswith(SPEC_SUFFIX):
        raise OverlayError(f"{relative!r} is a .spec file; overlays may not create one")
    target = resolve_inside(tree.root, relative, what="file")
    if os.path.lexists(tree.root / relative) or target.exists():
        raise OverlayError(f"{relative!r} already exists (remove it first with file-remove)")
    return target


def apply_file_prepend_lines(overlay: Overlay, tree: ComponentTree) -> None:
    head = encode("\n".join(overlay.lines or []) + "\n")
    for path in overlay_files(tree, required(overlay, "file")):
        rewrite(path, head + path.read_bytes())


def apply_file_search_replace(overlay: Overlay, tree: ComponentTree) -> None:
    pattern = required(overlay, "file")
    if not search_replace_files(overlay_files(tree, pattern), overlay):
        raise OverlayError(f"regex {overlay.regex!r} changed no file matching {pattern!r}")


def search_replace_files(paths: list[Path], overlay: Overlay) -> int:
    """Apply the overlay's regex to each whole file (so ``(?m)`` and ``(?s)`` work); return how many
    files changed. Files the regex leaves alone are skipped silently."""
    regex = re.compile(required(overlay, "regex"))
    replacement = overlay.replacement or ""
    changed = 0
    for path in paths:
        text = decode(path.read_bytes())
        new = replace_all_literal(regex, text, replacement)
        if new != text:
            rewrite(path, encode(new))
            changed += 1
    return changed


def apply_file_add(overlay: Overlay, tree: ComponentTree) -> None:
    source = Path(required(overlay, "source"))
    if not source.is_file():
        raise OverlayError(f"source {str(source)!r} does not exist or is not a file")
    target = destination(tree, required(overlay, "file"))
    atomic_write(target, source.read_bytes(), mode=stat.S_IMODE(source.stat().st_mode))


def apply_file_remove(overlay: Overlay, tree: ComponentTree) -> None:
    for path in overlay_files(tree, required(overlay, "file")):
        os.unlink(path)


def apply_file_rename(overlay: Overlay, tree: ComponentTree) -> None:
    pattern = required(overlay, "file")
    name = required(overlay, "replacement")
    if "/" in name or name in ("", ".", ".."):
        raise PathEscapeError(f"file-rename replacement {name!r} must be a plain file name")
    if name.endswith(SPEC_SUFFIX):
        raise OverlayError(f"file-rename may not create a .spec file ({name!r})")
    found = overlay_files(tree, pattern)
    if len(found) > 1:
        shown = ", ".join(str(p.relative_to(tree.root)) for p in found[:5])
        raise OverlayError(f"{pattern!r} matches {len(found)} files ({shown}); file-rename needs exactly one")
    try:
        os.replace(found[0], found[0].with_name(name))
    except OSError as exc:
        raise OverlayError(f"cannot rename {pattern!r} to {name!r}: {exc.strerror}") from exc
