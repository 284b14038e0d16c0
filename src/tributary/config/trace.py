"""Tracing a resolved value back to where it was written: ``file:line``, or the layer that set it.

Resolution does not keep positions (``tomllib`` has none, and most loads never need them): tracing
merges a component's layers again with a recorder on, then finds the line of each recorded key path
(``config.locate``). Used by ``comp query -v`` and wherever an error names an overlay's place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tributary.config import merge
from tributary.config.diagnostics import dotted
from tributary.config.loader import load_overlay_file
from tributary.config.locate import find_line
from tributary.errors import Location

if TYPE_CHECKING:
    from tributary.config.project import Project


def trace(project: Project, name: str) -> dict[str, str]:
    """Each resolved key of component ``name``, and the ``file:line`` (or layer) that set it."""
    layers = project.resolver.layers(name)
    recorded: merge.Trace = {}
    project.resolver.merge_layers(name, layers, trace=recorded)
    result: dict[str, str] = {}
    for keys, (index, local) in sorted(recorded.items(), key=lambda item: dotted(item[0])):
        layer = layers[index]
        place = str(layer.origin.location(*local)) if layer.origin else layer.label
        result[dotted(keys)] = f"{place} ({layer.label})"
    return result


def overlay_location(project: Project, name: str, index: int) -> Location | str:
    """Where overlay ``index`` of a resolved component was written: ``file:line``."""
    layers = project.resolver.layers(name)
    recorded: merge.Trace = {}
    merged = project.resolver.merge_layers(name, layers, trace=recorded)
    if ("overlays", index) in recorded:
        layer_index, local = recorded[("overlays", index)]
        origin = layers[layer_index].origin
        return origin.location(*local) if origin else layers[layer_index].label
    inline = sum(1 for key in recorded if len(key) == 2 and key[0] == "overlays")
    position = index - inline
    for document in project.resolver.overlay_document_paths(name, merged.overlay_files or []):
        count = len(load_overlay_file(document, project.root).overlays)
        if position < count:
            return Location(document, find_line(document, ("overlays", position)))
        position -= count
    return f"overlay #{index + 1}"
