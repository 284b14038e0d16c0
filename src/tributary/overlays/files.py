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
from typing import ClassVar, Literal

from tributary.errors import OverlayError, PathEscapeError
from tributary.fsutil import atomic_write, check_relative, resolve_inside
from tributary.globbing import glob_files, has_magic, unescape
from tributary.overlays.archives import apply_archive_overlays, archive_files, prune_empty_parents
from tributary.overlays.base import Overlay, check_overlay_path, check_regex
from tributary.overlays.lines import physical_lines
from tributary.overlays.search_replace import replace_all_literal, replaced
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


def matching_files(tree: ComponentTree, pattern: str) -> list[Path]:
    """The files a glob names, as ``overlay_files`` would see them, without the error when none does."""
    return [p for p in glob_files(tree.root, pattern, skip_dirs=SKIPPED_DIRS) if not p.name.endswith(SPEC_SUFFIX)]


def holds_copy(tree: ComponentTree, relative: str, source: str) -> bool:
    """Whether ``relative`` is already a regular file with the content of ``source``."""
    path = tree.root / relative
    return path.is_file() and not path.is_symlink() and path.read_bytes() == Path(source).read_bytes()


def add_file(tree: ComponentTree, relative: str, source: str, *, what: str = "source") -> None:
    """Copy ``source`` to the new file ``relative`` (its mode kept); an error if it exists or escapes."""
    origin = Path(source)
    if not origin.is_file():
        raise OverlayError(f"{what} {source!r} does not exist or is not a file")
    atomic_write(destination(tree, relative), origin.read_bytes(), mode=stat.S_IMODE(origin.stat().st_mode))


def check_not_spec(type_name: str, file: str) -> None:
    if file.endswith(SPEC_SUFFIX):
        raise ValueError(f"{type_name} must not write a .spec file ({file!r})")


class FilePrependLines(Overlay):
    """Lines at the top of every file the glob names."""

    type: Literal["file-prepend-lines"]
    lines: list[str]
    file: str
    succeeds_anyway: ClassVar[bool] = True

    def check(self) -> None:
        check_overlay_path(self.file, "file")

    def apply(self, tree: ComponentTree) -> None:
        head = encode("\n".join(self.lines) + "\n")
        for path in overlay_files(tree, self.file):
            rewrite(path, head + path.read_bytes())

    def aim_met(self, tree: ComponentTree) -> bool:
        found = matching_files(tree, self.file)
        block = physical_lines(self.lines)
        return bool(found) and all(decode(p.read_bytes()).splitlines()[:len(block)] == block for p in found)

    def loose_file(self) -> str | None:
        return self.file


class _LooseOrArchived(Overlay):
    """The types that edit the loose files a glob names, or with ``archive`` the files inside that
    tarball (see ``tributary.overlays.archives``)."""

    file: str
    archive: str | None = None

    def check(self) -> None:
        check_overlay_path(self.file, "file")
        if self.archive is not None:
            check_overlay_path(self.archive, "archive")

    def apply(self, tree: ComponentTree) -> None:
        if self.archive is not None:
            apply_archive_overlays(tree, self.archive, [self])
        else:
            self.apply_loose(tree)

    def apply_loose(self, tree: ComponentTree) -> None:
        raise OverlayError(f"{self.type} does not edit loose files")

    def archive_name(self) -> str | None:
        return self.archive

    def loose_file(self) -> str | None:
        return self.file if self.archive is None else None


class FileSearchReplace(_LooseOrArchived):
    """A regex applied to each whole file the glob names (so ``(?m)`` and ``(?s)`` work), the
    replacement taken literally; with ``archive``, to files inside that tarball."""

    type: Literal["file-search-replace"]
    regex: str
    replacement: str = ""

    def check(self) -> None:
        check_regex(self.regex)
        super().check()

    def apply_loose(self, tree: ComponentTree) -> None:
        if not self.replace_in(overlay_files(tree, self.file)):
            raise OverlayError(f"regex {self.regex!r} changed no file matching {self.file!r}")

    def apply_in_archive(self, work: Path, archive: str) -> None:
        if not self.replace_in(archive_files(work, self.file, archive)):
            raise OverlayError(f"regex {self.regex!r} changed no file in archive {archive!r} matching {self.file!r}")

    def replace_in(self, paths: list[Path]) -> int:
        """Apply the regex to each file; how many changed (files it leaves alone are skipped silently)."""
        regex = re.compile(self.regex)
        changed = 0
        for path in paths:
            text = decode(path.read_bytes())
            new = replace_all_literal(regex, text, self.replacement)
            if new != text:
                rewrite(path, encode(new))
                changed += 1
        return changed

    def aim_met(self, tree: ComponentTree) -> bool:
        found = matching_files(tree, self.file)
        return bool(found) and "replacement" in self.model_fields_set and any(
            replaced(self.regex, self.replacement, decode(p.read_bytes())) for p in found)


class FileAdd(Overlay):
    """A new file, copied from ``source`` (a path in the project) to ``file``."""

    type: Literal["file-add"]
    file: str
    source: str

    def check(self) -> None:
        check_overlay_path(self.file, "file")
        check_not_spec(self.type, self.file)

    def apply(self, tree: ComponentTree) -> None:
        add_file(tree, self.file, self.source)

    def aim_met(self, tree: ComponentTree) -> bool:
        return holds_copy(tree, self.file, self.source)

    def loose_file(self) -> str | None:
        return self.file

    def copied_file(self) -> tuple[str, Path] | None:
        return self.file, Path(self.source)


class FileRemove(_LooseOrArchived):
    """Delete every file the glob names; with ``archive``, inside that tarball (emptied directories too)."""

    type: Literal["file-remove"]

    def apply_loose(self, tree: ComponentTree) -> None:
        for path in overlay_files(tree, self.file):
            os.unlink(path)

    def apply_in_archive(self, work: Path, archive: str) -> None:
        found = archive_files(work, self.file, archive)
        for path in found:
            path.unlink()
        for path in found:
            prune_empty_parents(path.parent, work)

    def aim_met(self, tree: ComponentTree) -> bool:
        return not matching_files(tree, self.file)


class FileRename(Overlay):
    """Give the one file the glob names a new plain name in the same directory."""

    type: Literal["file-rename"]
    replacement: str
    file: str

    def check(self) -> None:
        check_overlay_path(self.file, "file")
        if not _plain_name(self.replacement):
            raise ValueError(f"file-rename replacement {self.replacement!r} must be a plain file name")

    def apply(self, tree: ComponentTree) -> None:
        name = self.replacement
        if not _plain_name(name):
            raise PathEscapeError(f"file-rename replacement {name!r} must be a plain file name")
        if name.endswith(SPEC_SUFFIX):
            raise OverlayError(f"file-rename may not create a .spec file ({name!r})")
        found = overlay_files(tree, self.file)
        if len(found) > 1:
            shown = ", ".join(str(p.relative_to(tree.root)) for p in found[:5])
            raise OverlayError(f"{self.file!r} matches {len(found)} files ({shown}); file-rename needs exactly one")
        try:
            os.replace(found[0], found[0].with_name(name))
        except OSError as exc:
            raise OverlayError(f"cannot rename {self.file!r} to {name!r}: {exc.strerror}") from exc

    def aim_met(self, tree: ComponentTree) -> bool:
        if not _plain_name(self.replacement):
            return False  # the overlay itself rejects it
        renamed = tree.root / self.replacement
        return not matching_files(tree, self.file) and renamed.is_file() and not renamed.is_symlink()

    def loose_file(self) -> str | None:
        return self.file


def _plain_name(name: str) -> bool:
    return "/" not in name and name not in ("", ".", "..")
