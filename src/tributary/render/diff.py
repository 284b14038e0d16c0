"""Differences between two file trees (the upstream sources and the rendered output): a unified diff for
people, and per-file records for scripts (azldev's ``diff-sources`` JSON: path, status, changed lines)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Tree = dict[str, tuple[bytes, bool]]

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True)
class FileDiff:
    """One file that differs: ``status`` is added, removed or modified; ``text`` its unified diff, or a
    one-line ``message`` when there are no lines to show (binary, mode only)."""

    path: str
    status: str
    text: str = ""
    message: str = ""
    binary: bool = False

    def to_json(self) -> dict[str, Any]:
        """azldev's record of a changed file: ``changes`` are the added and removed lines, each with its
        line number in the new file (added) or the old one (removed); context lines are left out."""
        data: dict[str, Any] = {"path": self.path, "status": self.status}
        if self.binary:
            data["isBinary"] = True
        if self.message:
            data["message"] = self.message
        changes = changed_lines(self.text)
        if changes:
            data["changes"] = changes
        return data


def tree_diff(before: Tree, after: Tree, *, before_label: str = "upstream", after_label: str = "rendered") -> str:
    """A unified diff of every file added, removed or changed, in path order ('' when identical)."""
    renamed = _renames(before, after)
    chunks = [f"rename {before_label}/{old} -> {after_label}/{new}\n" for old, new in sorted(renamed.items())]
    moved = set(renamed) | set(renamed.values())
    for diff in file_diffs(before, after, before_label=before_label, after_label=after_label):
        if diff.path not in moved:
            chunks.append(diff.text or f"{diff.message}\n")
    return "".join(chunks)


def file_diffs(before: Tree, after: Tree, *, before_label: str = "upstream",
               after_label: str = "rendered") -> Iterator[FileDiff]:
    """Each file added, removed or changed, in path order (a moved file is one removed and one added)."""
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        status = "added" if old is None else "removed" if new is None else "modified"
        old_name = f"{before_label}/{path}" if old is not None else "/dev/null"
        new_name = f"{after_label}/{path}" if new is not None else "/dev/null"
        old_bytes = old[0] if old else b""
        new_bytes = new[0] if new else b""
        if old is not None and new is not None and old_bytes == new_bytes:
            message = f"mode of {path}: {'executable' if old[1] else 'regular'} -> " \
                      f"{'executable' if new[1] else 'regular'}"
            yield FileDiff(path, status, message=message)
        elif b"\0" in old_bytes or b"\0" in new_bytes:
            yield FileDiff(path, status, message=f"Binary files {old_name} and {new_name} differ", binary=True)
        else:
            lines = difflib.unified_diff(
                _lines(old_bytes), _lines(new_bytes), fromfile=old_name, tofile=new_name, lineterm="\n"
            )
            text = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                           for line in lines)
            yield FileDiff(path, status, text)


def changed_lines(text: str) -> list[dict[str, Any]]:
    """The ``+`` and ``-`` lines of a unified diff as ``{line, type: add|remove, content}``."""
    changes: list[dict[str, Any]] = []
    old = new = 0
    in_hunk = False
    for line in text.splitlines():
        hunk = _HUNK.match(line)
        if hunk:
            in_hunk, old, new = True, int(hunk[1]), int(hunk[2])
        elif not in_hunk or line.startswith("\\"):
            continue
        elif line.startswith("+"):
            changes.append({"line": new, "type": "add", "content": line[1:]})
            new += 1
        elif line.startswith("-"):
            changes.append({"line": old, "type": "remove", "content": line[1:]})
            old += 1
        else:
            old, new = old + 1, new + 1
    return changes


def _renames(before: Tree, after: Tree) -> dict[str, str]:
    """Files that only moved: removed on one side, added with the same bytes on the other."""
    removed = {before[p]: p for p in sorted(set(before) - set(after))}
    return {removed[after[p]]: p for p in sorted(set(after) - set(before)) if after[p] in removed}


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8", errors="replace").splitlines(keepends=True)
