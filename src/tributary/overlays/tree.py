"""The directory overlays work in, and the one way they read and write its files.

Everything an overlay touches lies inside ``ComponentTree.root``: paths are checked with
:func:`tributary.fsutil.resolve_inside`, and text is decoded with ``surrogateescape`` so that a spec or
file in a legacy encoding passes through an edit byte for byte.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tributary.errors import OverlayError
from tributary.fsutil import atomic_write, check_relative, resolve_inside
from tributary.spec import SpecDocument, parse

ENCODING = "utf-8"
ERRORS = "surrogateescape"


@dataclass(frozen=True)
class ComponentTree:
    """A component's sources directory: the spec (``spec_name``, a file in ``root``) and its sidecars."""

    root: Path
    spec_name: str

    @property
    def spec_path(self) -> Path:
        check_relative(self.spec_name, what="spec")
        path = resolve_inside(self.root, self.spec_name, what="spec")
        if not path.is_file():
            raise OverlayError(f"spec {self.spec_name!r} not found in {self.root}")
        return path


def decode(data: bytes) -> str:
    return data.decode(ENCODING, ERRORS)


def encode(text: str) -> bytes:
    return text.encode(ENCODING, ERRORS)


def rewrite(path: Path, data: bytes) -> None:
    """Replace an existing file atomically, keeping its permission bits."""
    atomic_write(path, data, mode=stat.S_IMODE(path.stat().st_mode))


def read_spec(tree: ComponentTree) -> SpecDocument:
    """The component's spec, parsed."""
    return parse(decode(tree.spec_path.read_bytes()))


def edit_spec(tree: ComponentTree, edit: Callable[[SpecDocument], None]) -> None:
    """Parse the component's spec, apply ``edit`` and write the result back atomically."""
    path = tree.spec_path
    doc = parse(decode(path.read_bytes()))
    edit(doc)
    rewrite(path, encode(str(doc)))
