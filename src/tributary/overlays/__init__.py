"""Overlays: declarative edits of a component's spec and files, with azldev's exact semantics.

``apply_overlay(overlay, tree)`` applies one overlay to a :class:`ComponentTree`;
``apply_spec_overlay(text, overlay)`` is the pure text-to-text form of every spec edit. An overlay
that changes nothing raises :class:`~tributary.errors.OverlayError` naming what did not match; the
render stage adds which component, overlay and TOML line it was.
"""

from tributary.overlays.archives import apply_archive_overlays
from tributary.overlays.registry import (
    OVERLAY_HANDLERS,
    SPEC_EDITS,
    apply_overlay,
    apply_spec_overlay,
)
from tributary.overlays.tree import ComponentTree

__all__ = [
    "OVERLAY_HANDLERS",
    "SPEC_EDITS",
    "ComponentTree",
    "apply_archive_overlays",
    "apply_overlay",
    "apply_spec_overlay",
]
