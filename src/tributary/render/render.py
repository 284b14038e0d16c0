"""Render components: sources + overlays -> ``<rendered-specs-dir>/<l>/<name>/``.

Each component renders into a scratch directory beside its target and is swapped in by rename, so an
interrupted or failed render never leaves half a directory. Rendering is deterministic: the same
configuration and sources give the same bytes, which is what ``--check`` relies on.

A component that fails for a lasting reason gets azldev's ``RENDER_FAILED`` marker in place of its
output. One that fails for a temporary reason (the network, a time-out) keeps the output it had: a
passing outage must not replace a good spec; the failure is reported and the next run tries again.
A render killed outright (``SIGKILL``) can leave scratch directories behind; the next render, holding
the project's render lock, removes them before it starts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from tributary.config import Project, ResolvedComponent
from tributary.config.model import Overlay
from tributary.errors import OverlayError, TribError
from tributary.fsutil import atomic_write, replace_directory
from tributary.overlays import ComponentTree, apply_archive_overlays, apply_overlay
from tributary.render.cache import RenderCache
from tributary.render.macros import build_macros, macros_file_name, macros_file_text
from tributary.render.references import referenced_files
from tributary.render.release import apply_release
from tributary.render.spec_view import component_macros, read_spec
from tributary.render.synthetic import full_overlay_list
from tributary.render.verify import OverlayStep, tree_files, verify_render
from tributary.render.workers import WorkerLost, worker_pool
from tributary.spec.evaluate import SpecFacts
from tributary.upstream.sources import fetch_sources

FAILED_MARKER = "RENDER_FAILED"
FAILED_TEXT = "tributary could not render this component; run 'trib comp render NAME' to see why.\n"
ALWAYS_KEPT = frozenset({"sources"})


class RenderStatus(StrEnum):
    OK = "ok"
    ERROR = "error"
    STALE = "stale"
    """A rendered directory no component owns any more (``--clean-stale`` removes it)."""


@dataclass(frozen=True)
class RenderOutcome:
    """One row of ``comp render``'s report."""

    component: str
    output_dir: Path
    status: RenderStatus
    changed: bool
    error: str | None = None
    temporary: bool = False  # the failure may pass (network, time-out): the previous output was kept
    remembered: bool = False  # a lasting failure reported again from the last run, inputs unchanged
    warnings: tuple[str, ...] = ()  # what the render check could not judge, or found in upstream's own spec

    def to_json(self) -> dict[str, object]:
        return {
            "component": self.component,
            "outputDir": str(self.output_dir),
            "status": self.status,
            "changed": self.changed,
            "error": self.error,
            "temporary": self.temporary,
            "remembered": self.remembered,
            "warnings": list(self.warnings),
        }


def render_tree(project: Project, component: ResolvedComponent, dest: Path) -> list[str]:
    """Write the component's rendered spec and sidecar files into the empty directory ``dest``, checked
    (``render.verify``: what the overlays broke is an OverlayError); return the check's warnings."""
    upstream = fetch_sources(project, component, dest)
    spec_name = f"{component.name}.spec"
    original, original_files = _spec_text(dest / spec_name), tree_files(dest)
    apply_overlays(project, component, dest)
    apply_release(project, component, dest, spec_name, upstream)
    facts = _drop_unreferenced(component, dest, spec_name)

    def replay(scratch: Path, step: OverlayStep) -> None:
        fetch_sources(project, component, scratch)
        apply_overlays(project, component, scratch, step=step)

    return verify_render(project, component, dest, original, original_files, replay,
                         lambda overlay, index: _overlay_context(project, component, overlay, index), facts=facts)


def _spec_text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="surrogateescape") if path.is_file() else ""


def apply_overlays(
    project: Project, component: ResolvedComponent, dest: Path, *, step: OverlayStep | None = None
) -> None:
    """Write the build-options macros file into ``dest`` (the component's unmodified sources) and apply
    every overlay in render's order.

    ``step(overlay, index, tree)`` replaces the default step (apply, and stop at the first failure with
    the overlay's place in the error): ``upstream check`` runs render's exact sequence against another
    upstream commit and records every overlay's outcome instead of stopping.
    """
    spec_name = f"{component.name}.spec"
    if not (dest / spec_name).is_file():
        raise TribError(f"component {component.name!r}: the sources hold no {spec_name}")
    macros = build_macros(component.config)
    if macros:
        atomic_write(dest / macros_file_name(component.name), macros_file_text(macros))
    tree = ComponentTree(root=dest, spec_name=spec_name)
    for overlay, index in full_overlay_list(component.name, component.config, bool(macros), _spec_text(tree.spec_path)):
        if overlay.archive_name():
            continue  # edits inside a tarball: tarballs never enter the rendered tree (see apply_archive_edits)
        if step is not None:
            step(overlay, index, tree)
            continue
        try:
            apply_overlay(overlay, tree)
        except TribError as error:
            raise OverlayError(_overlay_context(project, component, overlay, index) + error.message) from error


def apply_archive_edits(project: Project, component: ResolvedComponent, dest: Path) -> list[str]:
    """Apply the overlays that edit inside tarballs, once the tarballs are in ``dest``.

    One extract-edit-repack per archive, in configuration order within it; returns the archives
    changed (their ``sources`` hashes no longer hold: the caller records the new ones).
    """
    by_archive: dict[str, list[tuple[Overlay, int]]] = {}
    for index, overlay in enumerate(component.config.overlays):
        archive = overlay.archive_name()
        if archive:
            by_archive.setdefault(archive, []).append((overlay, index))
    tree = ComponentTree(root=dest, spec_name=f"{component.name}.spec")
    for archive, entries in by_archive.items():
        try:
            apply_archive_overlays(tree, archive, [overlay for overlay, _ in entries])
        except TribError as error:
            overlay, index = entries[0]
            raise OverlayError(_overlay_context(project, component, overlay, index) + error.message) from error
    return sorted(by_archive)


def _overlay_context(project: Project, component: ResolvedComponent, overlay: Overlay, index: int | None) -> str:
    """``component 'x': overlay #3 (spec-search-replace, "why") at file:line: `` for an error."""
    label = f'{overlay.type}, "{overlay.description}"' if overlay.description else overlay.type
    if index is None:
        return f"component {component.name!r}: {label}: "
    where = project.overlay_location(component.name, index)
    return f"component {component.name!r}: overlay #{index + 1} ({label}) at {where}: "


def _drop_unreferenced(component: ResolvedComponent, dest: Path, spec_name: str) -> SpecFacts | None:
    """Keep the spec, ``sources`` and what the spec refers to; drop other top-level entries. Returns the
    spec as read for that (the render check reads the same facts: evaluating a spec is not cheap)."""
    render_settings = component.config.render
    if render_settings is not None and render_settings.skip_file_filter:
        return None
    facts = read_spec(_spec_text(dest / spec_name), dest, component_macros(component))
    names = referenced_files(dest, facts)
    if names is None:
        return facts
    keep = {spec_name, *ALWAYS_KEPT, *names}
    for entry in sorted(dest.iterdir()):
        if entry.name not in keep:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    return facts


# --- comparing trees -----------------------------------------------------------------------------


def snapshot(directory: Path) -> dict[str, tuple[bytes, bool]]:
    """Every file below ``directory`` as ``relative path -> (bytes, executable)``."""
    if not directory.is_dir():
        return {}
    result: dict[str, tuple[bytes, bool]] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not path.is_symlink():
            result[path.relative_to(directory).as_posix()] = (path.read_bytes(), os.access(path, os.X_OK))
    return result


# --- rendering many components ----------------------------------------------------------------------


def render_one(project: Project, name: str, *, check: bool) -> RenderOutcome:
    """Render one component; write it (unless ``check``) and say whether the output changed."""
    component = project.resolve(name)
    target = component.rendered_dir
    scratch_parent = target.parent if not check else project.work_dir
    scratch_parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=SCRATCH_SUFFIX, dir=scratch_parent))
    failure: str | None = None
    warnings: list[str] = []
    try:
        try:
            warnings = render_tree(project, component, scratch)
        except TribError as error:
            if error.temporary:  # keep what was rendered before; the next run tries again
                return RenderOutcome(name, target, RenderStatus.ERROR, False, str(error.about(name)), temporary=True)
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir()
            (scratch / FAILED_MARKER).write_text(FAILED_TEXT)
            failure = str(error.about(name))
        changed = snapshot(scratch) != snapshot(target)
        if changed and not check:
            replace_directory(scratch, target)
        status = RenderStatus.ERROR if failure else RenderStatus.OK
        return RenderOutcome(name, target, status, changed, failure, warnings=tuple(warnings))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def stale_directories(project: Project) -> list[Path]:
    """Rendered directories no component owns any more (only ``<one character>/<dir>`` is scanned)."""
    root = project.rendered_specs_dir
    if not root.is_dir():
        return []
    owned = {project.resolve(name).rendered_dir for name in project.component_names}
    stale: list[Path] = []
    for letter in sorted(root.iterdir()):
        if letter.is_dir() and len(letter.name) == 1:
            stale.extend(p for p in sorted(letter.iterdir()) if p not in owned and not p.name.startswith("."))
    return stale


SCRATCH_SUFFIX = ".render"
# What a killed render leaves: its scratch directories and the old tree of a swap cut short.
_LEFTOVER = re.compile(r"^\..+(?:\.render|\.old\.\d+)$")

_WORKER_CACHES: dict[int, RenderCache] = {}


def _render_task(project: Project, name: str) -> RenderOutcome:
    """A worker's task: render and stamp one component (one render cache per worker process)."""
    cache = _WORKER_CACHES.get(id(project))
    if cache is None:  # it reads the lock history once
        cache = _WORKER_CACHES[id(project)] = RenderCache(project)
    return _render_and_record(project, name, cache)


def _check_task(project: Project, name: str) -> RenderOutcome:
    return render_one(project, name, check=True)


def _render_and_record(project: Project, name: str, cache: RenderCache) -> RenderOutcome:
    """Render (freshness already checked by the caller) and stamp the result for the next run.

    A lasting failure is stamped with its error, so it is reported again without rendering while
    nothing changes; a temporary one leaves the stamp alone (its inputs differ, or its output is the
    one that stamp describes), so the next run tries again.
    """
    outcome = render_one(project, name, check=False)
    component = project.resolve(name)
    if outcome.status == RenderStatus.OK:
        cache.record(component)
    elif not outcome.temporary:
        cache.record(component, error=outcome.error)
    return outcome


def remove_leftovers(project: Project) -> list[Path]:
    """Remove scratch directories a killed render left (call with the render lock held); return them."""
    removed = []
    letters = sorted(p for p in project.rendered_specs_dir.iterdir() if p.is_dir() and len(p.name) == 1) \
        if project.rendered_specs_dir.is_dir() else []
    for directory in [project.work_dir, *letters]:
        if not directory.is_dir():
            continue
        for entry in directory.iterdir():
            if _LEFTOVER.match(entry.name) and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


def render_many(
    project: Project,
    names: list[str],
    *,
    check: bool = False,
    jobs: int | None = None,
    force: bool = False,
    progress: Callable[[RenderOutcome], None] | None = None,
    on_wait: Callable[[Path], None] | None = None,
) -> list[RenderOutcome]:
    """Render ``names`` with ``jobs`` processes; one failure never stops the others. Sorted by name.

    Components whose inputs and output are unchanged since their last render are skipped, unless
    ``force``; so are components whose last render failed for a lasting reason, reported again with
    that error. With ``jobs`` > 1, workers are spawned processes (see ``render.workers``).
    """
    jobs = max(1, jobs or os.cpu_count() or 1)
    outcomes: list[RenderOutcome] = []
    cache = None if force else RenderCache(project)

    def done(outcome: RenderOutcome) -> None:
        outcomes.append(outcome)
        if progress:
            progress(outcome)

    with render_lock(project, on_wait):
        remove_leftovers(project)
        pending = []
        for name in names:
            component = project.resolve(name)
            target = component.rendered_dir
            stamp = cache.recall(component, target) if cache is not None else None
            if stamp is None:
                pending.append(name)
            elif stamp.error is None:
                done(RenderOutcome(name, target, RenderStatus.OK, False))
            else:
                done(RenderOutcome(name, target, RenderStatus.ERROR, False, stamp.error, remembered=True))
        writer_cache = RenderCache(project)  # stamps are written even by a forced render
        if jobs == 1 or len(pending) < 4:
            for name in pending:
                done(render_one(project, name, check=True) if check
                     else _render_and_record(project, name, writer_cache))
        else:
            with worker_pool(project, min(jobs, len(pending)), _check_task if check else _render_task) as run:
                for result in run(pending):
                    if isinstance(result, WorkerLost):
                        result = RenderOutcome(result.name, project.resolve(result.name).rendered_dir,
                                               RenderStatus.ERROR, False,
                                               f"component {result.name!r}: {result.describe()}", temporary=True)
                    done(result)
    return sorted(outcomes, key=lambda outcome: outcome.component)


@contextlib.contextmanager
def render_lock(project: Project, on_wait: Callable[[Path], None] | None = None) -> Iterator[None]:
    """One render per project at a time: a second one waits for the first instead of racing it.

    ``on_wait(lock_path)`` is called once if the lock is busy, before waiting, so a user is not left
    looking at a silent terminal.
    """
    project.work_dir.mkdir(parents=True, exist_ok=True)
    path = project.work_dir / "render.lock"
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(path)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
