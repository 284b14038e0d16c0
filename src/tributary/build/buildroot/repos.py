"""The repositories of a buildroot, pinned by their metadata: what a root is made from, by checksum.

A repository is identified by the sha256 of its ``repodata/repomd.xml``, which names (by checksum)
every other metadata file and through them every package. Two machines that see the same checksums
install the same packages into the same root, so the checksums go into the root cache key, the build
cache key and the build's provenance.

A ``file://`` directory of RPMs without repodata (a previous stage's ``<output-dir>/rpms``) is
indexed by tributary into its cache (hard links and createrepo_c), leaving the directory untouched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tributary.build.buildroot.definition import Repo
from tributary.errors import TribError
from tributary.tools.createrepo import index_directory

REPOMD = "repodata/repomd.xml"
CONNECT_TIMEOUT = 30.0


class RepositoryError(TribError):
    """A repository of a buildroot cannot be read."""


@dataclass(frozen=True)
class PinnedRepo:
    """A repository as one build sees it: where dnf reads it, and the checksum of its metadata."""

    id: str
    url: str
    checksum: str
    gpgcheck: bool = False
    gpgkeys: tuple[str, ...] = ()
    priority: int = 99
    excludes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "url": self.url, "repomdSha256": self.checksum}


def pin(repo: Repo, *, index_cache: Path, timeout: float = CONNECT_TIMEOUT) -> PinnedRepo:
    """``repo`` with its metadata checksum; a plain ``file://`` directory is indexed first."""
    url = repo.baseurl.rstrip("/")
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme == "file":
        directory = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
        if not directory.is_dir():
            raise RepositoryError(f"repository {repo.id!r}: {url} is not a directory", where=repo.where,
                                  hint="build or make it first (a stage-0 repository: trib buildroot stage0)")
        if not (directory / REPOMD).is_file():
            directory = index_rpm_directory(directory, index_cache)
            url = directory.as_uri()
        checksum = file_checksum(directory / REPOMD)
    elif scheme in ("http", "https"):
        checksum = _fetch_checksum(f"{url}/{REPOMD}", repo, timeout)
    else:
        raise RepositoryError(f"repository {repo.id!r}: {repo.baseurl!r} is not a file://, http:// or https:// URL",
                              where=repo.where)
    return PinnedRepo(repo.id, url, checksum, repo.gpgcheck, repo.gpgkeys, repo.priority, repo.excludes)


def file_checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fetch_checksum(url: str, repo: Repo, timeout: float) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return hashlib.sha256(response.read()).hexdigest()
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise RepositoryError(f"repository {repo.id!r}: cannot read {url}: {reason}", where=repo.where) from None


def index_rpm_directory(directory: Path, cache: Path) -> Path:
    """A repository of the RPMs below ``directory``, made once per set of files and kept in ``cache``.

    The key is each RPM's relative path, size and modification time: a rebuilt package makes a new
    index. The RPMs are hard-linked (copied across file systems) so the index holds exactly the
    files it was made from, whatever happens to ``directory`` afterwards.
    """
    rpms = sorted(path for path in directory.rglob("*.rpm") if path.is_file() and not path.name.endswith(".src.rpm"))
    listing = "\n".join(f"{path.relative_to(directory)}\t{path.stat().st_size}\t{path.stat().st_mtime_ns}"
                        for path in rpms)
    key = hashlib.sha256(f"{directory.resolve()}\n{listing}".encode()).hexdigest()[:32]
    return indexed_repository(rpms, directory, cache / key)


def indexed_repository(rpms: Iterable[Path], base: Path, target: Path) -> Path:
    """``target``, a repository of ``rpms`` (kept at their paths below ``base``), made unless it exists.

    Made beside ``target`` and renamed into place, so a reader sees a whole repository or none; when
    another process made it first, its copy is kept.
    """
    if (target / REPOMD).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        link_files(rpms, base, scratch)
        index_directory(scratch)
        try:
            os.rename(scratch, target)
        except OSError:
            if not (target / REPOMD).is_file():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def link_files(paths: Iterable[Path], base: Path, destination: Path) -> None:
    """Hard-link each of ``paths`` (below ``base``) to the same relative place under ``destination``."""
    for path in paths:
        target = destination / path.relative_to(base)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copyfile(path, target)
