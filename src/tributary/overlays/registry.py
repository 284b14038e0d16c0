"""One table from overlay type to the code that applies it, plus the pure spec entry point.

Spec overlays are pure edits of a :class:`~tributary.spec.SpecDocument` (``SPEC_EDITS``), exposed as
``apply_spec_overlay(text, overlay) -> text`` and wrapped into file handlers that read the spec,
edit it and write it back atomically. patch-add and patch-remove edit the spec and then the files.
file-remove and file-search-replace with an ``archive`` go to the archive module.
"""

from __future__ import annotations

from collections.abc import Callable

from tributary.config.model import Overlay, OverlayType
from tributary.overlays import (
    archives,
    files,
    lines,
    patches,
    search_replace,
    sections,
    tags,
)
from tributary.overlays.tree import ComponentTree, edit_spec
from tributary.spec import SpecDocument, parse

SpecEdit = Callable[[SpecDocument, Overlay], None]
Handler = Callable[[Overlay, ComponentTree], None]

SPEC_EDITS: dict[str, SpecEdit] = {
    OverlayType.SPEC_ADD_TAG.value: tags.spec_add_tag,
    OverlayType.SPEC_INSERT_TAG.value: tags.spec_insert_tag,
    OverlayType.SPEC_SET_TAG.value: tags.spec_set_tag,
    OverlayType.SPEC_UPDATE_TAG.value: tags.spec_update_tag,
    OverlayType.SPEC_REMOVE_TAG.value: tags.spec_remove_tag,
    OverlayType.SPEC_PREPEND_LINES.value: lines.spec_prepend_lines,
    OverlayType.SPEC_APPEND_LINES.value: lines.spec_append_lines,
    OverlayType.SPEC_SEARCH_REPLACE.value: search_replace.spec_search_replace,
    OverlayType.SPEC_REMOVE_SECTION.value: sections.spec_remove_section,
    OverlayType.SPEC_REMOVE_SUBPACKAGE.value: sections.spec_remove_subpackage,
    OverlayType.PATCH_ADD.value: patches.spec_patch_add,
    OverlayType.PATCH_REMOVE.value: patches.spec_patch_remove,
}


def apply_spec_overlay(text: str, overlay: Overlay) -> str:
    """The spec text after the overlay's spec edit (for patch-add/patch-remove: the spec part only)."""
    doc = parse(text)
    SPEC_EDITS[overlay.type](doc, overlay)
    return str(doc)


def _spec_handler(overlay: Overlay, tree: ComponentTree) -> None:
    edit = SPEC_EDITS[overlay.type]
    edit_spec(tree, lambda doc: edit(doc, overlay))


def _archive_aware(loose: Handler) -> Handler:
    """Route an overlay with ``archive`` into the tarball; without it, to the loose-file handler."""

    def handler(overlay: Overlay, tree: ComponentTree) -> None:
        if overlay.archive is not None:
            archives.apply_archive_overlays(tree, overlay.archive, [overlay])
        else:
            loose(overlay, tree)

    return handler


OVERLAY_HANDLERS: dict[str, Handler] = {
    **{kind: _spec_handler for kind in SPEC_EDITS if kind.startswith("spec-")},
    OverlayType.PATCH_ADD.value: patches.apply_patch_add,
    OverlayType.PATCH_REMOVE.value: patches.apply_patch_remove,
    OverlayType.FILE_PREPEND_LINES.value: files.apply_file_prepend_lines,
    OverlayType.FILE_SEARCH_REPLACE.value: _archive_aware(files.apply_file_search_replace),
    OverlayType.FILE_ADD.value: files.apply_file_add,
    OverlayType.FILE_REMOVE.value: _archive_aware(files.apply_file_remove),
    OverlayType.FILE_RENAME.value: files.apply_file_rename,
}


def apply_overlay(overlay: Overlay, tree: ComponentTree) -> None:
    """Apply one overlay to the component's sources directory; an OverlayError says what failed."""
    OVERLAY_HANDLERS[overlay.type](overlay, tree)
