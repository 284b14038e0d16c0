"""Which upstream commit a component uses (azldev's order, reference section 3.1).

1. a locked commit (from the component's lock file, once locks exist), else the configuration's
   ``spec.upstream-commit`` pin;
2. else the distro's snapshot: the newest commit on the branch's *first-parent* line whose committer
   date is at or before the snapshot, so a merged side branch with old dates cannot be picked;
3. else the branch head.

A locked or pinned commit must be on the branch. A commit that exists in the mirror but is no longer
reachable from the branch is the signature of upstream rewriting history; using it would silently
build from a commit upstream has abandoned, so it is an error that says how to move on. For a locked
commit (one tributary itself resolved from that branch) the error is ``HistoryRewritten``: a
supply-chain signal that fails a check, and that only ``comp update --accept-rewritten-history``
moves past.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from tributary.config.model import parse_snapshot
from tributary.tools import gitlib
from tributary.upstream.distgit import Mirror
from tributary.upstream.errors import CommitNotFound, HistoryRewritten, UpstreamError
from tributary.upstream.uri import redact

LOCKED = "locked"
PINNED = "pinned"
SNAPSHOT = "snapshot"
HEAD = "head"

_HEX = re.compile(r"^[0-9a-f]{4,40}$")
_SHOWN_CANDIDATES = 5


@dataclass(frozen=True)
class ChosenCommit:
    """A full commit id and why it was chosen (``locked``, ``pinned``, ``snapshot`` or ``head``)."""

    commit: str
    reason: str


def choose_commit(mirror: Mirror, branch: str, *, locked: str | None = None, pinned: str | None = None,
                  snapshot: str | datetime | None = None, tip: str | None = None) -> ChosenCommit:
    """The commit to use from ``mirror``'s copy of ``branch`` (the caller updates the mirror first, and
    may pass the ``tip`` it already read)."""
    tip = tip or mirror.tip(branch)
    if tip is None:
        raise UpstreamError(f"branch {branch!r} of {redact(mirror.url)} is not in the local mirror {mirror.path}",
                            hint="update the mirror first")
    if locked:
        return ChosenCommit(find_on_branch(mirror, branch, locked, reason=LOCKED), LOCKED)
    if pinned:
        return ChosenCommit(find_on_branch(mirror, branch, pinned, reason=PINNED), PINNED)
    if snapshot is not None:
        when = snapshot_time(snapshot)
        found = gitlib.newest_before(mirror.path, f"refs/heads/{branch}", when)
        if found is None:
            raise UpstreamError(
                f"no commit on branch {branch!r} of {redact(mirror.url)} is at or before the snapshot "
                f"{_show(snapshot)}", hint="the package is newer than the snapshot: move the snapshot or pin a commit")
        return ChosenCommit(found, SNAPSHOT)
    return ChosenCommit(tip, HEAD)


def snapshot_time(snapshot: str | datetime) -> int:
    """The snapshot as a Unix time; fractions are dropped, since git's commit dates are whole seconds."""
    moment = parse_snapshot(snapshot) if isinstance(snapshot, str) else snapshot
    if moment.tzinfo is None:
        raise UpstreamError(f"snapshot {snapshot} has no time-zone offset")
    return int(moment.timestamp() // 1)


def find_on_branch(mirror: Mirror, branch: str, commit: str, *, reason: str = PINNED) -> str:
    """The one commit on ``branch`` whose id starts with ``commit`` (a 4-40 digit hex prefix).

    Only commits reachable from the branch count, so a prefix is judged unique among them, not among
    every object the mirror happens to hold.
    """
    what = "locked upstream-commit" if reason == LOCKED else "upstream-commit"
    prefix = commit.lower()
    shown = redact(mirror.url)
    if not _HEX.match(prefix):
        raise UpstreamError(f"{what} {commit!r} is not a commit id (4 to 40 hexadecimal digits)")
    ref = f"refs/heads/{branch}"
    exists = True
    if len(prefix) == 40:
        on_branch = gitlib.ancestry(mirror.path, prefix, ref)
        candidates = [prefix] if on_branch else []
        exists = on_branch is not None
    else:
        candidates = [c for c in gitlib.reachable(mirror.path, ref) if c.startswith(prefix)]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        listed = ", ".join(c[:12] for c in candidates[:_SHOWN_CANDIDATES])
        raise UpstreamError(f"{what} {commit!r} is ambiguous on branch {branch!r} of {shown}: it starts "
                            f"{len(candidates)} commits ({listed})", hint="write more digits of the commit id")
    if reason == LOCKED:
        raise HistoryRewritten(
            f"{what} {commit} is no longer on branch {branch!r} of {shown}: upstream rewrote the branch's history "
            "(a force-push)", hint="review what upstream changed, then run 'trib comp update NAME "
                                   "--accept-rewritten-history' to lock the branch as it is now")
    hint = f"pin a commit that is on branch {branch!r} (spec.upstream-commit), or remove the pin to follow the snapshot"
    if exists and (len(prefix) == 40 or gitlib.has_object(mirror.path, prefix)):
        raise CommitNotFound(
            f"{what} {commit} is not on branch {branch!r} of {shown}: the mirror has it, so upstream has "
            "rewritten the branch's history or the commit belongs to another branch", hint=hint)
    raise CommitNotFound(f"{what} {commit} does not exist on branch {branch!r} of {shown}", hint=hint)


def _show(snapshot: str | datetime) -> str:
    return snapshot if isinstance(snapshot, str) else snapshot.isoformat()
