"""Packages a distribution ships but does not build yet, imported from its buildroot's repositories.

A distribution bootstrapping from another one (Azure Linux from Fedora, the example from its stage-0
repository) ships some packages it does not build itself yet: the example's images need a C library
and a shell, and it builds neither. Koji imports such packages into a tag from an external
repository; here a package group says so (``import-from-buildroot = true``, a tributary extension),
and ``trib build`` copies the named packages, with what they need at run time, from the buildroot's
repositories into ``<output-dir>/rpms/<arch>/``, where publishing, images, SBOMs and the closure
check treat them like built ones.

What they need is resolved by dnf against the buildroot's repositories *and* everything this run
built, the latter preferred: a package the distribution builds itself is never imported. What the
distribution's own packages need at run time and it does not build (the example's Perl programs need
perl) is imported with them, so the published repositories are complete. The record
``<work-dir>/build-cache/imports.json`` names each imported file with its sha256 and the repository
(pinned by its metadata checksum) it came from.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tributary.build.buildroot.repos import PinnedRepo
from tributary.build.buildroot.roots import BuildrootError, UnsatisfiableError
from tributary.build.requires import package_arch, package_name
from tributary.config import Project
from tributary.fsutil import atomic_output, atomic_write
from tributary.tools import dnf
from tributary.upstream.fingerprint import file_sha256

RECORD = "imports.json"


@dataclass(frozen=True)
class Imported:
    """One imported package file: where it is now, and the repository it came from."""

    path: Path
    sha256: str
    repo: str
    repo_checksum: str

    def to_json(self, base: Path) -> dict[str, str]:
        """The record's entry, the path relative to the output directory ``base`` (a copied project reads it)."""
        return {"path": self.path.relative_to(base).as_posix(), "sha256": self.sha256, "repo": self.repo,
                "repomdSha256": self.repo_checksum}


def wanted_imports(project: Project) -> list[str]:
    """The packages the project's groups ask to import, sorted."""
    return sorted({name for group in project.package_groups.values() if group.import_from_buildroot
                   for name in group.packages})


def import_packages(project: Project, names: Sequence[str], *, repos: Sequence[PinnedRepo],
                    produced: Sequence[PinnedRepo], releasever: str, arch: str, rpm_dir: Path) -> list[Imported]:
    """Copy ``names`` and their run-time closure from ``repos`` into ``rpm_dir/<arch>/``; record them.

    ``produced`` are the repositories of this run's packages: they satisfy what they can, and none of
    their packages is copied. UnsatisfiableError names a package nothing provides. The same names from
    the same repositories (by metadata checksum) are not resolved again while the files are intact.
    """
    record = project.work_dir / "build-cache" / RECORD
    base = project.output_dir
    key = hashlib.sha256(json.dumps([sorted(names), [[r.id, r.checksum] for r in (*repos, *produced)], releasever,
                                     arch]).encode()).hexdigest()
    previous = _recorded(record, base, key)
    if previous is not None:
        return previous
    scratch = Path(tempfile.mkdtemp(prefix="imports.", dir=_scratch(project)))
    try:
        downloads = scratch / "downloads"
        options = [dnf.RepoOption(r.id, r.url, r.gpgcheck, r.gpgkeys, r.priority, r.excludes)
                   for r in (*repos, *produced)]
        built_names = sorted({package_name(path) for repo in produced for path in _local_rpms(repo)})
        try:
            dnf.download_closure(scratch / "root", [*names, *built_names], directory=downloads,
                                 releasever=releasever, arch=arch, repos=options, home=dnf.rpm_home(scratch / "home"))
        except dnf.DnfError as error:
            if error.unmatched or error.missing:
                raise UnsatisfiableError("packages to import", error.unmatched or error.missing, [*repos, *produced],
                                         where="package groups with import-from-buildroot") from None
            raise BuildrootError(f"cannot resolve the packages to import: {error.message}") from error
        built = {path.name for repo in produced for path in _local_rpms(repo)}
        origins: dict[str, PinnedRepo] = {}
        for repo in repos:  # the first repository that has a file is named as its origin
            for path in _local_rpms(repo):
                origins.setdefault(path.name, repo)
        imported = []
        for download in sorted(downloads.glob("*.rpm")):
            if download.name in built:
                continue
            origin = origins.get(download.name)
            target = rpm_dir / package_arch(download) / download.name
            with download.open("rb") as reader, atomic_output(target, mode=0o644) as writer:
                shutil.copyfileobj(reader, writer, 1 << 20)
            imported.append(Imported(target, file_sha256(target), origin.id if origin else "(a remote repository)",
                                     origin.checksum if origin else ""))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    atomic_write(record, json.dumps({"key": key, "imported": [item.to_json(base) for item in imported]}, indent=1)
                 + "\n")
    return imported


def recorded_imports(project: Project) -> list[Imported]:
    """The packages the last build imported (empty when it imported none)."""
    return _recorded(project.work_dir / "build-cache" / RECORD, project.output_dir, None) or []


def _recorded(record: Path, base: Path, key: str | None) -> list[Imported] | None:
    """The imports in ``record`` when it was made with ``key`` (any, for None) and every file is intact."""
    try:
        data = json.loads(record.read_text())
        if key is not None and data.get("key") != key:
            return None
        items = [Imported(base / item["path"], item["sha256"], item["repo"], item["repomdSha256"])
                 for item in data["imported"]]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    if any(not item.path.is_file() or file_sha256(item.path) != item.sha256 for item in items):
        return None
    return items


def _local_rpms(repo: PinnedRepo) -> list[Path]:
    """The package files of a ``file://`` repository (imports come from local repositories only)."""
    if not repo.url.startswith("file://"):
        return []
    return sorted(Path(repo.url.removeprefix("file://")).rglob("*.rpm"))


def _scratch(project: Project) -> Path:
    path = project.work_dir / "builds"
    path.mkdir(parents=True, exist_ok=True)
    return path
