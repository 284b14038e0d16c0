"""Every overlay type, found in the family modules, and the entry points that apply any of them.

Importing this module imports every module of the ``tributary.overlays`` package, so each overlay
class is defined (and so registered, see ``base``) before the union is built: adding an overlay type
is adding its class to a family module, or a new module to the package, and nothing else. The
committed JSON Schema (``schemas/``, from ``trib config schema``) lists the same types; a test checks
that each has exactly one class.
"""

from __future__ import annotations

import importlib
import pkgutil
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import tributary.overlays as _package
from tributary.overlays.base import Overlay, SpecOverlay, any_overlay, registered
from tributary.overlays.tree import ComponentTree
from tributary.spec import parse

for _module in pkgutil.iter_modules(_package.__path__):
    importlib.import_module(f"{_package.__name__}.{_module.name}")

OVERLAY_MODELS: dict[str, type[Overlay]] = registered()
"""Overlay type name -> the one class that defines it."""

OverlayType = StrEnum("OverlayType", {name.upper().replace("-", "_"): name for name in OVERLAY_MODELS})  # type: ignore[misc]
"""The overlay type names (``spec-add-tag``...), in the order the family modules define them."""

if TYPE_CHECKING:
    AnyOverlay = Overlay
else:
    AnyOverlay: Any = any_overlay()
    """What a configuration field holding an overlay is annotated with: the discriminated union of
    every type on ``type``; for the type checker, the base class every type shares."""


def apply_overlay(overlay: Overlay, tree: ComponentTree) -> None:
    """Apply one overlay to the component's sources directory; an OverlayError says what failed."""
    overlay.apply(tree)


def apply_spec_overlay(text: str, overlay: Overlay) -> str:
    """The spec text after the overlay's spec edit (for patch-add and patch-remove: the spec part only)."""
    if not isinstance(overlay, SpecOverlay):
        raise TypeError(f"{overlay.type} is not a spec overlay")
    doc = parse(text)
    overlay.edit(doc)
    return str(doc)
