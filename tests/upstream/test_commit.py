"""Commit choice (reference section 3.1): locked, else pinned, else snapshot (first-parent), else head.

greet's four upstream commits are dated 2025-01-20, 2025-02-10, 2025-03-24 08:45 and 2025-04-14.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tributary.upstream.checkout import resolve_upstream
from tributary.upstream.commit import (
    HEAD,
    LOCKED,
    PINNED,
    SNAPSHOT,
    choose_commit,
    find_on_branch,
)
from tributary.upstream.distgit import Mirror
from tributary.upstream.errors import CommitNotFound, HistoryRewritten, UpstreamError

INITIAL, ENV_NAME, UPDATE_1_1, CHECK = (
    "df2d1ede619324b775ba7581fa7bd60ff391411d",
    "a0450aa6d35979c6e7e0f6a54f1bfe2ec901d320",
    "19720cc056330ae973def5b7d46833219abfb5aa",
    "8a703d672120f80ce19dbe4ea275515d3ef949cc",
)


@pytest.fixture
def greet(example_upstream, tmp_path) -> Mirror:
    assert example_upstream.commits("greet") == [INITIAL, ENV_NAME, UPDATE_1_1, CHECK]
    mirror = Mirror.for_url(f"file://{example_upstream.git_dir('greet')}", tmp_path / "cache")
    mirror.update("f43")
    return mirror


def test_no_pin_and_no_snapshot_takes_the_branch_head(greet):
    chosen = choose_commit(greet, "f43")
    assert (chosen.commit, chosen.reason) == (CHECK, HEAD)


@pytest.mark.parametrize("pin", [ENV_NAME, ENV_NAME[:7], ENV_NAME[:7].upper(), ENV_NAME[:12]])
def test_a_pin_full_or_short_resolves_to_the_full_commit(greet, pin):
    chosen = choose_commit(greet, "f43", pinned=pin, snapshot="2025-01-21T00:00:00Z")
    assert (chosen.commit, chosen.reason) == (ENV_NAME, PINNED)  # the pin wins over the snapshot


def test_a_locked_commit_wins_over_the_pin(greet):
    chosen = choose_commit(greet, "f43", locked=UPDATE_1_1, pinned=ENV_NAME)
    assert (chosen.commit, chosen.reason) == (UPDATE_1_1, LOCKED)


@pytest.mark.parametrize(
    ("snapshot", "expected"),
    [
        ("2025-03-01T00:00:00Z", ENV_NAME),  # between the second and third commit
        ("2025-04-01T00:00:00Z", UPDATE_1_1),  # the example distro's snapshot
        ("2025-03-24T08:45:00Z", UPDATE_1_1),  # exactly at the commit: "at or before"
        ("2025-03-24T08:44:59Z", ENV_NAME),  # one second earlier
        ("2025-03-24T10:45:00+02:00", UPDATE_1_1),  # the same moment with an offset
        ("2025-03-24T08:45:00.900Z", UPDATE_1_1),  # fractions of a second
        ("2026-01-01T00:00:00Z", CHECK),
    ],
)
def test_the_snapshot_takes_the_last_commit_at_or_before_it(greet, snapshot, expected):
    chosen = choose_commit(greet, "f43", snapshot=snapshot)
    assert (chosen.commit, chosen.reason) == (expected, SNAPSHOT)


def test_the_snapshot_may_be_a_datetime(greet):
    moment = datetime(2025, 2, 10, 17, 20, tzinfo=timezone(timedelta(hours=1)))  # 16:20 UTC, the commit itself
    assert choose_commit(greet, "f43", snapshot=moment).commit == ENV_NAME


def test_a_snapshot_before_the_first_commit_is_an_error(greet):
    with pytest.raises(UpstreamError, match=r"no commit on branch 'f43' of file://.*greet.git is at or before the "
                                            r"snapshot 2025-01-01T00:00:00Z"):
        choose_commit(greet, "f43", snapshot="2025-01-01T00:00:00Z")


def test_a_pin_that_does_not_exist_names_the_commit_and_the_url(greet):
    with pytest.raises(CommitNotFound, match=r"upstream-commit 0123456789ab does not exist on branch 'f43' of "
                                             r"file://.*/greet.git") as info:
        choose_commit(greet, "f43", pinned="0123456789ab")
    assert "pin a commit that is on branch 'f43'" in str(info.value)


def test_a_pin_that_is_not_a_commit_id_is_refused(greet):
    with pytest.raises(UpstreamError, match="is not a commit id"):
        choose_commit(greet, "f43", pinned="HEAD~1")


def test_a_locked_commit_that_is_gone_says_history_was_rewritten(greet):
    with pytest.raises(HistoryRewritten, match="locked upstream-commit f{40} is no longer on branch 'f43'") as info:
        choose_commit(greet, "f43", locked="f" * 40)
    assert info.value.exit_code == 1  # a failed check, not bad input
    assert "--accept-rewritten-history" in (info.value.hint or "")


def test_first_parent_snapshot_skips_commits_of_a_merged_side_branch(tmp_path):
    """A side branch merged in April with a commit dated in February must not be what a March
    snapshot picks: on the first-parent line the newest commit before March is the January one."""
    repo = tmp_path / "up.git"
    stream = b"".join([
        _commit(1, "refs/heads/f43", "2025-01-01", None),
        _commit(2, "refs/heads/side", "2025-02-01", ":1"),
        _commit(3, "refs/heads/f43", "2025-04-01", ":1", merge=":2"),
    ])
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    subprocess.run(["git", f"--git-dir={repo}", "fast-import", "--quiet"], input=stream + b"done\n", check=True)
    mirror = Mirror.for_url(str(repo), tmp_path / "cache")
    mirror.update("f43")
    first = _rev(repo, "f43~1")
    assert choose_commit(mirror, "f43", snapshot="2025-03-01T00:00:00Z").commit == first
    side = _rev(repo, "side")
    assert choose_commit(mirror, "f43", pinned=side).commit == side  # reachable through the merge


def test_an_ambiguous_short_pin_lists_the_candidates(tmp_path):
    """Among 1,200 commits two share their first four hex digits; that prefix names neither."""
    repo = tmp_path / "many.git"
    stream = b"".join(_commit(n, "refs/heads/f43", f"2025-01-01T00:00:{n % 60:02d}", f":{n - 1}" if n > 1 else None)
                      for n in range(1, 1201))
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    subprocess.run(["git", f"--git-dir={repo}", "fast-import", "--quiet"], input=stream + b"done\n", check=True)
    mirror = Mirror.for_url(str(repo), tmp_path / "cache")
    mirror.update("f43")
    seen: dict[str, str] = {}
    pair = None
    for commit in _revs(repo, "f43"):
        if commit[:4] in seen:
            pair = (seen[commit[:4]], commit)
            break
        seen[commit[:4]] = commit
    assert pair is not None
    with pytest.raises(UpstreamError, match=rf"'{pair[0][:4]}' is ambiguous .* 2 commits") as info:
        find_on_branch(mirror, "f43", pair[0][:4])
    assert pair[0][:12] in str(info.value) and pair[1][:12] in str(info.value)
    assert find_on_branch(mirror, "f43", pair[1][:12]) == pair[1]


# --- a real history rewrite, seen through a project ------------------------------------------------------


def test_rewritten_upstream_history(upstream, maintainer, example_project, http_server, tmp_path):
    """Upstream force-pushes a rewritten f43 (as Fedora once did); greet's pin is then gone from it.

    Rendering from an existing mirror still works (the pinned commit's content is there and pins
    the result), but ``comp update`` (refresh) fetches, sees the rewrite and says what to do; a
    fresh cache cannot find the commit at all.
    """
    shutil.copytree(upstream.root / "git", http_server.root / "git")
    bare = http_server.root / "git" / "greet.git"
    project = example_project(f"{http_server.url}/git/$pkg.git")
    greet = project.resolve("greet")
    assert greet.config.spec.upstream_commit == CHECK
    assert resolve_upstream(project, greet).commit == CHECK

    clone = maintainer(bare)
    clone.reset(UPDATE_1_1)
    rewritten = clone.commit({"greet.spec": (clone.work / "greet.spec").read_text() + "# reworded\n"},
                             "Run the upstream tests in %check (rewritten)", date="2025-04-14T11:10:00+00:00")
    clone.push(force=True)
    assert rewritten != CHECK

    asked = len(http_server.requests)
    kept = resolve_upstream(project, greet)
    assert (kept.commit, kept.reason) == (CHECK, PINNED)
    assert len(http_server.requests) == asked  # a full pin already mirrored needs no network

    with pytest.raises(CommitNotFound) as info:
        resolve_upstream(project, greet, refresh=True)
    message = str(info.value)
    assert f"upstream-commit {CHECK} is not on branch 'f43' of {http_server.url}/git/greet.git" in message
    assert "rewritten the branch's history" in message
    assert "component 'greet'" in message and "pin a commit" in message and "greet.comp.toml" in message

    following = resolve_upstream(project, project.resolve("libgreet"), refresh=True)
    assert following.reason == SNAPSHOT

    fresh = example_project(f"{http_server.url}/git/$pkg.git")
    fresh_work = tmp_path / "work"
    shutil.rmtree(fresh_work)
    with pytest.raises(CommitNotFound, match=rf"upstream-commit {CHECK} does not exist on branch 'f43'"):
        resolve_upstream(fresh, fresh.resolve("greet"))


def test_snapshot_components_fetch_each_time_pinned_ones_only_once(example_upstream, example_project,
                                                                    http_server):
    shutil.copytree(example_upstream.root / "git", http_server.root / "git")
    project = example_project(f"{http_server.url}/git/$pkg.git")
    resolve_upstream(project, project.resolve("greet"))
    resolve_upstream(project, project.resolve("libgreet"))
    greet_before, libgreet_before = http_server.count("/git/greet.git"), http_server.count("/git/libgreet.git")
    assert greet_before > 0 and libgreet_before > 0
    assert resolve_upstream(project, project.resolve("greet")).commit == CHECK
    snapshot = resolve_upstream(project, project.resolve("libgreet"))
    assert snapshot.reason == SNAPSHOT and snapshot.head == snapshot.commit
    assert http_server.count("/git/greet.git") == greet_before
    assert http_server.count("/git/libgreet.git") > libgreet_before


def test_offline_resolution_needs_an_existing_mirror(example_upstream, example_project):
    project = example_project(f"file://{example_upstream.root}/git/$pkg.git")
    with pytest.raises(UpstreamError, match="no local mirror of"):
        resolve_upstream(project, project.resolve("greet"), refresh=False)
    resolve_upstream(project, project.resolve("greet"))
    assert resolve_upstream(project, project.resolve("greet"), refresh=False).commit == CHECK


# --- helpers -------------------------------------------------------------------------------------------


def _commit(mark: int, ref: str, date: str, parent: str | None, *, merge: str | None = None) -> bytes:
    when = int(datetime.fromisoformat(date).replace(tzinfo=UTC).timestamp())
    message = f"commit {mark}\n".encode()
    lines = [f"commit {ref}", f"mark :{mark}", f"committer U <u@example.org> {when} +0000",
             f"data {len(message)}"]
    text = "\n".join(lines).encode() + b"\n" + message
    if parent:
        text += f"from {parent}\n".encode()
    if merge:
        text += f"merge {merge}\n".encode()
    return text + f"M 100644 inline file\ndata {len(str(mark))}\n{mark}\n\n".encode()


def _rev(repo: Path, revision: str) -> str:
    return subprocess.run(["git", f"--git-dir={repo}", "rev-parse", revision], capture_output=True, text=True,
                          check=True).stdout.strip()


def _revs(repo: Path, revision: str) -> list[str]:
    return subprocess.run(["git", f"--git-dir={repo}", "rev-list", revision], capture_output=True, text=True,
                          check=True).stdout.split()
