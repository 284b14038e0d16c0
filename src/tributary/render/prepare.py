"""A component's buildable sources in one directory: rendered spec and files plus verified tarballs.

What ``rpmbuild`` needs, and what ``render`` deliberately leaves out (tarballs never enter the rendered
tree). The directory is assembled beside its target and renamed into place, so a failed download or a
hash mismatch leaves nothing behind.
"""

from __future__ import annotations

from pathlib import Path

from tributary.config import Project, ResolvedComponent
from tributary.errors import TribError
from tributary.fsutil import staged_directory
from tributary.render.archive_hashes import check_archive_pairing, record_archive_hashes
from tributary.render.render import apply_archive_edits, render_tree
from tributary.upstream.lookaside import ProgressCallback
from tributary.upstream.source_files import ComponentFiles, fetch_component_files
from tributary.upstream.sources import fetch_sources


def prepare_sources(
    project: Project,
    component: ResolvedComponent,
    dest: Path,
    *,
    overlays: bool = True,
    sources: bool = True,
    progress: ProgressCallback | None = None,
) -> ComponentFiles:
    """Fill ``dest`` (absent or empty) with the component's sources, overlays applied unless told not.

    Without ``sources`` nothing is downloaded: the spec, its files and ``sources`` as dist-git holds them
    (an archive overlay, which edits a tarball, is then not applied).
    """
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise TribError(f"{dest} exists and is not an empty directory", hint="choose another directory, or remove it")
    if overlays:
        check_archive_pairing(project, component)
    with staged_directory(dest) as scratch:
        if overlays:
            render_tree(project, component, scratch)
        else:
            fetch_sources(project, component, scratch)
        if not sources:
            return ComponentFiles([])
        files = fetch_component_files(project, component, scratch, scratch, progress=progress)
        if overlays:
            # Tarball edits need the tarballs; `sources` then pins the edited ones, as source-files declares.
            record_archive_hashes(component, scratch, apply_archive_edits(project, component, scratch))
        return files
