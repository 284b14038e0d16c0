"""Paths inside an image root, resolved the way the image itself will see them.

A root is a directory that will be ``/`` of an image: its absolute symbolic links (``/bin`` ->
``usr/bin``, ``/etc/os-release`` -> ``../usr/lib/os-release``) point into the root, never at the host.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from tributary.image.errors import ImageError


def inside(root: Path, relative: str) -> Path:
    """``root/relative`` after checking that no symbolic link on the way leads out of the root."""
    path = root
    for part in PurePosixPath(relative).parts:
        if part in ("", "/", "."):
            continue
        if part == "..":
            raise ImageError(f"path {relative!r} leaves the image root")
        path = path / part
        if path.is_symlink():
            resolved = resolve_in_root(root, "/" + str(path.relative_to(root)))
            if resolved is None:
                raise ImageError(f"path {relative!r} in the image root goes through a broken link")
            path = resolved
    return path

def resolve_in_root(root: Path, path: str, depth: int = 0) -> Path | None:
    """Resolve ``path`` as seen from inside ``root`` (absolute links restart at the root); None if missing."""
    if depth > 40:
        return None
    current = root
    parts = [part for part in PurePosixPath(path).parts if part not in ("/", "", ".")]
    while parts:
        part = parts.pop(0)
        if part == "..":
            current = current.parent if current != root else root
            continue
        candidate = current / part
        if candidate.is_symlink():
            target = os.readlink(candidate)
            base = "/" if target.startswith("/") else "/" + str(current.relative_to(root))
            rest = "/".join(parts)
            joined = str(PurePosixPath(base) / target / rest) if rest else str(PurePosixPath(base) / target)
            return resolve_in_root(root, _normalize(joined), depth + 1)
        if not candidate.exists():
            return None
        current = candidate
    return current

def os_release_name(root: Path) -> str | None:
    """``NAME`` from the root's os-release (``/etc/os-release``, else ``/usr/lib/os-release``)."""
    for candidate in ("/etc/os-release", "/usr/lib/os-release"):
        path = resolve_in_root(root, candidate)
        if path is None or not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "NAME":
                return value.strip().strip("\"'") or None
    return None

def _normalize(path: str) -> str:
    parts: list[str] = []
    for part in PurePosixPath(path).parts:
        if part in ("/", "", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
        else:
            parts.append(part)
    return "/" + "/".join(parts)

def exists_in_root(root: Path, path: str) -> bool:
    """Whether ``path`` exists as seen from inside ``root`` (through its links)."""
    return resolve_in_root(root, path) is not None

def through_link(root: Path, path: str) -> bool:
    """Whether ``path``'s directory is a symbolic link (``/bin`` -> ``usr/bin``): the file is seen elsewhere."""
    parent = root / PurePosixPath(path).parent.relative_to("/")
    return any(p.is_symlink() for p in (parent, *parent.parents) if root in p.parents)
