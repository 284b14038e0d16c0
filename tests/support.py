"""Helpers shared by tests (not fixtures): a git with a fixed identity, the example distro copied."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tributary.config.project import Project
from tributary.tools import gpg

EXAMPLE_DISTRO = Path(__file__).resolve().parent.parent / "examples" / "distro"

def run_git(*args: str, cwd: Path, date: str = "2026-01-05T10:00:00+00:00", author: str = "Dev") -> str:
    """git with a fixed identity and date (so commits are reproducible), asserting it succeeds."""
    env = {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": f"{author.lower()}@tribex.invalid",
           "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": f"{author.lower()}@tribex.invalid",
           "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "HOME": str(cwd), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


@dataclass(frozen=True)
class ExampleDistro:
    """A copy of examples/distro whose dist-git points at a test's upstream through ``mirror``."""

    root: Path
    mirror: Path

    def args(self, *args: str) -> list[str]:
        """``trib`` arguments that select this copy and its upstream."""
        return ["-C", str(self.root), "--config-file", str(self.mirror), *args]

    def commit_all(self, message: str, **identity: str) -> None:
        run_git("add", "-A", cwd=self.root, **identity)
        run_git("commit", "-qm", message, cwd=self.root, **identity)


@dataclass(frozen=True)
class Published:
    """The example distribution built from clean and published unsigned to its ``channel`` (rpm-base)."""

    project: Project
    channel: Path


def copy_example_distro(directory: Path, upstream_root: Path, *, git_repository: bool = True,
                        lookaside: bool = False) -> ExampleDistro:
    """Copy the example distribution (without generated output or locks) next to a mirror override
    (dist-git, and with ``lookaside`` the lookaside store, read from ``upstream_root`` by file://)."""
    root = directory / "distro"
    shutil.copytree(EXAMPLE_DISTRO, root, ignore=shutil.ignore_patterns("specs", "out", "build", "locks"))
    mirror = directory / "mirror.toml"
    mirror.write_text(f'[distros.example-upstream]\ndist-git-base-uri = "file://{upstream_root}/git/$pkg.git"\n')
    if lookaside:
        with mirror.open("a") as handle:
            handle.write(f'lookaside-base-uri = "file://{upstream_root}/lookaside/$pkg/$filename/$hashtype/$hash/$filename"\n')
    distro = ExampleDistro(root, mirror)
    if git_repository:
        run_git("init", "-q", "-b", "main", cwd=root)
        distro.commit_all("Import the distribution", date="2026-01-01T09:00:00+00:00")
    return distro


@dataclass
class DistGitDistro:
    """The example distribution over a private copy of the Example Upstream, to which a test adds
    dist-git repositories (real git, read by file://) with the history it needs."""

    distro: ExampleDistro
    upstream: Path
    work: Path
    run: Callable[..., Any]

    def cli(self, *args: str) -> Any:
        return self.run(*self.distro.args(*args))

    def add_package(self, name: str, history: list[dict[str, str | None]], *, component: str = "",
                    messages: list[str] | None = None) -> list[str]:
        """A dist-git repository ``name`` (branch f43) whose commits write each dict of files in turn
        (None deletes a file), one a day from 2025-01-01 (before the distro's snapshot), and the
        component using it (``component`` is more TOML for its table); returns the commit ids."""
        work = self.work / f"dist-git-{name}"
        work.mkdir(parents=True)
        run_git("init", "-q", "-b", "f43", cwd=work)
        commits = []
        for day, files in enumerate(history, start=1):
            for relative, text in files.items():
                path = work / relative
                if text is None:
                    path.unlink()
                else:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text)
            run_git("add", "-A", cwd=work)
            message = messages[day - 1] if messages else f"Update {name} ({day})"
            run_git("commit", "-qm", message, cwd=work, date=f"2025-01-{day:02d}T12:00:00+00:00", author="Packager")
            commits.append(run_git("rev-parse", "HEAD", cwd=work))
        run_git("clone", "-q", "--bare", str(work), str(self.upstream / "git" / f"{name}.git"), cwd=self.work)
        with (self.distro.root / "base/comps/components.toml").open("a") as handle:
            handle.write(f"\n[components.{name}]\n{component}\n")
        return commits

    def lock_and_commit(self, *names: str, message: str = "Lock the components") -> None:
        """``comp update`` the components (all with none named) and commit the project."""
        result = self.cli("comp", "update", *(names or ("-a",)))
        assert result.code == 0, result.err
        self.distro.commit_all(message, date="2026-01-02T09:00:00+00:00", author="Ana")

    def rendered(self, name: str) -> Path:
        return self.distro.root / "specs" / name[0].lower() / name


@dataclass
class DnfRun:
    returncode: int
    output: str
    root: Path


def dnf_install_into(run: Path, repo_files: list[Path], *packages: str, options: tuple[str, ...] = ()) -> DnfRun:
    """``dnf install`` offline into the fresh root ``run/root``, with only the given ``.repo`` files configured.

    Returns once dnf is done and the gpg-agents it started are stopped. The host's dnf.conf and
    repositories are kept out (``--config``, ``reposdir``); HOME holds an ``.rpmmacros`` that puts the
    root's rpmdb where an RPM distribution keeps it. ``options`` go before ``install`` (``--setopt=...``).
    """
    home, root, reposdir = run / "home", run / "root", run / "repos.d"
    for directory in (home, root, reposdir):
        directory.mkdir(parents=True)
    (home / ".rpmmacros").write_text("%_dbpath /usr/lib/sysimage/rpm\n")
    for repo_file in repo_files:
        shutil.copy(repo_file, reposdir / repo_file.name)
    config = run / "dnf.conf"
    config.write_text("[main]\ninstall_weak_deps=False\ntsflags=nodocs\n")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(home), "LC_ALL": "C.UTF-8"}
    command = ["dnf", "-y", f"--config={config}", f"--installroot={root}", "--releasever=1",
               f"--setopt=reposdir={reposdir}", *options, "install", *packages]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          check=False, timeout=600)
    # repo_gpgcheck verifies through gpgme, which starts a gpg-agent for a key ring in the root's
    # cache and leaves it running.
    for keyring in root.glob("var/cache/dnf/*/pubring"):
        gpg.stop_agent(keyring)
    return DnfRun(proc.returncode, proc.stdout + proc.stderr, root)
