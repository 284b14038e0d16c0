"""Helpers for the upstream tests: a private copy of the Example Upstream to change, git run the way
an upstream maintainer would (clone, commit, push), and the example distro pointed at a test upstream."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tributary.config import Project, load_project

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def git_env(home: Path, date: str = "2025-05-01T12:00:00+00:00") -> dict[str, str]:
    """Git without the user's or the system's configuration, with fixed author and dates."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Up Stream",
        "GIT_AUTHOR_EMAIL": "up@example.org",
        "GIT_COMMITTER_NAME": "Up Stream",
        "GIT_COMMITTER_EMAIL": "up@example.org",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }


def git(*args: str | Path, cwd: Path | None = None, date: str = "2025-05-01T12:00:00+00:00") -> str:
    home = Path(cwd or ".").resolve()
    proc = subprocess.run(["git", *map(str, args)], cwd=cwd, env=git_env(home, date), capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(map(str, args))}: {proc.stderr}"
    return proc.stdout.strip()


class Maintainer:
    """Changes a bare upstream repository the way its maintainer would: in a clone, then push."""

    def __init__(self, bare: Path, work: Path, branch: str = "f43"):
        self.bare = bare
        self.branch = branch
        self.work = work
        git("clone", "--quiet", "--branch", branch, bare, work)

    def commit(self, files: dict[str, str], message: str, *, date: str = "2025-05-01T12:00:00+00:00") -> str:
        for name, text in files.items():
            (self.work / name).write_text(text)
        git("add", "-A", cwd=self.work)
        git("commit", "--quiet", "-m", message, cwd=self.work, date=date)
        return git("rev-parse", "HEAD", cwd=self.work)

    def reset(self, commit: str) -> None:
        git("reset", "--quiet", "--hard", commit, cwd=self.work)

    def push(self, *, force: bool = False) -> None:
        git("push", "--quiet", *(["--force"] if force else []), "origin", f"HEAD:{self.branch}", cwd=self.work)
        git("--git-dir", self.bare, "update-server-info")  # what a dumb-HTTP server needs after each push


@pytest.fixture
def upstream(example_upstream, tmp_path: Path):
    """A private copy of the Example Upstream (an ``ExampleUpstream``) that a test may change."""
    root = tmp_path / "upstream"
    shutil.copytree(example_upstream.root, root, symlinks=True)
    return dataclasses.replace(example_upstream, root=root)


@pytest.fixture
def maintainer(tmp_path: Path) -> Callable[[Path], Maintainer]:
    def make(bare: Path) -> Maintainer:
        return Maintainer(bare, tmp_path / f"clone-{bare.name}")

    return make


@pytest.fixture
def example_project(tmp_path: Path) -> Callable[..., Project]:
    """The example distro (examples/distro) with dist-git and lookaside pointed at a test upstream.

    Its work directory and rendered-specs directory are moved into ``tmp_path``; ``extra`` is more
    TOML appended to the override file (e.g. extra components).
    """

    def load(dist_git: str, lookaside: str | None = None, extra: str = "") -> Project:
        lines = [
            "[project]",
            f'work-dir = "{tmp_path / "work"}"',
            f'rendered-specs-dir = "{tmp_path / "specs"}"',
            "[distros.example-upstream]",
            f'dist-git-base-uri = "{dist_git}"',
        ]
        if lookaside is not None:
            lines.append(f'lookaside-base-uri = "{lookaside}"')
        override = tmp_path / "override.toml"
        override.write_text("\n".join(lines) + "\n" + extra)
        return load_project(EXAMPLES / "distro", extra_files=[override])

    return load
