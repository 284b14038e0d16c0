"""Overlays: declarative edits of a component's spec and files, with azldev's exact semantics.

Each overlay type is one model class in its family's module (``tags``, ``lines``, ``search_replace``,
``sections``, ``patches``, ``files``; see ``base``): its fields and validation, how it applies, and
what ``upstream check`` asks of it. ``registry`` gathers them. ``apply_overlay(overlay, tree)`` applies
one overlay to a :class:`ComponentTree`; ``apply_spec_overlay(text, overlay)`` is the pure
text-to-text form of every spec edit. An overlay that changes nothing raises
:class:`~tributary.errors.OverlayError` naming what did not match; the render stage adds which
component, overlay and TOML line it was.

The package depends on ``spec`` and the shared helpers only, not on ``config``: the configuration
models validate overlays with the union ``registry`` builds.
"""

from tributary.overlays.archives import apply_archive_overlays
from tributary.overlays.base import Overlay, SpecOverlay
from tributary.overlays.registry import (
    OVERLAY_MODELS,
    AnyOverlay,
    OverlayType,
    apply_overlay,
    apply_spec_overlay,
)
from tributary.overlays.tree import ComponentTree

__all__ = [
    "OVERLAY_MODELS",
    "AnyOverlay",
    "ComponentTree",
    "Overlay",
    "OverlayType",
    "SpecOverlay",
    "apply_archive_overlays",
    "apply_overlay",
    "apply_spec_overlay",
]
