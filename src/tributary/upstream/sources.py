"""Put a component's unmodified sources (spec, patches, small files) into a directory.

A local component's sources are the whole directory holding its spec, as in azldev. An upstream
(dist-git) component's are the files of its repository at the chosen commit (``upstream.checkout``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tributary.config import Project, ResolvedComponent
from tributary.errors import Location, PathEscapeError, TribError
from tributary.fsutil import is_inside
from tributary.upstream.checkout import Resolution, checkout_upstream
from tributary.upstream.fingerprint import resolution_hash
from tributary.upstream.lock import Lock, lock_path, read_lock

SKIPPED_DIRS = frozenset({".git"})


def fetch_sources(project: Project, component: ResolvedComponent, dest: Path) -> Resolution | None:
    """Fill the empty directory ``dest`` with the component's sources, spec named ``<name>.spec``.

    Returns where an upstream component came from (mirror and commit), None for a local spec.
    """
    spec = component.local_spec
    if spec is not None:
        if not spec.is_file():
            raise TribError(f"component {component.name!r}: local spec {spec} does not exist",
                            where=component.origin.location("spec") if component.origin else None)
        copy_tree(spec.parent, dest)
        if spec.name != f"{component.name}.spec":
            os.replace(dest / spec.name, dest / f"{component.name}.spec")
        return None
    if component.spec_type == "upstream":
        # Dist-git files at the chosen commit; lookaside tarballs stay out (render never ships them).
        lock = current_lock(project, component)
        return checkout_upstream(project, component, dest, locked=lock.upstream_commit if lock else None)
    raise TribError(f"component {component.name!r} has no spec source (spec.type is empty)")


def current_lock(project: Project, component: ResolvedComponent) -> Lock | None:
    """The component's lock, if it has one that still fits its configuration.

    A lock whose resolution inputs (snapshot, pin, branch...) no longer match the configuration would
    silently render the old commit, so it is an error that says how to refresh it.
    """
    path = lock_path(project.lock_dir, component.name)
    lock = read_lock(path)
    if lock is not None and component.upstream is not None and lock.resolution_input_hash != resolution_hash(component):
        raise TribError(
            f"component {component.name!r}: its lock no longer matches the configuration (its snapshot, pin, "
            "branch or upstream name changed)",
            where=Location(path),
            hint=f"run 'trib comp update {component.name}'",
        )
    return lock


def copy_tree(source: Path, dest: Path) -> None:
    """Copy regular files and directories; a symlink that leads out of ``source`` is an error."""
    for directory, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        here = Path(directory)
        target_dir = dest / here.relative_to(source)
        target_dir.mkdir(parents=True, exist_ok=True)
        for name in sorted(filenames) + [d for d in dirnames if (here / d).is_symlink()]:
            path = here / name
            if path.is_symlink() and not is_inside(source, path):
                raise PathEscapeError(f"{path} is a symlink leading outside {source}")
            if path.is_file():
                shutil.copyfile(path, target_dir / name)
                shutil.copymode(path, target_dir / name)
