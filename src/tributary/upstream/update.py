"""``comp update``: resolve components and write their lock files, touching upstream only when needed.

Freshness, as in azldev:

* **current**: the resolution hash and the input fingerprint both match the lock: nothing to do, and
  no network;
* **inputs changed**: the resolution hash matches but the fingerprint does not (an overlay or a build
  option changed): the locked commit is kept, again without network;
* **resolve**: no lock, resolution inputs changed (snapshot, pin, branch...), or the component tracks its
  branch head: the upstream is asked again.

The first lock of a component records ``import-commit`` (the first upstream commit the distribution
took); later updates keep it. With every component selected, locks of components that no longer exist
are removed.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass
from pathlib import Path

from tributary.config import Project, ResolvedComponent
from tributary.upstream.checkout import resolve_upstream
from tributary.upstream.fingerprint import (
    input_fingerprint,
    resolution_hash,
    tracks_head,
)
from tributary.upstream.lock import Lock, lock_path, read_lock, write_lock

CURRENT = "current"
INPUTS_CHANGED = "inputs-changed"
RESOLVED = "resolved"
NEW = "new"
ORPHAN = "orphan"


@dataclass(frozen=True)
class UpdateRow:
    component: str
    status: str
    changed: bool
    commit: str | None
    previous_commit: str | None
    lock: Lock | None

    def to_json(self) -> dict[str, object]:
        return {
            "component": self.component,
            "status": self.status,
            "changed": self.changed,
            "upstreamCommit": self.commit,
            "previousCommit": self.previous_commit,
        }


def plan_update(
    project: Project, component: ResolvedComponent, *, force: bool = False, bump: bool = False
) -> UpdateRow:
    """What ``comp update`` would write for one component (nothing is written here)."""
    path = lock_path(project.lock_dir, component.name)
    old = read_lock(path)
    manual_bump = (old.manual_bump if old else 0) + (1 if bump else 0)
    resolution = resolution_hash(component)
    reusable = (
        old is not None and old.upstream_commit and old.resolution_input_hash == resolution
        and not force and not tracks_head(component)
    )
    if component.upstream is None:
        commit = None
    elif reusable:
        commit = old.upstream_commit  # type: ignore[union-attr]
    else:
        commit = resolve_upstream(project, component, refresh=True).commit
    fingerprint = input_fingerprint(project, component, upstream_commit=commit, manual_bump=manual_bump)
    lock = Lock(
        input_fingerprint=fingerprint,
        upstream_commit=commit,
        import_commit=(old.import_commit if old and old.import_commit else commit),
        manual_bump=manual_bump,
        resolution_input_hash=resolution,
    )
    if old is None:
        status = NEW
    elif lock == old:
        status = CURRENT
    elif old.upstream_commit != commit:
        status = RESOLVED
    else:
        status = INPUTS_CHANGED
    changed = old is None or old.upstream_commit != commit or old.input_fingerprint != fingerprint
    return UpdateRow(component.name, status, changed, commit, old.upstream_commit if old else None,
                     lock if lock != old else None)


def update(
    project: Project,
    names: list[str],
    *,
    check_only: bool = False,
    prune: bool = False,
    force: bool = False,
    bump: bool = False,
    jobs: int = 4,
) -> list[UpdateRow]:
    """Update the locks of ``names`` (in parallel: resolving is network-bound); sorted by component."""
    components = [project.resolve(name) for name in names]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        rows = list(pool.map(lambda c: plan_update(project, c, force=force, bump=bump), components))
    if not check_only:
        for row in rows:
            if row.lock is not None:
                write_lock(lock_path(project.lock_dir, row.component), row.lock)
    if prune:
        for path in orphan_locks(project):
            rows.append(UpdateRow(path.name[: -len(".lock")], ORPHAN, True, None, None, None))
            if not check_only:
                path.unlink()
    return sorted(rows, key=lambda row: row.component)


def orphan_locks(project: Project) -> list[Path]:
    """Lock files of components the configuration no longer defines."""
    if not project.lock_dir.is_dir():
        return []
    known = set(project.component_names)
    return [p for p in sorted(project.lock_dir.glob("*.lock")) if p.name[: -len(".lock")] not in known]
