"""The root cache: buildroots made once with dnf, then shared read-only by every build that needs them.

A root is keyed by everything that decides its content: the repositories' metadata checksums, the
packages asked for, the release version and architecture, and the root it was made from. Two kinds:

* a **base root** holds a buildroot's package set (mock's ``chroot_setup_cmd``), made from nothing;
* a **build root** is a base root plus a component's BuildRequires. It starts as a copy of the base
  root in which every file is a hard link, except the trees that rpm and scriptlets write in place
  (``/etc``, ``/var`` and the rpm database), which are copied; dnf then installs into the copy, and
  rpm replaces files by renaming new ones over them, so the base root is never touched.

Builds bind a root read-only as ``/`` (``tributary.build.sandbox``), so a finished root never changes
and any number of builds may share it; a build whose BuildRequires the base root already satisfies
uses the base root itself. mock's root cache unpacks a tarball of the base root for every build
(seconds) and installs the BuildRequires every time; here the second build of a component costs
nothing but a lookup. Measured in benchmarks/buildroot.py (docs/PERFORMANCE.md).

Each root is made in a scratch directory beside its final place and renamed in, under a lock per key,
so concurrent builds make it once and an interrupted build leaves no half-made root: a scratch
directory left by a killed process is removed by the next one to take the lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tributary.build.buildroot import comps
from tributary.build.buildroot.repos import PinnedRepo
from tributary.errors import TribError
from tributary.fsutil import atomic_write, exclusive_lock
from tributary.tools import dnf, rpm

ROOT_FORMAT = "1"  # bump when a change here changes what a root holds
RPMDB = "usr/lib/sysimage/rpm"
# Written in place by rpm (its database) and by scriptlets: copied into a derived root, never linked.
COPIED_TREES = ("etc", "var", RPMDB)
# Where the sandbox mounts things: they must exist in a root that is bound read-only.
MOUNTPOINTS = ("build", "proc", "dev", "sys", "tmp", "var/tmp", "run")
# What dnf leaves behind that no build needs and that would differ from one assembly to the next.
DNF_LEFTOVERS = ("var/cache/dnf", "var/lib/dnf", "var/log/dnf.log", "var/log/dnf.librepo.log",
                 "var/log/dnf.rpm.log", "var/log/hawkey.log")
LOCK_TIMEOUT = 3600.0
"""Seconds to wait for another process making the same root (a big root over a slow mirror)."""


class BuildrootError(TribError):
    """A buildroot cannot be assembled."""


class UnsatisfiableError(BuildrootError):
    """Packages or capabilities that no repository of the buildroot provides."""

    exit_code = 1

    def __init__(self, what: str, capabilities: Sequence[str], repos: Sequence[PinnedRepo], *, where: str | None = None,
                 detail: str = ""):
        searched = ", ".join(f"{repo.id} ({repo.url})" for repo in repos) or "none"
        listed = ", ".join(repr(capability) for capability in capabilities)
        super().__init__(f"{what} {listed}: provided by no package of the repositories searched: {searched}"
                         + (f"; {detail}" if detail else ""), where=where,
                         hint="build the component that provides it first, or add a repository that has it")
        self.capabilities = list(capabilities)


@dataclass(frozen=True)
class RootRecipe:
    """What decides a root's content; ``parent`` is the key of the root it starts from."""

    arch: str
    releasever: str
    repos: tuple[PinnedRepo, ...]
    packages: tuple[str, ...]
    parent: str | None = None

    @property
    def key(self) -> str:
        inputs = {
            "format": ROOT_FORMAT,
            "arch": self.arch,
            "releasever": self.releasever,
            "repos": [[r.id, r.checksum, r.gpgcheck, sorted(r.gpgkeys), r.priority, sorted(r.excludes)]
                      for r in self.repos],
            "packages": sorted(self.packages),
            "parent": self.parent,
        }
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Root:
    """A finished root in the cache: read-only, shared. ``installed`` is its exact package list (NEVRA)."""

    key: str
    path: Path
    installed: tuple[str, ...]
    recipe: RootRecipe


class RootCache:
    """Roots under ``directory``: ``<key>/`` the tree, ``<key>.json`` its record (written last).

    ``locate`` says where dnf reads a repository on this machine: a Dask worker reads the client's
    ``file://`` repositories from verified local copies (``tributary.build.worker``). The recipes, and
    so the keys and records, keep the repositories as the build plan names them.
    """

    def __init__(self, directory: Path, *, lock_timeout: float = LOCK_TIMEOUT,
                 locate: Callable[[PinnedRepo], PinnedRepo] | None = None):
        self.directory = directory
        self.lock_timeout = lock_timeout
        self.locate = locate
        # Recipes dnf could not satisfy, kept for this process so every build does not ask again.
        self._unsatisfiable: dict[str, UnsatisfiableError] = {}

    def lookup(self, recipe: RootRecipe) -> Root | None:
        return self._read(recipe)

    def get(self, recipe: RootRecipe, *, parent: Root | None = None, log: BinaryIO | None = None,
            what: str = "buildroot packages", where: str | None = None) -> Root:
        """The root for ``recipe``, made now (from ``parent``, when given) unless the cache has it."""
        if (recipe.parent is None) != (parent is None) or (parent and parent.key != recipe.parent):
            raise ValueError("a recipe's parent and the parent root given must agree")
        found = self._read(recipe)
        if found is not None:
            return found
        if recipe.key in self._unsatisfiable:
            raise self._unsatisfiable[recipe.key]
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._locked(recipe.key):
            found = self._read(recipe)
            if found is not None:
                return found
            try:
                return self._make(recipe, parent, log, what=what, where=where)
            except UnsatisfiableError as error:
                self._unsatisfiable[recipe.key] = error
                raise

    def _read(self, recipe: RootRecipe) -> Root | None:
        key = recipe.key
        try:
            record = json.loads((self.directory / f"{key}.json").read_text())
        except (FileNotFoundError, ValueError):
            return None
        path = self.directory / key
        if not path.is_dir():
            return None
        with contextlib.suppress(OSError):
            os.utime(self.directory / f"{key}.json")  # the last use, for pruning
        return Root(key, path, tuple(record.get("installed", [])), recipe)

    def _locked(self, key: str) -> contextlib.AbstractContextManager[None]:
        """Hold ``<key>.lock`` while making or removing that root."""
        return exclusive_lock(self.directory / f"{key}.lock", timeout=self.lock_timeout, busy=lambda: BuildrootError(
            f"another process has been making root {key} for more than {self.lock_timeout:g} s",
            where=str(self.directory)))

    def _make(self, recipe: RootRecipe, parent: Root | None, log: BinaryIO | None, *, what: str,
              where: str | None) -> Root:
        key = recipe.key
        for leftover in self.directory.glob(f".{key}.*"):  # from a process killed while making it
            shutil.rmtree(leftover, ignore_errors=True)
        scratch = self.directory / f".{key}.{os.getpid()}.new"
        scratch.mkdir()
        try:
            tree = scratch / "root"
            if parent is not None:
                clone_root(parent.path, tree)
            else:
                tree.mkdir()
            if recipe.packages:
                self._install(tree, recipe, scratch / "home", log, what=what, where=where)
            finish_root(tree)
            installed = tuple(package.nevra for package in rpm.query_all(tree / RPMDB))
            os.rename(tree, self.directory / key)
            record = {"key": key, "arch": recipe.arch, "releasever": recipe.releasever, "parent": recipe.parent,
                      "packages": sorted(recipe.packages), "repos": [repo.to_json() for repo in recipe.repos],
                      "installed": list(installed)}
            atomic_write(self.directory / f"{key}.json", json.dumps(record, indent=1) + "\n")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return Root(key, self.directory / key, installed, recipe)

    def _install(self, tree: Path, recipe: RootRecipe, home: Path, log: BinaryIO | None, *, what: str,
                 where: str | None) -> None:
        located = [self.locate(repo) if self.locate else repo for repo in recipe.repos]
        options = [dnf.RepoOption(r.id, r.url, r.gpgcheck, r.gpgkeys, r.priority, r.excludes) for r in located]
        packages, unknown_groups = comps.expand(recipe.packages, located)  # dnf's own group lookup can crash
        if unknown_groups:
            raise UnsatisfiableError(what, unknown_groups, recipe.repos, where=where)
        try:
            output = dnf.install(tree, packages, releasever=recipe.releasever, arch=recipe.arch,
                                 repos=options, home=dnf.rpm_home(home))
        except dnf.DnfError as error:
            if log is not None:
                log.write(error.output.encode())
            if error.unmatched:
                raise UnsatisfiableError(what, error.unmatched, recipe.repos, where=where) from None
            if error.missing:
                raise UnsatisfiableError(what, error.missing, recipe.repos, where=where) from None
            raise BuildrootError(f"cannot assemble the root: {error.message}", where=where) from error
        if log is not None:
            log.write(output.encode())

    def prune(self, keep: int) -> list[str]:
        """Remove all but the ``keep`` most recently used roots (and any scratch left by a killed process)."""
        if not self.directory.is_dir():
            return []
        records = sorted(self.directory.glob("*.json"), key=lambda path: path.stat().st_mtime, reverse=True)
        removed = []
        for record in records[keep:]:
            key = record.stem
            with self._locked(key):
                record.unlink(missing_ok=True)
                shutil.rmtree(self.directory / key, ignore_errors=True)
            (self.directory / f"{key}.lock").unlink(missing_ok=True)
            removed.append(key)
        return removed


def clone_root(source: Path, target: Path) -> None:
    """Copy the tree at ``source`` to ``target``: files hard-linked, except below COPIED_TREES (copied).

    Ownership, modes and symbolic links are kept; directories are new (so a directory added to one
    root never shows in another).
    """
    copied = tuple(source / tree for tree in COPIED_TREES)
    for directory, subdirs, files in os.walk(source):
        here = Path(directory)
        relative = here.relative_to(source)
        destination = target / relative
        _copy_directory_entry(here, destination)
        copy_files = here in copied or any(parent in copied for parent in here.parents)
        for name in files:
            origin = here / name
            link = destination / name
            mode = os.lstat(origin).st_mode
            if stat.S_ISLNK(mode):
                os.symlink(os.readlink(origin), link)
                os.lchown(link, *_owner(origin))
            elif copy_files or not stat.S_ISREG(mode):
                _copy_file(origin, link, mode)
            else:
                os.link(origin, link)
        for name in list(subdirs):
            path = here / name
            if path.is_symlink():  # os.walk lists links to directories among the directories
                os.symlink(os.readlink(path), destination / name)
                os.lchown(destination / name, *_owner(path))
                subdirs.remove(name)


def _copy_directory_entry(source: Path, destination: Path) -> None:
    info = os.lstat(source)
    destination.mkdir(exist_ok=True)
    os.chmod(destination, stat.S_IMODE(info.st_mode))
    os.chown(destination, info.st_uid, info.st_gid)


def _copy_file(origin: Path, target: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        shutil.copy2(origin, target, follow_symlinks=False)
    elif stat.S_ISFIFO(mode):
        os.mkfifo(target, stat.S_IMODE(mode))
    else:
        return  # device nodes and sockets have no place in a root; the sandbox provides /dev
    os.chown(target, *_owner(origin))


def _owner(path: Path) -> tuple[int, int]:
    info = os.lstat(path)
    return info.st_uid, info.st_gid


def finish_root(tree: Path) -> None:
    """Make a freshly installed tree ready to be shared read-only.

    dnf's caches and logs go (they differ between two assemblies of the same root), the rpm database
    leaves SQLite's write-ahead mode (a read-only bind cannot open a WAL database), and the sandbox's
    mount points are made.
    """
    for leftover in DNF_LEFTOVERS:
        path = tree / leftover
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    database = tree / RPMDB / "rpmdb.sqlite"
    if database.is_file():
        connection = sqlite3.connect(database)
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.execute("PRAGMA journal_mode=DELETE")
        finally:
            connection.close()
        for suffix in ("-shm", "-wal"):
            (tree / RPMDB / f"rpmdb.sqlite{suffix}").unlink(missing_ok=True)
    for mountpoint in MOUNTPOINTS:
        path = tree / mountpoint
        if not path.exists() and not path.is_symlink():
            path.mkdir(parents=True)
