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

One failure never stops the rest: components are resolved in parallel (a bounded pool of threads; the
work is network-bound), each lock is written atomically the moment its component is done, and the
failures come back as rows with their reasons. Lasting failures are remembered (``failures``), so an
unchanged component that failed that way is reported again without asking upstream.

Whenever upstream is asked about a component whose lock still fits its configuration (``--check-only``,
``--force``, a component following its branch head), the locked commit must still be on the branch. If
upstream rewrote the branch (a force-push), that is ``HistoryRewritten``: exit status 1, and the lock
moves only with ``--accept-rewritten-history``. A damaged lock file is an error naming it; ``--force``
replaces it, keeping ``import-commit`` and ``manual-bump`` from its last committed version when git
has one.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tributary.config import Project, ResolvedComponent
from tributary.errors import Location, TribError
from tributary.tools import git
from tributary.upstream.checkout import resolve_upstream
from tributary.upstream.distgit import dist_git_source
from tributary.upstream.errors import HistoryRewritten
from tributary.upstream.failures import FailureMemory, Remembered
from tributary.upstream.fingerprint import (
    input_fingerprint,
    resolution_hash,
    tracks_head,
)
from tributary.upstream.lock import Lock, LockFileError, lock_path, parse_lock, read_lock, write_lock

CURRENT = "current"
INPUTS_CHANGED = "inputs-changed"
RESOLVED = "resolved"
NEW = "new"
ORPHAN = "orphan"
FAILED = "failed"
DEFAULT_JOBS = 8  # parallel lookups: each mostly waits on the network


@dataclass(frozen=True)
class UpdateRow:
    component: str
    status: str
    changed: bool
    commit: str | None
    previous_commit: str | None
    lock: Lock | None
    error: str | None = None
    exit_code: int = 0  # of the failure: 2 bad input or unreachable, 1 a failed check (rewritten history)
    temporary: bool = False  # the failure may pass (network, time-out); the next run tries again
    remembered: bool = False  # a lasting failure reported again from the last run, inputs unchanged
    note: str | None = None  # something the user should know about a success (a damaged lock replaced)

    def to_json(self) -> dict[str, object]:
        return {
            "component": self.component,
            "status": self.status,
            "changed": self.changed,
            "upstreamCommit": self.commit,
            "previousCommit": self.previous_commit,
            "error": self.error,
            "temporary": self.temporary,
            "remembered": self.remembered,
            "note": self.note,
        }


class _Recalled(Exception):
    def __init__(self, failure: Remembered):
        super().__init__(failure.message)
        self.failure = failure


def plan_update(project: Project, component: ResolvedComponent, *, force: bool = False, bump: bool = False,
                verify: bool = False, accept_rewritten: bool = False,
                memory: FailureMemory | None = None) -> UpdateRow:
    """What ``comp update`` would write for one component (nothing is written here).

    ``verify`` asks upstream whether a reusable locked commit is still on its branch (``--check-only``);
    ``accept_rewritten`` lets a lock move off a commit upstream removed from the branch.
    """
    path = lock_path(project.lock_dir, component.name)
    old, note = _old_lock(project, path, force=force)
    manual_bump = (old.manual_bump if old else 0) + (1 if bump else 0)
    resolution = resolution_hash(component)
    fits = old is not None and bool(old.upstream_commit) and old.resolution_input_hash == resolution
    reusable = fits and not force and not tracks_head(component)
    if component.upstream is None:
        commit = None
    elif reusable and not (verify or accept_rewritten):
        commit = old.upstream_commit  # type: ignore[union-attr]
    else:
        commit = _ask_upstream(project, component, old if fits else None, reusable=reusable,
                               accept_rewritten=accept_rewritten, memory=None if force else memory, path=path)
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
    if note is not None:  # the file on disk was damaged: it must be written whatever the plan says
        return UpdateRow(component.name, status, True, commit, old.upstream_commit if old else None, lock, note=note)
    return UpdateRow(component.name, status, changed, commit, old.upstream_commit if old else None,
                     lock if lock != old else None)


def _old_lock(project: Project, path: Path, *, force: bool) -> tuple[Lock | None, str | None]:
    """The component's lock; with ``force``, a damaged one is replaced by its last committed version
    (or nothing), and the note says so."""
    try:
        return read_lock(path), None
    except LockFileError as error:
        if not force:
            raise
        committed = _committed_lock(project, path)
        source = ("import-commit and manual-bump come from its last committed version" if committed
                  else "no readable committed version: it starts afresh")
        return committed, f"replaced the damaged lock {error.where} ({error.message.split(':')[0]}); {source}"


def _committed_lock(project: Project, path: Path) -> Lock | None:
    top = git.toplevel(project.root)
    if top is None:
        return None
    relative = os.path.relpath(path.resolve(), top)
    data = git.show_file(top, "HEAD", relative)
    if data is None:
        return None
    try:
        return parse_lock(data, where=f"HEAD:{relative}")
    except LockFileError:
        return None


def _ask_upstream(project: Project, component: ResolvedComponent, old: Lock | None, *, reusable: bool,
                  accept_rewritten: bool, memory: FailureMemory | None, path: Path) -> str:
    """The commit to lock, after asking upstream (``old``: the lock, when it still fits the config).

    Upstream is asked with the locked commit first, so a rewritten branch is noticed; with
    ``accept_rewritten`` the lock moves to what the configuration selects on the branch as it is now.
    """
    inputs = _failure_inputs(component, path, accept_rewritten) if memory is not None else ""
    if memory is not None:
        remembered = memory.recall(component.name, inputs)
        if remembered is not None:
            raise _Recalled(remembered)
    try:
        commit = _resolve(project, component, old, reusable=reusable, accept_rewritten=accept_rewritten, path=path)
    except TribError as error:
        error.about(component.name)
        if memory is not None and not error.temporary:
            memory.remember(component.name, inputs, Remembered(str(error), error.exit_code))
        raise
    if memory is not None:
        memory.forget(component.name)
    return commit


def _resolve(project: Project, component: ResolvedComponent, old: Lock | None, *, reusable: bool,
             accept_rewritten: bool, path: Path) -> str:
    if old is None or old.upstream_commit is None:
        return resolve_upstream(project, component, refresh=True).commit
    try:
        resolve_upstream(project, component, locked=old.upstream_commit, refresh=True)
    except HistoryRewritten as error:
        if not accept_rewritten:
            raise error.at(Location(path)) from None
        return resolve_upstream(project, component, refresh=False).commit
    if reusable:
        return old.upstream_commit
    return resolve_upstream(project, component, refresh=False).commit


def _failure_inputs(component: ResolvedComponent, path: Path, accept_rewritten: bool) -> str:
    """What a lookup of the component depends on: its lock file, what selects its commit, and where."""
    try:
        lock = hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        lock = "-"
    try:
        url = dist_git_source(component).url
    except TribError:
        url = "-"
    parts = [lock, resolution_hash(component) or "-", url, "accept" if accept_rewritten else "-"]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _plan_or_fail(project: Project, component: ResolvedComponent, **how: object) -> UpdateRow:
    """``plan_update``, with a failure returned as a ``failed`` row rather than raised."""
    try:
        return plan_update(project, component, **how)  # type: ignore[arg-type]
    except _Recalled as recalled:
        return UpdateRow(component.name, FAILED, False, None, None, None, recalled.failure.message,
                         recalled.failure.exit_code, remembered=True)
    except TribError as error:
        error.about(component.name)
        return UpdateRow(component.name, FAILED, False, None, None, None, str(error), error.exit_code,
                         temporary=error.temporary)


def update(
    project: Project,
    names: list[str],
    *,
    check_only: bool = False,
    prune: bool = False,
    force: bool = False,
    bump: bool = False,
    accept_rewritten: bool = False,
    jobs: int = DEFAULT_JOBS,
    progress: Callable[[UpdateRow], None] | None = None,
) -> list[UpdateRow]:
    """Update the locks of ``names``; sorted by component, failures included as ``failed`` rows.

    Each lock is written (atomically) as soon as its component is resolved, so an interrupted run keeps
    every lock it finished. ``check_only`` writes nothing and asks upstream about every locked commit.
    """
    components = [project.resolve(name) for name in names]
    memory = FailureMemory(project.work_dir / "update-failures")
    how = {"force": force, "bump": bump, "verify": check_only, "accept_rewritten": accept_rewritten, "memory": memory}
    rows: list[UpdateRow] = []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="update")
    try:
        futures = [pool.submit(_plan_or_fail, project, component, **how) for component in components]
        for future in concurrent.futures.as_completed(futures):
            row = future.result()
            if not check_only and row.lock is not None:
                write_lock(lock_path(project.lock_dir, row.component), row.lock)
            rows.append(row)
            if progress is not None:
                progress(row)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # lookups already running finish (they have time-outs)
        raise
    finally:
        pool.shutdown(wait=True)
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
