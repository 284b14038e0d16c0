"""Unified diff between two file trees: the upstream sources and the rendered output."""

from __future__ import annotations

import difflib

Tree = dict[str, tuple[bytes, bool]]


def tree_diff(before: Tree, after: Tree, *, before_label: str = "upstream", after_label: str = "rendered") -> str:
    """A unified diff of every file added, removed or changed, in path order ('' when identical)."""
    chunks: list[str] = []
    renamed = _renames(before, after)
    for old_path, new_path in sorted(renamed.items()):
        chunks.append(f"rename {before_label}/{old_path} -> {after_label}/{new_path}\n")
    for path in sorted(set(before) | set(after)):
        if path in renamed or path in renamed.values():
            continue
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        old_name = f"{before_label}/{path}" if old is not None else "/dev/null"
        new_name = f"{after_label}/{path}" if new is not None else "/dev/null"
        old_bytes = old[0] if old else b""
        new_bytes = new[0] if new else b""
        if old is not None and new is not None and old_bytes == new_bytes:
            chunks.append(
                f"mode of {path}: {'executable' if old[1] else 'regular'} -> {'executable' if new[1] else 'regular'}\n"
            )
            continue
        if b"\0" in old_bytes or b"\0" in new_bytes:
            chunks.append(f"Binary files {old_name} and {new_name} differ\n")
            continue
        lines = difflib.unified_diff(
            _lines(old_bytes), _lines(new_bytes), fromfile=old_name, tofile=new_name, lineterm="\n"
        )
        chunks.append(
            "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
        )
    return "".join(chunks)


def _renames(before: Tree, after: Tree) -> dict[str, str]:
    """Files that only moved: removed on one side, added with the same bytes on the other."""
    removed = {before[p]: p for p in sorted(set(before) - set(after))}
    return {removed[after[p]]: p for p in sorted(set(after) - set(before)) if after[p] in removed}


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8", errors="replace").splitlines(keepends=True)
