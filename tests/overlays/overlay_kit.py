"""Helpers for overlay tests: build overlays the way TOML spells them, specs from lines, small trees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tributary.config.model import Overlay
from tributary.overlays import ComponentTree, apply_spec_overlay

SPEC_NAME = "pkg.spec"


def overlay(kind: str, **fields: Any) -> Overlay:
    """An overlay validated by the config model, with kebab-case keys as in TOML."""
    return Overlay.model_validate({"type": kind, **{key.replace("_", "-"): value for key, value in fields.items()}})


def spec(*lines: str) -> str:
    """Spec text from lines, each ending in a newline (the reference's '⏎'-separated examples)."""
    return "".join(line + "\n" for line in lines)


def edit(text: str, kind: str, **fields: Any) -> str:
    return apply_spec_overlay(text, overlay(kind, **fields))


def make_tree(root: Path, spec_text: str = "Name: pkg\n", files: dict[str, str | bytes] | None = None) -> ComponentTree:
    """A sources directory holding ``pkg.spec`` and the given files."""
    root.mkdir(parents=True, exist_ok=True)
    (root / SPEC_NAME).write_text(spec_text)
    for relative, content in (files or {}).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return ComponentTree(root=root, spec_name=SPEC_NAME)


def read_spec(tree: ComponentTree) -> str:
    return (tree.root / tree.spec_name).read_text()
