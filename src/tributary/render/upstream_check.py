"""``upstream check``: what moving to a newer upstream would cost, overlay by overlay.

Before a distribution moves its snapshot (or to the upstream's next version), its maintainers want to
know which overlays still apply, which upstream has made pointless by taking the change itself, and
which break. This module renders each component's overlays against the *target* upstream commit in a
scratch directory, one overlay at a time and with render's own sequence (``render.apply_overlays``), so
the answer is what a render would do; it never writes the rendered specs or the locks.

Per overlay the result is:

- ``applies``: it changed the tree;
- ``redundant``: upstream took the change, so the overlay can be dropped; the result says why
  (``evidence``: the spec line that already reads as the overlay would write it, the patch upstream
  already declares). Either the overlay changed nothing (an error for most types), or it failed and
  what it aims at is already there (the text a search-replace writes, the absence of what a remove
  overlay removes, the file a file-add adds), or it succeeded only by duplicating or re-spacing what
  upstream now carries (add/insert/set/update-tag, prepend/append-lines), or it is a ``patch-add``
  whose patch upstream applies already: the spec declares a patch with the same changes, or the
  patch applies in reverse to the target's own tarballs (``patch --dry-run -R``; a patch-add that
  applies would then fail the build);
- ``fails``: any other error, reported with the new upstream lines near where the overlay used to act.

Redundant overlays are worth knowing, not a failure: the command exits 0 for them unless asked.

"Where it used to act" is learnt by applying the same overlays to the *current* upstream commit and
noting the first line each one changed; that line is then located in the target's file by matching
the text around it (difflib), which survives upstream inserting or deleting lines elsewhere. A
failing overlay does not stop the check: later overlays apply to the tree as it stands, as a
maintainer fixing them one by one would see it.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import difflib
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from tributary.config import Project, ResolvedComponent
from tributary.config.model import Overlay, parse_snapshot
from tributary.config.project import UpstreamRef
from tributary.errors import ConfigError, TribError
from tributary.overlays import ComponentTree, apply_overlay
from tributary.overlays.archives import apply_archive_overlays, extracted_archive
from tributary.overlays.patches import PatchAdd
from tributary.overlays.tree import decode
from tributary.render.render import apply_overlays, snapshot
from tributary.tools import patch as patch_tool
from tributary.upstream.checkout import checkout_upstream, resolve_upstream
from tributary.upstream.commit import choose_commit
from tributary.upstream.distgit import Mirror, cache_dir, dist_git_source
from tributary.upstream.source_files import fetch_component_files
from tributary.upstream.sources import current_lock


class OverlayOutcome(StrEnum):
    """What one overlay does on the target upstream."""

    APPLIES = "applies"
    REDUNDANT = "redundant"
    FAILS = "fails"


class CheckStatus(StrEnum):
    """What moving to the target means for one component."""

    UNCHANGED = "unchanged"  # the target is the commit already in use
    CLEAN = "clean"  # every overlay applies
    REDUNDANT = "redundant"  # some overlay is redundant (upstream took its change), none fails
    BREAKS = "breaks"  # some overlay fails
    LOCAL = "local"  # a local spec: no upstream to move
    ERROR = "error"  # the component could not be checked (no such commit, branch or spec upstream)


FAILING = frozenset({CheckStatus.BREAKS, CheckStatus.ERROR})

CONTEXT_LINES = 3
DEFAULT_JOBS = 4

@dataclass(frozen=True)
class Target:
    """The upstream to check against: ``version`` of the components' own upstream distro (its
    ``dist-git-branch``) and/or a ``snapshot``; with neither, each component's branch head."""

    snapshot: str | None = None
    version: str | None = None

    def describe(self) -> str:
        where = f"version {self.version}" if self.version else "the configured version"
        when = f"snapshot {self.snapshot}" if self.snapshot else "branch head"
        return f"{where}, {when}"


@dataclass(frozen=True)
class NearbyLine:
    line: int  # 1-based, in the target upstream's file
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "text": self.text}


@dataclass(frozen=True)
class OverlayResult:
    """One overlay against the target: ``number`` is its 1-based place among the component's configured
    overlays, None for the ones tributary adds (reported only when they fail)."""

    number: int | None
    type: str
    description: str | None
    result: OverlayOutcome
    message: str | None = None
    location: str | None = None
    nearby_file: str | None = None
    nearby_lines: tuple[NearbyLine, ...] = ()
    evidence: str | None = None  # for a redundant overlay: where upstream carries its change

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "type": self.type,
            "description": self.description,
            "result": self.result,
            "message": self.message,
            "evidence": self.evidence,
            "location": self.location,
            "nearbyFile": self.nearby_file,
            "nearbyLines": [line.to_json() for line in self.nearby_lines],
        }


@dataclass(frozen=True)
class ComponentCheck:
    """One component: which commit it uses, which it would move to, and how its overlays fare there."""

    component: str
    status: CheckStatus
    current_commit: str | None = None
    target_commit: str | None = None
    target_branch: str | None = None
    pinned_commit: str | None = None
    error: str | None = None
    overlays: tuple[OverlayResult, ...] = field(default_factory=tuple)

    @property
    def affected(self) -> bool:
        return self.status in (CheckStatus.REDUNDANT, CheckStatus.BREAKS, CheckStatus.ERROR)

    def counts(self) -> dict[OverlayOutcome, int]:
        found = dict.fromkeys(OverlayOutcome, 0)
        for overlay in self.overlays:
            found[overlay.result] += 1
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "status": self.status,
            "currentCommit": self.current_commit,
            "targetCommit": self.target_commit,
            "targetBranch": self.target_branch,
            "pinnedCommit": self.pinned_commit,
            "error": self.error,
            "overlays": [overlay.to_json() for overlay in self.overlays],
        }


# --- the check ----------------------------------------------------------------------------------------


def check_upstream(project: Project, names: Sequence[str], target: Target, *, jobs: int = DEFAULT_JOBS,
                   progress: Callable[[ComponentCheck], None] | None = None) -> list[ComponentCheck]:
    """Check ``names`` against ``target``, in name order; one component's trouble never stops the rest.

    Components are checked ``jobs`` at a time (threads: most of the time goes to fetching upstream, each
    fetch with its time-outs; mirrors are shared through their file locks).
    """
    validate_target(project, [project.resolve(name) for name in names], target)
    results = []
    project.work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="upstream-check-", dir=project.work_dir) as scratch:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="upstream-check")
        try:
            futures = [pool.submit(check_component, project, project.resolve(name), target, Path(scratch))
                       for name in sorted(names)]
            for future in concurrent.futures.as_completed(futures):
                result = future.result()
                results.append(result)
                if progress is not None:
                    progress(result)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)
    return sorted(results, key=lambda check: check.component)


def validate_target(project: Project, components: Sequence[ResolvedComponent], target: Target) -> None:
    """Bad flags are bad input (exit 2) before any fetch, not a failure of every component."""
    if target.snapshot is not None:
        try:
            moment = parse_snapshot(target.snapshot)
        except ValueError as error:
            raise ConfigError(str(error)) from error
        if moment.tzinfo is None:
            raise ConfigError(f"snapshot {target.snapshot!r} has no time-zone offset")
    if target.version is not None:
        for distro in sorted({c.upstream.distro for c in components if c.upstream is not None}):
            _, version, settings = project.distro_version(distro, target.version)
            if not settings.dist_git_branch:
                raise ConfigError(f"distro {distro!r} version {version!r} sets no dist-git-branch")


def retarget(project: Project, component: ResolvedComponent, target: Target) -> ResolvedComponent:
    """The component as if its upstream were the target's version and snapshot (pin and overlays kept)."""
    upstream = component.upstream
    assert upstream is not None
    distro, version, settings = project.distro_version(upstream.distro, target.version or upstream.version)
    moved = UpstreamRef(distro, version, target.snapshot, settings, upstream.distro_settings)
    return dataclasses.replace(component, upstream=moved)


def target_commit(project: Project, moved: ResolvedComponent) -> str:
    """The commit the target selects on a freshly fetched branch: the snapshot's, else the head.

    A pin is deliberately ignored: the point is what leaving it would cost.
    """
    source = dist_git_source(moved)
    mirror = Mirror.for_url(source.url, cache_dir(project))
    mirror.update(source.branch)
    snapshot_at = moved.upstream.snapshot if moved.upstream else None
    try:
        with mirror.locked(exclusive=False):
            return choose_commit(mirror, source.branch, snapshot=snapshot_at).commit
    except TribError as error:
        error.message = f"component {moved.name!r}: {error.message}"
        raise


def check_component(project: Project, component: ResolvedComponent, target: Target, scratch: Path) -> ComponentCheck:
    """Resolve both commits, then apply the overlays to the current and the target upstream trees."""
    name = component.name
    if component.spec_type != "upstream":
        if component.spec_type == "local":
            return ComponentCheck(name, CheckStatus.LOCAL)
        return ComponentCheck(name, CheckStatus.ERROR,
                              error=f"component {name!r} has no spec source (spec.type is empty)")
    spec = component.config.spec
    pin = spec.upstream_commit if spec else None
    try:
        moved = retarget(project, component, target)
        branch = dist_git_source(moved).branch
        goal = target_commit(project, moved)
        # After the fetch above, the component's own branch needs no second fetch when it is the same.
        same_branch = branch == dist_git_source(component).branch
        lock = current_lock(project, component)
        current = resolve_upstream(project, component, locked=lock.upstream_commit if lock else None,
                                   refresh=False if same_branch else None).commit
    except TribError as error:
        return ComponentCheck(name, CheckStatus.ERROR, pinned_commit=pin, error=str(error))
    row = ComponentCheck(name, CheckStatus.UNCHANGED, current, goal, branch, pin)
    if current == goal:
        return row
    work = scratch / name
    try:
        footprints = _current_footprints(project, component, current, work / "current")
        overlays = _target_results(project, component, moved, goal, work / "target", footprints)
    except TribError as error:
        return dataclasses.replace(row, status=CheckStatus.ERROR, error=str(error))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if any(o.result == OverlayOutcome.FAILS for o in overlays):
        status = CheckStatus.BREAKS
    elif any(o.result == OverlayOutcome.REDUNDANT for o in overlays):
        status = CheckStatus.REDUNDANT
    else:
        status = CheckStatus.CLEAN
    return dataclasses.replace(row, status=status, overlays=tuple(overlays))


# --- where each overlay acts on the current upstream ----------------------------------------------------


@dataclass(frozen=True)
class _Footprint:
    """Where one overlay changed the current tree: the file, its lines just before, the first line changed."""

    path: str
    lines: list[str]
    index: int


def _current_footprints(
    project: Project, component: ResolvedComponent, commit: str, dest: Path
) -> list[_Footprint | None]:
    """Each overlay's footprint on the current upstream, by position in render's overlay sequence.

    The current tree is only a reference for locating failures: when it cannot be built (its own render
    is broken), the check goes on without nearby lines.
    """
    footprints: list[_Footprint | None] = []

    def step(overlay: Overlay, index: int | None, tree: ComponentTree) -> None:
        before = snapshot(tree.root)
        try:
            apply_overlay(overlay, tree)
        except TribError:
            footprints.append(None)
            return
        footprints.append(_footprint(before, snapshot(tree.root), tree.spec_name))

    dest.mkdir(parents=True)
    try:
        checkout_upstream(project, component, dest, locked=commit, refresh=False)
        apply_overlays(project, component, dest, step=step)
    except TribError:
        return []
    return footprints


def _footprint(
    before: dict[str, tuple[bytes, bool]], after: dict[str, tuple[bytes, bool]], spec_name: str
) -> _Footprint | None:
    changed = [path for path in sorted(before) if path in after and after[path][0] != before[path][0]]
    if not changed:
        return None
    path = spec_name if spec_name in changed else changed[0]
    old = decode(before[path][0]).splitlines()
    new = decode(after[path][0]).splitlines()
    for tag, i1, _i2, _j1, _j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag != "equal":
            return _Footprint(path, old, i1)
    return None


def map_line(old: Sequence[str], new: Sequence[str], index: int) -> int:
    """Where line ``index`` of ``old`` is in ``new``: the same line if it survived, else just after the
    nearest line before it that did (so an edited line maps onto its replacement)."""
    position = 0
    for block in difflib.SequenceMatcher(None, list(old), list(new), autojunk=False).get_matching_blocks():
        if block.size == 0 or block.a > index:
            break
        if index < block.a + block.size:
            return block.b + index - block.a
        position = block.b + block.size
    return position


def nearby_lines(
    old: Sequence[str], new: Sequence[str], index: int, context: int = CONTEXT_LINES
) -> tuple[NearbyLine, ...]:
    """Up to ``context`` lines either side of where line ``index`` of ``old`` landed in ``new``."""
    if not new:
        return ()
    middle = min(map_line(old, new, index), len(new) - 1)
    start, end = max(0, middle - context), min(len(new), middle + context + 1)
    return tuple(NearbyLine(number + 1, new[number]) for number in range(start, end))


# --- the target upstream ------------------------------------------------------------------------------


def _target_results(project: Project, component: ResolvedComponent, moved: ResolvedComponent, commit: str,
                    dest: Path, footprints: list[_Footprint | None]) -> list[OverlayResult]:
    """Apply every overlay to the target tree, recording each outcome and carrying on after failures."""
    results: list[OverlayResult] = []
    position = 0

    def step(overlay: Overlay, index: int | None, tree: ComponentTree) -> None:
        nonlocal position
        footprint = footprints[position] if position < len(footprints) else None
        position += 1
        outcome, message, evidence = _try(overlay, tree, ours=index is None)
        if index is None and outcome != OverlayOutcome.FAILS:
            return  # tributary's own overlays are reported only when they break
        result = OverlayResult(
            index + 1 if index is not None else None, overlay.type, overlay.description, outcome, message,
            evidence=evidence,
        )
        if outcome != OverlayOutcome.APPLIES and index is not None:
            result = dataclasses.replace(result, location=str(project.overlay_location(component.name, index)))
        if outcome == OverlayOutcome.FAILS and footprint is not None and footprint.path in pristine:
            result = dataclasses.replace(
                result,
                nearby_file=footprint.path,
                nearby_lines=nearby_lines(footprint.lines, pristine[footprint.path], footprint.index),
            )
        results.append(result)

    dest.mkdir(parents=True)
    checkout_upstream(project, moved, dest, locked=commit, refresh=False)
    pristine = {path: decode(data).splitlines() for path, (data, _) in snapshot(dest).items()}
    apply_overlays(project, component, dest, step=step)
    results = _patches_in_tarballs(project, moved, dest, dest.parent, results, component.config.overlays)
    return results + _archive_results(project, component, moved, dest)


def _archive_results(project: Project, component: ResolvedComponent, moved: ResolvedComponent,
                     dest: Path) -> list[OverlayResult]:
    """Overlays that edit inside tarballs, against the target's tarballs (from the lookaside cache when
    they are there), each in configuration order on the tarball as the ones before it left it."""
    archived = [(index, overlay, archive) for index, overlay in enumerate(component.config.overlays)
                if (archive := overlay.archive_name())]
    if not archived:
        return []
    problem = None
    try:
        fetch_component_files(project, moved, dest, dest)
    except TribError as error:
        problem = f"the target's tarballs could not be fetched: {error.message}"
    tree = ComponentTree(root=dest, spec_name=f"{component.name}.spec")
    results = []
    for index, overlay, archive in archived:
        outcome, message = OverlayOutcome.FAILS, problem
        if problem is None:
            try:
                apply_archive_overlays(tree, archive, [overlay])
                outcome, message = OverlayOutcome.APPLIES, None
            except TribError as error:
                message = error.message
        result = OverlayResult(index + 1, overlay.type, overlay.description, outcome, message)
        if outcome != OverlayOutcome.APPLIES:
            result = dataclasses.replace(result, location=str(project.overlay_location(component.name, index)))
        results.append(result)
    return results


def _try(overlay: Overlay, tree: ComponentTree, *, ours: bool) -> tuple[OverlayOutcome, str | None, str | None]:
    """Apply one overlay and classify the outcome: ``(outcome, message, evidence)``; the tree is left as
    the overlay leaves it."""
    before = snapshot(tree.root)
    evidence = None if ours else _already_upstream(overlay, tree)
    try:
        apply_overlay(overlay, tree)
    except TribError as error:
        if evidence is not None:
            return OverlayOutcome.REDUNDANT, f"{REDUNDANT}: {evidence} (the overlay fails: {error.message})", evidence
        return OverlayOutcome.FAILS, error.message, None
    if snapshot(tree.root) == before and not overlay.leaves_tree_unchanged:
        return OverlayOutcome.REDUNDANT, f"{REDUNDANT}: the overlay changes nothing", evidence
    if evidence is not None and (overlay.succeeds_anyway or isinstance(overlay, PatchAdd)):
        return OverlayOutcome.REDUNDANT, f"{REDUNDANT}: {evidence}", evidence
    return OverlayOutcome.APPLIES, None, None


REDUNDANT = "redundant: drop it"


# --- has upstream already got what the overlay aims at? ---------------------------------------------------


def _already_upstream(overlay: Overlay, tree: ComponentTree) -> str | None:
    """Why upstream already carries the overlay's change, before it runs (each type says what that
    means), or None. Guessing wrong in doubt means "applies" or "fails", never a false "redundant": that
    invites deleting the overlay."""
    try:
        return overlay.already_upstream(tree) if overlay.archive_name() is None else None
    except (TribError, OSError, re.error):
        return None


def _patches_in_tarballs(project: Project, moved: ResolvedComponent, dest: Path, scratch: Path,
                         results: list[OverlayResult], overlays: Sequence[Overlay]) -> list[OverlayResult]:
    """``results`` with each patch-add that applies but whose patch upstream's own tarballs already
    contain (it applies in reverse) made redundant. The tarballs come from the lookaside (its cache
    first); when they cannot be had, the results stand."""
    candidates = [r for r in results if r.type == "patch-add" and r.result == OverlayOutcome.APPLIES
                  and r.number is not None]
    if not candidates:
        return results
    tarballs = scratch / "tarballs"
    tarballs.mkdir(parents=True, exist_ok=True)
    try:
        fetch_component_files(project, moved, dest, tarballs)
        archives = sorted(p for p in tarballs.iterdir() if p.is_file() and _is_tarball(p))
    except TribError:
        return results
    replaced = {}
    for result in candidates:
        overlay = overlays[result.number - 1]  # type: ignore[operator]
        copied = overlay.copied_file()
        if copied is None:
            continue
        evidence = _applied_in(Path(copied[1]), archives)
        if evidence is not None:
            replaced[result.number] = dataclasses.replace(
                result, result=OverlayOutcome.REDUNDANT, message=f"{REDUNDANT}: {evidence}", evidence=evidence,
                location=str(project.overlay_location(moved.name, result.number - 1)))  # type: ignore[operator]
    return [replaced.get(r.number, r) for r in results]


def _is_tarball(path: Path) -> bool:
    return ".tar" in path.name or path.suffix in (".tgz", ".tbz2", ".txz")


def _applied_in(patch: Path, archives: Sequence[Path]) -> str | None:
    """Which tarball already holds the patch's changes (it reverse-applies there), as evidence."""
    for archive in archives:
        try:
            with extracted_archive(archive) as root:
                for strip in (1, 0):
                    if patch_tool.reverse_applies(patch, root, strip=strip):
                        return f"its changes are already in upstream's {archive.name} (the patch applies in reverse " \
                               f"with -p{strip})"
        except TribError:
            continue
    return None


# --- Markdown -------------------------------------------------------------------------------------------


def _short(commit: str | None) -> str:
    return commit[:12] if commit else "-"


def summary(check: ComponentCheck) -> str:
    """``applies: 5, redundant: 1, fails: 1`` for a component whose overlays were checked, else empty."""
    if check.status not in (CheckStatus.CLEAN, CheckStatus.REDUNDANT, CheckStatus.BREAKS):
        return ""
    return ", ".join(f"{result}: {count}" for result, count in check.counts().items())


def to_markdown(checks: Sequence[ComponentCheck], target: Target) -> str:
    """A document for a pull request or an issue: a summary table, then a section per affected component."""
    out = [f"# Upstream check: {target.describe()}", ""]
    broken = sum(1 for c in checks if c.status in FAILING)
    out.append(
        f"{len(checks)} component(s) checked: {broken} break or could not be checked, "
        f"{sum(1 for c in checks if c.status == CheckStatus.REDUNDANT)} carry redundant overlays "
        "(upstream took their change: drop them)."
    )
    out += [
        "",
        "| Component | Status | Current | Target | Pinned | Overlays |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for check in checks:
        commits = [_code(c[:12]) if c else "" for c in (check.current_commit, check.target_commit, check.pinned_commit)]
        out.append(f"| {_md(check.component)} | {check.status} | {' | '.join(commits)} | {summary(check)} |")
    for check in checks:
        if not check.affected:
            continue
        out += ["", f"## {check.component}: {check.status}", ""]
        if check.target_commit:
            out.append(f"From upstream commit `{_short(check.current_commit)}` to `{_short(check.target_commit)}` "
                       f"(branch {check.target_branch}).")
        if check.pinned_commit:
            out.append(f"Pinned to `{check.pinned_commit}`: the pin keeps it where it is until it is moved.")
        if check.error:
            out += ["", f"Could not be checked: {_md(check.error)}"]
        for overlay in check.overlays:
            if overlay.result == OverlayOutcome.APPLIES:
                continue
            label = f"overlay #{overlay.number}" if overlay.number is not None else "tributary's own overlay"
            out += ["", f"### {label} ({overlay.type}): {overlay.result}", ""]
            if overlay.description:
                out.append(f"{_md(overlay.description)}")
            if overlay.location:
                out.append(f"Written at `{overlay.location}`.")
            if overlay.message:
                out += ["", f"> {_md(overlay.message)}"]
            if overlay.nearby_lines:
                out += ["", f"New upstream lines near where it used to apply (`{overlay.nearby_file}`):", ""]
                out += _fenced([f"{line.line:>5}  {line.text}" for line in overlay.nearby_lines])
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


def _fenced(lines: list[str]) -> list[str]:
    """A code block whose fence is longer than any backtick run inside it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *lines, fence]
