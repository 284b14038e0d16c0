"""tools.gitlib answers render and update's questions in process: each answer must be the one the git
program gives for the same repository (the release numbers and locks depend on them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import run_git

from tributary.tools import gitlib
from tributary.tools.git import GitError


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """A repository with a three-commit main line and a side branch merged into it."""
    work = tmp_path / "work"
    work.mkdir()
    run_git("init", "-q", "-b", "main", cwd=work)
    for day, text in ((1, "one"), (2, "two")):
        (work / "pkg.spec").write_text(f"Version: {text}\n")
        run_git("add", ".", cwd=work)
        run_git("commit", "-qm", text, cwd=work, date=f"2026-01-0{day}T10:00:00+00:00")
    run_git("checkout", "-qb", "side", cwd=work)
    (work / "side.patch").write_text("side\n")
    run_git("add", ".", cwd=work)
    run_git("commit", "-qm", "side", cwd=work, date="2026-01-03T10:00:00+00:00")
    run_git("checkout", "-q", "main", cwd=work)
    run_git("merge", "-q", "--no-ff", "-m", "merge side", "side", cwd=work, date="2026-01-04T10:00:00+00:00")
    return work


def test_history_questions_match_git(history: Path) -> None:
    git_dir = history / ".git"
    first_parent = run_git("rev-list", "--first-parent", "--reverse", "main", cwd=history).split()
    assert gitlib.first_parent_history(git_dir, first_parent[-1]) == first_parent
    assert sorted(gitlib.reachable(git_dir, "refs/heads/main")) == sorted(run_git("rev-list", "main", cwd=history).split())
    side = run_git("rev-parse", "side", cwd=history)
    assert side not in first_parent  # reachable through the merge only
    assert gitlib.ancestry(git_dir, side, "refs/heads/main") is True
    assert gitlib.ancestry(git_dir, first_parent[-1], "refs/heads/side") is False
    assert gitlib.ancestry(git_dir, "0" * 40, "refs/heads/main") is None
    when = 1767607200  # 2026-01-05T10:00:00Z: only the first two main-line commits are older
    expected = run_git("rev-list", "--first-parent", f"--before=@{when - 2 * 86400}", "--max-count=1", "main",
                       cwd=history)
    assert gitlib.newest_before(git_dir, "refs/heads/main", when - 2 * 86400) == expected == first_parent[1]
    assert gitlib.newest_before(git_dir, "refs/heads/main", 0) is None
    assert gitlib.has_object(git_dir, side[:7]) and not gitlib.has_object(git_dir, "ffff")
    with pytest.raises(GitError, match="no ref refs/heads/gone"):
        gitlib.newest_before(git_dir, "refs/heads/gone", when)


def test_tree_files_list_what_ls_tree_lists(history: Path) -> None:
    (history / "sub").mkdir()
    (history / "sub" / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(history / "sub" / "run.sh", 0o755)
    os.symlink("pkg.spec", history / "link.spec")
    run_git("add", ".", cwd=history)
    run_git("commit", "-qm", "more", cwd=history)
    listed = run_git("ls-tree", "-r", "HEAD", cwd=history).splitlines()
    files = gitlib.tree_files(history / ".git", "main")
    assert [f"{f.entry.mode} {f.entry.kind} {f.entry.oid}\t{f.entry.path}" for f in files] == listed
    assert {f.entry.path: f.data for f in files}["link.spec"] == b"pkg.spec"


def test_work_tree_ids_match_git_write_tree(history: Path, tmp_path: Path) -> None:
    """rpmautospec numbers releases over the rendered tree's id: it must be git's id for the same files."""
    (history / "empty").mkdir()  # git keeps no empty directory
    (history / "deep" / "er").mkdir(parents=True)
    (history / "deep" / "er" / "x.sh").write_text("x\n")
    os.chmod(history / "deep" / "er" / "x.sh", 0o700)
    os.symlink("../pkg.spec", history / "deep" / "link")
    run_git("add", "-A", "--force", ".", cwd=history)
    expected = run_git("write-tree", cwd=history)
    repo = gitlib.scratch_repository(history / ".git" / "objects")
    assert gitlib.write_work_tree(repo, history) == expected
    empty = tmp_path / "nothing"
    empty.mkdir()
    assert gitlib.write_work_tree(repo, empty) == run_git("hash-object", "-t", "tree", "/dev/null", cwd=history)


def test_scratch_repository_reads_its_alternates_and_short_ids(history: Path) -> None:
    """A scratch history's commits live in memory; the mirror's are read through the alternate; both are
    found by the short ids rpmautospec asks with."""
    git_dir = history / ".git"
    loose_before = sorted(p.name for p in (git_dir / "objects").glob("*/*"))
    repo = gitlib.scratch_repository(git_dir / "objects")
    head = run_git("rev-parse", "HEAD", cwd=history)
    raw = gitlib.read_commit(repo, head)
    assert raw.startswith(b"tree ")
    rewritten = gitlib.write_commit(repo, raw.replace(b"merge side", b"merge side, rewritten"))
    assert gitlib.read_commit(repo, rewritten).endswith(b"rewritten\n")
    assert str(repo.revparse_single(rewritten[:10]).id) == rewritten
    assert str(repo.revparse_single(head[:10]).id) == head
    assert sorted(p.name for p in (git_dir / "objects").glob("*/*")) == loose_before  # nothing reached the disk
    with pytest.raises(GitError, match="not a commit"):
        gitlib.read_commit(repo, gitlib.empty_tree(repo))
