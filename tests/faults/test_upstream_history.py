"""Upstream rewrote a branch (a force-push) so that it no longer holds a locked commit: a supply-chain
signal. ``update --check-only`` and ``update --force`` fail on it (exit 1) naming the commit, branch and
lock; every other component is still checked or locked; only ``--accept-rewritten-history`` moves the
lock, keeping its import-commit.

On fc1b5b1: ``update --check-only`` says "all 7 lock(s) are current" (exit 0) and ``update --force``
re-locks libgreet to the rewritten commit without a word (exit 0).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import ExampleDistro, components, copy_example_distro, run_git, run_trib, tree


@pytest.fixture
def rewritten(tmp_path: Path, example_upstream) -> tuple[ExampleDistro, str, str]:
    """A locked (and committed) distribution whose upstream then force-pushed libgreet's branch,
    replacing its locked commit by a reworded one; returns (distro, locked commit, rewritten commit)."""
    upstream = tmp_path / "upstream"
    shutil.copytree(example_upstream.root, upstream, symlinks=True)
    distro = copy_example_distro(tmp_path, upstream)
    code, _, err = run_trib(distro.args("comp", "update", "-a"))
    assert code == 0, err
    distro.commit_all("Lock every component")
    locked = example_upstream.commits("libgreet")[-1]
    assert f'upstream-commit = "{locked}"' in (distro.root / "locks/libgreet.lock").read_text()

    clone = tmp_path / "clone"
    run_git("clone", "-q", "--branch", "f43", str(upstream / "git/libgreet.git"), str(clone), cwd=tmp_path)
    run_git("reset", "-q", "--hard", "HEAD~1", cwd=clone)
    (clone / "libgreet.spec").write_text((clone / "libgreet.spec").read_text() + "# reworded upstream\n")
    run_git("commit", "-qam", "Reworded history", cwd=clone, date="2025-03-10T09:15:00+00:00")
    run_git("push", "-q", "--force", "origin", "HEAD:f43", cwd=clone)
    new = run_git("rev-parse", "HEAD", cwd=clone)
    return distro, locked, new


def _first_line(distro: ExampleDistro, locked: str) -> str:
    lock = distro.root / "locks/libgreet.lock"
    url = f"file://{distro.mirror.parent / 'upstream'}/git/libgreet.git"
    return (f"error: {lock}: component 'libgreet': locked upstream-commit {locked} is no longer on branch 'f43' of "
            f"{url}: upstream rewrote the branch's history (a force-push) (hint: review what upstream changed, then "
            "run 'trib comp update libgreet --accept-rewritten-history' to lock the branch as it is now)")


@pytest.mark.parametrize("flag", ["--check-only", "--force"])
def test_a_rewritten_branch_fails_update_and_keeps_the_lock(rewritten, flag: str) -> None:
    distro, locked, _ = rewritten
    before = tree(distro.root / "locks")
    code, _, err = run_trib(distro.args("comp", "update", "-a", flag))
    assert code == 1, err
    lines = err.splitlines()
    assert lines[0] == _first_line(distro, locked)
    done = "checked" if flag == "--check-only" else "locked"
    count = len(components(distro))
    assert lines[-1] == f"error: 1 of {count} component(s) failed; every other one was {done}: libgreet"
    assert tree(distro.root / "locks") == before  # the lock still names the commit the distribution reviewed


def test_only_accept_rewritten_history_moves_the_lock(rewritten) -> None:
    distro, locked, new = rewritten
    lock = distro.root / "locks/libgreet.lock"
    before = lock.read_text()
    code, out, err = run_trib(distro.args("-O", "json", "comp", "update", "libgreet", "--accept-rewritten-history"))
    assert code == 0, err
    row = json.loads(out)[0]
    assert (row["status"], row["upstreamCommit"], row["previousCommit"]) == ("resolved", new, locked)
    after = lock.read_text()
    assert f'upstream-commit = "{new}"' in after
    assert before.split("\n")[2] == after.split("\n")[2]  # import-commit kept: the history the release counts from
    assert run_trib(distro.args("comp", "update", "-a", "--check-only"))[0] == 0
