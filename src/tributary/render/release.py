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
   work tree is clean (rpmautospec would otherwise add a bump dated today).
3. **Release**: ``manual`` and ``autorelease`` leave the Release tag alone; ``static`` adds the number
   of synthetic commits to a plain ``N%{?dist}``; ``auto`` leaves ``%autorelease`` to rpmautospec and
   treats anything else as ``static``. rpmautospec then expands ``%autorelease`` and
   ``%autochangelog`` from the rebuilt history.

With no project repository, no lock committed, or no fingerprint change, there are no synthetic commits
and no bump.
"""

from __future__ import annotations

import functools
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from tributary.config import Project, ResolvedComponent
from tributary.config.model import Overlay
from tributary.errors import TribError
from tributary.fsutil import atomic_write
from tributary.overlays import apply_spec_overlay
from tributary.spec import parse
from tributary.tools import git, rpmautospec
from tributary.upstream.checkout import Resolution
from tributary.upstream.fingerprint import input_fingerprint
from tributary.upstream.lock import lock_path, parse_lock, read_lock

AUTORELEASE = re.compile(r"%(?:\{\??)?autorelease\b")
AUTOCHANGELOG = re.compile(r"^%autochangelog\s*$", re.MULTILINE)
STATIC_RELEASE = re.compile(r"^(\d+)(%\{\??dist\})?$")
UNCOMMITTED = "Local changes (uncommitted)"
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
        return []  # no lock, so no committed history of one (and no git call per component)
    top = _repository(project.root)
    if top is None:
        return []
    if _shallow(top):
        raise TribError(
            f"component {component.name!r}: release numbers come from the project's history, and this clone is shallow",
            hint="fetch the full history (git fetch --unshallow)",
        )
    relative = str(path.resolve().relative_to(top))
    changes: list[SyntheticCommit] = []
    previous: str | None = None
    head_lock = None
    for commit, author, email, when, subject in git.file_log(top, relative):
        data = git.show_file(top, commit, relative)
        if data is None:  # the lock was deleted in this commit
            previous = None
            continue
        head_lock = parse_lock(data.decode(), where=f"{commit[:12]}:{relative}")
        if head_lock.input_fingerprint != previous:
            changes.append(SyntheticCommit(subject, author, email, when, commit, head_lock.upstream_commit))
            previous = head_lock.input_fingerprint
    if head_lock is None or git.show_file(top, "HEAD", relative) is None:
        return []  # never committed (or removed at HEAD): no history, no bump
    current = input_fingerprint(project, component, upstream_commit=head_lock.upstream_commit, manual_bump=head_lock.manual_bump)
    if current != head_lock.input_fingerprint:
        head_time = int(git.run(["log", "-1", "--format=%ct", "HEAD"], cwd=top).stdout.decode().strip())
        changes.append(SyntheticCommit(UNCOMMITTED, *LOCAL_AUTHOR, head_time, None, None))
    return changes


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
    release = _main_release(text)
    uses_rpmautospec = bool(AUTORELEASE.search(release or "")) or bool(AUTOCHANGELOG.search(text))
    calculation = component.release_calculation
    if calculation == "static" and release and AUTORELEASE.search(release):
        raise TribError(f"component {component.name!r}: release.calculation is 'static' but the spec's Release uses %autorelease",
                        hint="use calculation 'auto' or 'autorelease'")
    static = calculation == "static" or (calculation == "auto" and not AUTORELEASE.search(release or ""))
    if not static and not uses_rpmautospec:
        return
    synthetic = fingerprint_changes(project, component)
    if static and synthetic:
        text = _bump_static(component, text, release, len(synthetic))
        atomic_write(spec, text.encode("utf-8", errors="surrogateescape"))
    if uses_rpmautospec:
        lock = read_lock(lock_path(project.lock_dir, component.name))
        _expand_with_history(tree, spec, synthetic, upstream, lock.import_commit if lock else None)


def _main_release(text: str) -> str | None:
    document = parse(text)
    for section in document.sections:
        if section.name == "":
            for tag in document.tags(section):
                if tag.is_named("Release"):
                    return tag.value
    return None


def _bump_static(component: ResolvedComponent, text: str, release: str | None, count: int) -> str:
    match = STATIC_RELEASE.match(release or "")
    if match is None:
        raise TribError(
            f"component {component.name!r}: cannot bump Release {release!r} automatically (not of the form N%{{?dist}})",
            hint="set release.calculation = 'manual' and give the Release with a spec-set-tag overlay",
        )
    value = f"{int(match.group(1)) + count}{match.group(2) or ''}"
    return apply_spec_overlay(text, Overlay.model_validate({"type": "spec-update-tag", "tag": "Release", "value": value}))


def _expand_with_history(
    tree: Path, spec: Path, synthetic: list[SyntheticCommit], upstream: Resolution | None, import_commit: str | None
) -> None:
    git_dir = git.init_work_tree(tree, alternates=(upstream.mirror.path / "objects") if upstream else None)
    try:
        head = _rebuild_history(git_dir, tree, synthetic, upstream, import_commit)
        git.set_head(git_dir, tree, head)
        rpmautospec.process(spec)
    finally:
        shutil.rmtree(git_dir, ignore_errors=True)


def _rebuild_history(
    git_dir: Path, tree: Path, synthetic: list[SyntheticCommit], upstream: Resolution | None, import_commit: str | None
) -> str:
    """Write the rebuilt history into ``git_dir``; return its last commit, which holds ``tree``."""
    rendered_tree = git.snapshot_tree(git_dir, tree)
    if upstream is None:
        initial = _raw_commit(_empty_tree(git_dir), None, ("tributary", "tributary@local", 0), "Initial sources\n")
        kept, replay = [git.write_commit(git_dir, initial)], []
    else:
        history = git.first_parent_history(upstream.mirror.path, upstream.commit)
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
        return git.write_commit(git_dir, _with_tree(git.commit_object(git_dir, kept[-1]), rendered_tree, keep_parents=True))
    parent = kept[-1]
    for index, step in enumerate(steps):
        tree_id = rendered_tree if index == len(steps) - 1 else None
        if isinstance(step, SyntheticCommit):
            raw = _raw_commit(tree_id or _tree_of(git_dir, parent), parent, (step.author, step.email, step.timestamp), step.message)
        else:
            raw = _with_tree(git.commit_object(git_dir, step), tree_id, keep_parents=False, parent=parent)
        parent = git.write_commit(git_dir, raw)
    return parent


def _raw_commit(tree: str, parent: str | None, who: tuple[str, str, int], message: str) -> bytes:
    name, email, when = who
    lines = [f"tree {tree}"]
    if parent:
        lines.append(f"parent {parent}")
    lines += [f"author {name} <{email}> {when} +0000", f"committer {name} <{email}> {when} +0000", "", message]
    return "\n".join(lines).encode()


def _empty_tree(git_dir: Path) -> str:
    return git.run(["hash-object", "-t", "tree", "-w", "--stdin"], git_dir=git_dir, input=b"").stdout.decode().strip()


def _tree_of(git_dir: Path, commit: str | None) -> str:
    if commit is None:
        return _empty_tree(git_dir)
    raw = git.commit_object(git_dir, commit)
    return raw.split(b"\n", 1)[0].split(b" ", 1)[1].decode()


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
