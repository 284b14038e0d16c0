"""The diff each overlay causes, found by replaying render's overlay sequence one step at a time.

``trib comp diff`` shows the whole change from upstream to the rendered output; a reviewer also wants
to see what each overlay, with its description and category, did on its own. The component's upstream
sources are fetched into a scratch directory and render's own ``apply_overlays`` runs there with a
step that snapshots the files after each overlay, so the steps are exactly render's: tributary's own
steps (build options, a disabled ``%check``, the banner) appear between the configured overlays where
render applies them. Overlays that edit inside a tarball are listed without a diff: tarballs are never
part of the rendered tree.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tributary.config import Project, ResolvedComponent
from tributary.config.model import Overlay
from tributary.errors import OverlayError, TribError
from tributary.overlays import ComponentTree, apply_overlay
from tributary.render.diff import Tree, tree_diff
from tributary.render.render import apply_overlays, snapshot
from tributary.site.model import DiffStep
from tributary.upstream.sources import fetch_sources

# Line kinds of a unified diff, as the pages colour them (CSS classes ``d-<kind>``); the ``---``/``+++``
# pair of a file header is told apart from a removed line starting with ``--`` by its neighbour.
_KINDS = (("@@ ", "hunk"), ("+", "add"), ("-", "del"), ("\\", "note"), ("rename ", "file"), ("mode of ", "file"),
          ("Binary files ", "file"))


def overlay_steps(project: Project, component: ResolvedComponent) -> tuple[list[DiffStep], str]:
    """Every step render applies to the component's upstream sources, each with its own diff, and the
    whole diff from upstream to the rendered directory on disk (empty when it is not rendered).

    Raises what fetching the sources or applying an overlay raises (a TribError naming the overlay).
    """
    steps: list[DiffStep] = []
    with tempfile.TemporaryDirectory(prefix="trib-site-") as scratch:
        tree = Path(scratch) / "sources"
        tree.mkdir()
        fetch_sources(project, component, tree)
        upstream = snapshot(tree)
        before: Tree = upstream

        def step(overlay: Overlay, index: int | None, files: ComponentTree) -> None:
            nonlocal before
            label = overlay.description or overlay.type
            try:
                apply_overlay(overlay, files)
            except TribError as error:
                place = f"overlay #{index + 1}" if index is not None else "tributary's own step"
                raise OverlayError(f"{place} ({label}): {error.message}") from error
            after = snapshot(tree)
            steps.append(DiffStep(label, tree_diff(before, after, before_label="a", after_label="b"),
                                  None if index is None else index + 1))
            before = after

        apply_overlays(project, component, tree, step=step)
    rendered = component.rendered_dir
    whole = tree_diff(upstream, snapshot(rendered)) if rendered.is_dir() else ""
    for index, overlay in enumerate(component.config.overlays):
        archive = overlay.archive_name()
        if archive:
            note = DiffStep(overlay.description or overlay.type, "", index + 1,
                            note=f"edits inside {archive}: tarballs are not part of the rendered tree, so there is "
                                 "no diff to show")
            later = next((i for i, s in enumerate(steps) if s.number is not None and s.number > index + 1), None)
            steps.insert(len(steps) if later is None else later, note)
    return steps, whole


def clip(text: str, limit: int) -> tuple[str, int]:
    """``text`` cut after the last whole line within ``limit`` characters, and how many lines were cut:
    a page shows at most that much of one diff (a patch of megabytes would make it unreadable)."""
    if len(text) <= limit:
        return text, 0
    end = text.rfind("\n", 0, limit) + 1
    return text[:end], text.count("\n", end) + (0 if text.endswith("\n") else 1)


def diff_lines(text: str) -> list[tuple[str, str]]:
    """``(kind, line)`` for each line of a unified diff: file, hunk, add, del, note or ctx."""
    lines = text.splitlines()
    kinds: list[tuple[str, str]] = []
    for number, line in enumerate(lines):
        header = (line.startswith("--- ") and number + 1 < len(lines) and lines[number + 1].startswith("+++ ")) or (
            line.startswith("+++ ") and number > 0 and kinds[-1][0] == "file" and lines[number - 1].startswith("--- "))
        kind = "file" if header else next((k for prefix, k in _KINDS if line.startswith(prefix)), "ctx")
        kinds.append((kind, line))
    return kinds
