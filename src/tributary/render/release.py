"""Release numbers and changelogs that move forward when the distribution's inputs change.

Upstream's release numbering only sees upstream commits. A downstream-only change (a new overlay, a
build option) must still produce a higher release, or the new build would not upgrade the old one. As
azldev does (reference 3.2), we rebuild the component's dist-git history with one *synthetic* commit for
every change of its input fingerprint in the project's own history, then let the release follow:

1. **Fingerprint changes**: the project's ``git log`` of ``locks/<name>.lock``; each commit where the
   lock's ``input-fingerprint`` differs from the one before counts, the first one included. An
   uncommitted change of inputs adds one entry, "Local changes (uncommitted)".
2. **History**: upstream's first-parent history is kept up to the lock's ``import-commit``; later
   upstream commits are replayed with each synthetic commit right after the upstream commit it was made
   on; synthetic commits made on the newest upstream commit (or, for local specs, all of them) go on
   top. Synthetic commits are empty except the last commit, which carries the rendered tree, so the
   work tree is clean (rpmautospec would otherwise add a bump dated today). The rebuilt history is
   written into a repository held in memory that reads the mirror's objects (``gitlib``): nothing on
   disk, no git process.
3. **Release**: ``manual`` and ``autorelease`` leave the Release tag alone; ``static`` adds the number
   of synthetic commits to the leading number of every main-package Release line (``release_bump``);
   ``auto`` leaves the spec to rpmautospec when any Release line uses ``%autorelease`` and treats it
   as ``static`` otherwise. rpmautospec then expands ``%autorelease`` and ``%autochangelog`` from the
   rebuilt history, reading each historical spec with tributary's own spec model (``spec_view``), not
   the host's rpm.

With no project repository, no lock committed, or no fingerprint change, there are no synthetic commits
and no bump.

A ``spec-add-changelog`` overlay (a tributary extension) adds to this: in an ``%autochangelog`` spec its
entry is one more synthetic commit, the newest, so rpmautospec renders it (and ``%autorelease`` counts
it, as any commit); in a static changelog the overlay wrote the entry itself, and only its header's
version-release is brought up to date here once the Release is raised.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pygit2

from tributary.config import Project, ResolvedComponent
from tributary.errors import Location, OverlayError, TribError
from tributary.fsutil import atomic_write
from tributary.overlays.changelog import AUTOCHANGELOG, SpecAddChangelog, commit_message, restamp
from tributary.render.release_bump import ReleaseBumpError, bump_release, release_tags, uses_autorelease
from tributary.render.spec_view import component_macros, version_query
from tributary.render.synthetic import prepared
from tributary.spec import parse
from tributary.tools import git, gitlib, rpmautospec
from tributary.upstream.checkout import Resolution
from tributary.upstream.fingerprint import input_fingerprint
from tributary.upstream.lock import lock_path, read_lock
from tributary.upstream.uri import redact

UNCOMMITTED = "Local changes (uncommitted)"
SECONDS_PER_DAY = 86400
LOCAL_AUTHOR = ("tributary", "tributary@local")


@dataclass(frozen=True)
class SyntheticCommit:
    """One change of the component's inputs, as it will appear in the rebuilt history."""

    subject: str
    author: str
    email: str
    timestamp: int
    project_commit: str | None
    upstream_commit: str | None

    @property
    def message(self) -> str:
        trailer = f"\n\nProject commit: {self.project_commit}" if self.project_commit else ""
        return f"{self.subject}{trailer}\n"


def fingerprint_changes(project: Project, component: ResolvedComponent) -> list[SyntheticCommit]:
    """Every committed change of the component's input fingerprint, plus an uncommitted one."""
    path = lock_path(project.lock_dir, component.name)
    if not path.is_file():
        return []  # no lock, so no committed history of one
    top = _repository(project.root)
    if top is None:
        return []
    if _shallow(top):
        raise TribError(
            f"component {component.name!r}: release numbers come from the project's history, and this clone is shallow",
            hint="fetch the full history (git fetch --unshallow)",
        )
    directory = str(path.parent.resolve().relative_to(top))
    versions = _lock_histories(top, directory, _head(top)).get(path.name, [])
    if not versions or versions[-1] is None:
        return []  # never committed (or removed at HEAD): no history, no bump
    changes: list[SyntheticCommit] = []
    previous: str | None = None
    for version in versions:
        if version is None:  # the lock was deleted in this commit
            previous = None
            continue
        if version.fingerprint != previous:
            changes.append(SyntheticCommit(version.subject, version.author, version.email, version.when,
                                           version.commit, version.upstream_commit))
            previous = version.fingerprint
    head = versions[-1]
    current = input_fingerprint(project, component, upstream_commit=head.upstream_commit, manual_bump=head.manual_bump)
    if current != head.fingerprint:
        changes.append(SyntheticCommit(UNCOMMITTED, *LOCAL_AUTHOR, _head_time(top), None, None))
    return changes


@dataclass(frozen=True)
class LockVersion:
    """One committed version of one lock file, and the commit that made it."""

    commit: str
    author: str
    email: str
    when: int
    subject: str
    fingerprint: str | None
    upstream_commit: str | None
    manual_bump: int


_FILE_DIFF = re.compile(r"^diff --git ", re.MULTILINE)
_LOCK_FIELD = re.compile(r'^([+-])(input-fingerprint|upstream-commit|manual-bump) = "?([^"]*)"?$')


@functools.lru_cache(maxsize=4)
def _lock_histories(top: Path, directory: str, head: str) -> dict[str, list[LockVersion | None]]:
    """The history of every lock file below ``directory``, oldest first, from ONE ``git log -p``.

    Reading each lock's history with its own ``git log`` and a ``git show`` per version costs
    thousands of git runs for a distribution of thousands of components; the patches of the whole
    directory hold the same facts. ``None`` marks a commit that deleted the file. ``head`` is part
    of the cache key only: a new commit means a new history.
    """
    del head
    histories: dict[str, list[LockVersion | None]] = {}
    state: dict[str, dict[str, str | None]] = {}
    for record in git.log_patches(top, directory).split("\x00")[1:]:
        header, _, patch = record.partition("\n")
        commit, author, email, when, subject = header.split("\x1f", 4)
        for name, deleted, fields in _changed_locks(patch):
            if deleted:
                histories.setdefault(name, []).append(None)
                state.pop(name, None)
                continue
            current = state.setdefault(name, {"input-fingerprint": None, "upstream-commit": None, "manual-bump": "0"})
            current.update(fields)
            histories.setdefault(name, []).append(LockVersion(
                commit, author, email, int(when), subject, current["input-fingerprint"],
                current["upstream-commit"], int(current["manual-bump"] or 0),
            ))
    return histories


def _changed_locks(patch: str) -> list[tuple[str, bool, dict[str, str | None]]]:
    """Per lock file in one commit's patch: its name, whether it was deleted, the fields it set."""
    changed: list[tuple[str, bool, dict[str, str | None]]] = []
    for chunk in _FILE_DIFF.split(patch)[1:]:
        lines = chunk.splitlines()
        name = lines[0].rsplit("/", 1)[-1]
        if not name.endswith(".lock"):
            continue
        deleted = any(line.startswith("deleted file mode") for line in lines[:4])
        fields: dict[str, str | None] = {}
        for line in lines:
            if line.startswith(("+++ ", "--- ")):
                continue
            match = _LOCK_FIELD.match(line)
            if match:
                sign, key, value = match.groups()
                if sign == "+":
                    fields[key] = value
                else:
                    fields.setdefault(key, "0" if key == "manual-bump" else None)
        changed.append((name, deleted, fields))
    return changed


@functools.lru_cache(maxsize=8)
def _head(top: Path) -> str:
    return git.run(["rev-parse", "HEAD"], cwd=top).stdout.decode().strip()


@functools.lru_cache(maxsize=8)
def _head_time(top: Path) -> int:
    return int(git.run(["log", "-1", "--format=%ct", "HEAD"], cwd=top).stdout.decode().strip())


@functools.lru_cache(maxsize=8)
def _repository(root: Path) -> Path | None:
    """The project's git work tree (asked once per process: every component renders in the same one)."""
    return git.toplevel(root)


@functools.lru_cache(maxsize=8)
def _shallow(top: Path) -> bool:
    return git.is_shallow(top)


def apply_release(
    project: Project, component: ResolvedComponent, tree: Path, spec_name: str, upstream: Resolution | None
) -> None:
    """Bump the Release tag as the component's calculation says, then expand rpmautospec's macros."""
    spec = tree / spec_name
    text = spec.read_text(encoding="utf-8", errors="surrogateescape")
    releases = release_tags(parse(text))
    autorelease = uses_autorelease(releases)
    uses_rpmautospec = autorelease or bool(AUTOCHANGELOG.search(text))
    calculation = component.release_calculation
    if calculation == "static" and autorelease:
        raise TribError(
            f"component {component.name!r}: release.calculation is 'static' but the spec's Release uses %autorelease",
            hint="use calculation 'auto' or 'autorelease'",
        )
    static = calculation == "static" or (calculation == "auto" and not autorelease)
    if not static and not uses_rpmautospec:
        return
    synthetic = fingerprint_changes(project, component)
    entries = changelog_overlays(component)
    if static and synthetic:
        text = _bump_static(component, text, len(synthetic), upstream)
        if entries and not AUTOCHANGELOG.search(text):
            text = restamp(text, [entry for _, entry in entries])
        atomic_write(spec, text.encode("utf-8", errors="surrogateescape"))
    if uses_rpmautospec:
        lock = read_lock(lock_path(project.lock_dir, component.name))
        if AUTOCHANGELOG.search(text):
            synthetic = synthetic + _entry_commits(project, component, entries, synthetic, upstream)
        _expand_with_history(tree, spec, synthetic, upstream, lock.import_commit if lock else None,
                             version_query(component_macros(component)))


def changelog_overlays(component: ResolvedComponent) -> list[tuple[int, SpecAddChangelog]]:
    """The component's spec-add-changelog overlays (with their index) and their text, as render applies them."""
    return [(index, cast(SpecAddChangelog, prepared(overlay, component.config)))
            for index, overlay in enumerate(component.config.overlays) if isinstance(overlay, SpecAddChangelog)]


def _entry_commits(project: Project, component: ResolvedComponent, entries: list[tuple[int, SpecAddChangelog]],
                   synthetic: list[SyntheticCommit], upstream: Resolution | None) -> list[SyntheticCommit]:
    """The changelog overlays' entries as the newest commits of the synthetic history, in order; one
    without a date takes the time of the commit before it, and none may be older than that commit."""
    previous = synthetic[-1].timestamp if synthetic else (_commit_time(upstream) if upstream else 0)
    commits = []
    for index, entry in entries:
        when = entry.when(previous)
        if when < previous - SECONDS_PER_DAY:
            raise OverlayError(
                f"component {component.name!r}: overlay #{index + 1} (spec-add-changelog): date "
                f"{entry.date} is older than the newest entry of the history before it "
                f"({dt.datetime.fromtimestamp(previous, dt.UTC).date()}); rpm wants %changelog newest first",
                where=project.overlay_location(component.name, index))
        previous = max(when, previous)
        try:
            text = entry.text_or_error()
        except OverlayError as error:
            error.message = f"component {component.name!r}: overlay #{index + 1} (spec-add-changelog): {error.message}"
            raise error.at(project.overlay_location(component.name, index)) from None
        name, _, email = entry.author.rpartition(" <")
        commits.append(SyntheticCommit(commit_message(text), name, email.rstrip(">"), previous,
                                       None, None))
    return commits


def _commit_time(upstream: Resolution) -> int:
    return gitlib.commit_time(upstream.mirror.path, upstream.commit)


def _bump_static(component: ResolvedComponent, text: str, count: int, upstream: Resolution | None) -> str:
    if not release_tags(parse(text)):
        raise TribError(f"component {component.name!r}: the spec has no Release tag to bump",
                        hint="set release.calculation = 'manual'")
    try:
        return bump_release(text, count)
    except ReleaseBumpError as error:
        raise TribError(
            f"component {component.name!r}: cannot bump Release {error.value!r} by {count}: {error.reason}",
            where=_spec_line(component, upstream, text.split("\n")[error.index], error.index),
            hint="set release.calculation = 'manual' and give the Release with a spec-set-tag overlay",
        ) from None


def _spec_line(component: ResolvedComponent, upstream: Resolution | None, line: str, index: int) -> Location | str:
    """Where a line of the overlaid spec was written: the line of the local spec or of upstream's spec at
    the rendered commit when it is there unchanged, else the line of the spec after overlays."""
    original: str | None = None
    if component.local_spec is not None and component.local_spec.is_file():
        original = component.local_spec.read_text(encoding="utf-8", errors="surrogateescape")
    elif upstream is not None:
        package = upstream.source.package
        with contextlib.suppress(TribError):
            original = git.run(["show", f"{upstream.commit}:{package}.spec"],
                               git_dir=upstream.mirror.path).stdout.decode("utf-8", errors="surrogateescape")
    if original is not None:
        matches = [number for number, text in enumerate(original.split("\n"), start=1) if text.strip() == line.strip()]
        if len(matches) == 1:
            if component.local_spec is not None:
                return Location(component.local_spec, matches[0])
            assert upstream is not None
            return f"{redact(upstream.source.url)} {upstream.commit[:12]}:{upstream.source.package}.spec:{matches[0]}"
    return f"{component.name}.spec (after overlays):{index + 1}"


def _expand_with_history(
    tree: Path, spec: Path, synthetic: list[SyntheticCommit], upstream: Resolution | None, import_commit: str | None,
    query: rpmautospec.SpecQuery,
) -> None:
    repo = gitlib.scratch_repository((upstream.mirror.path / "objects") if upstream else None)
    head = _rebuild_history(repo, tree, synthetic, upstream, import_commit)
    rpmautospec.process(spec, query, history=rpmautospec.History(repo, head))


def _rebuild_history(
    repo: pygit2.Repository, tree: Path, synthetic: list[SyntheticCommit], upstream: Resolution | None,
    import_commit: str | None,
) -> str:
    """Write the rebuilt history into ``repo``; return its last commit, which holds ``tree``."""
    rendered_tree = gitlib.write_work_tree(repo, tree)
    if upstream is None:
        initial = _raw_commit(gitlib.empty_tree(repo), None, ("tributary", "tributary@local", 0), "Initial sources\n")
        kept, replay = [gitlib.write_commit(repo, initial)], []
    else:
        history = gitlib.first_parent_history(upstream.mirror.path, upstream.commit)
        split = history.index(import_commit) + 1 if import_commit in history else len(history)
        kept, replay = history[:split], history[split:]
    newest = (replay or kept)[-1]
    after: dict[str, list[SyntheticCommit]] = {}
    on_top: list[SyntheticCommit] = []
    for entry in synthetic:
        anchor = entry.upstream_commit
        if anchor and anchor != newest and (anchor == kept[-1] or anchor in replay):
            after.setdefault(anchor, []).append(entry)
        else:
            on_top.append(entry)  # made on the newest upstream commit, a local spec, or a commit history lost
    steps: list[str | SyntheticCommit] = list(after.get(kept[-1], []))
    for commit in replay:
        steps += [commit, *after.get(commit, [])]
    steps += on_top
    if not steps:
        # Nothing to add: the newest commit itself carries the rendered tree, so nothing is bumped.
        newest_commit = gitlib.read_commit(repo, kept[-1])
        return gitlib.write_commit(repo, _with_tree(newest_commit, rendered_tree, keep_parents=True))
    parent = kept[-1]
    for index, step in enumerate(steps):
        tree_id = rendered_tree if index == len(steps) - 1 else None
        if isinstance(step, SyntheticCommit):
            raw = _raw_commit(
                tree_id or _tree_of(repo, parent), parent, (step.author, step.email, step.timestamp), step.message
            )
        else:
            raw = _with_tree(gitlib.read_commit(repo, step), tree_id, keep_parents=False, parent=parent)
        parent = gitlib.write_commit(repo, raw)
    return parent


def _raw_commit(tree: str, parent: str | None, who: tuple[str, str, int], message: str) -> bytes:
    name, email, when = who
    lines = [f"tree {tree}"]
    if parent:
        lines.append(f"parent {parent}")
    lines += [f"author {name} <{email}> {when} +0000", f"committer {name} <{email}> {when} +0000", "", message]
    return "\n".join(lines).encode()


def _tree_of(repo: pygit2.Repository, commit: str) -> str:
    return gitlib.read_commit(repo, commit).split(b"\n", 1)[0].split(b" ", 1)[1].decode()


def _with_tree(raw: bytes, tree: str | None, *, keep_parents: bool, parent: str | None = None) -> bytes:
    """A copy of a commit object with another tree and/or parent (signatures dropped: they would lie)."""
    header, _, message = raw.partition(b"\n\n")
    lines: list[bytes] = []
    for line in header.split(b"\n"):
        if line.startswith((b"gpgsig", b" ")) or (line.startswith(b"parent ") and not keep_parents):
            continue
        if line.startswith(b"tree ") and tree is not None:
            line = f"tree {tree}".encode()
        lines.append(line)
        if line.startswith(b"tree ") and parent is not None:
            lines.append(f"parent {parent}".encode())
    return b"\n".join(lines) + b"\n\n" + message
