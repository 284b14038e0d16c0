"""A build on a worker: from a task (``tributary.build.task``) alone, to packages uploaded by hash.

``build_task`` needs no project checkout and trusts nothing it has not checked: it fetches the
prepared sources and the macros from the artifact store, makes verified local copies of the roots'
``file://`` repositories (each file checked against the manifest, the manifest against its name, the
``repomd.xml`` against the pin), assembles roots in the worker's own root cache, runs the same steps
as a local build (``tributary.build.component.build_in_roots``) and uploads the SRPM, the RPMs and the
log. Whatever fails becomes a FAILED result carrying the error and the log: only the loss of the worker
itself makes Dask run the task again, elsewhere.

The worker's cache directory (``$TRIB_CACHE_DIR``, else ``$XDG_CACHE_HOME/tributary``) holds, as a
project's cache does, ``roots/`` (warm from one task to the next) and here also ``mirrors/<manifest
sha256>/`` (copies of the client's repositories), ``files/<sha256>`` (GPG keys) and ``builds/``
(scratch trees, removed after a success, kept after a failure for inspection).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from tributary.build.artifacts import ArtifactError, StoreClient, unpack
from tributary.build.buildroot.choose import CACHE_ENV
from tributary.build.buildroot.repos import REPOMD, PinnedRepo
from tributary.build.buildroot.roots import RootCache
from tributary.build.component import BuildError, RootPlan, build_in_roots, buildroot_record, component_log
from tributary.build.task import BuildTask, FailureKind, Output, Status, TaskResult
from tributary.errors import TribError
from tributary.fsutil import check_relative, exclusive_lock
from tributary.tools import bwrap, dnf

MIRROR_LOCK_TIMEOUT = 3600.0


def worker_cache() -> Path:
    """This worker's cache: ``$TRIB_CACHE_DIR``, else ``$XDG_CACHE_HOME/tributary`` (``~/.cache``)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tributary"


def check_tools() -> None:
    """What a worker must have installed to build (the Python side came with tributary): a ToolError
    naming the missing program and its package."""
    bwrap.require()
    dnf.require()


def build_task(task: BuildTask, *, worker: str, cache: Path, store: StoreClient) -> TaskResult:
    """Build ``task`` on this machine; the result names the uploaded packages and log by sha256."""
    timings: dict[str, float] = {}
    started = time.monotonic()
    builds = cache / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{task.component}.", dir=builds))
    name = task.component
    log_path = scratch / f"{name}.log"
    try:
        with component_log(scratch, name) as log:
            log.note(f"tributary: building {name} on worker {worker} in {scratch}")
            check_tools()
            if task.base.arch != platform.machine():
                raise TribError(f"the build is for {task.base.arch}; this worker is {platform.machine()}",
                                hint="give each architecture a cluster of its own (docs/SCALE.md)")
            build_dir = scratch / "build"
            archive = store.fetch(task.sources, scratch / "sources.tar", what=f"the sources of {name}")
            unpack(archive, build_dir / "sources")
            archive.unlink()
            macros = store.read(task.macros, what="the buildroot's macros").decode()
            locate = repository_locator(task, cache, store)
            timings["fetch"] = time.monotonic() - started
            roots = RootPlan(task.base, task.requires_repos, macros, RootCache(cache / "roots", locate=locate),
                             optional=task.optional)
            built = build_in_roots(name, build_dir, roots, check=task.check, log=log, scratch=scratch)
            timings["build"] = time.monotonic() - started - timings["fetch"]
            log.note(f"tributary: built {len(built.rpms)} packages on worker {worker}; sending them back")
            outputs = [Output(f"srpms/{built.srpm.name}", store.put(built.srpm))]
            outputs += [Output(f"rpms/{path.parent.name}/{path.name}", store.put(path)) for path in built.rpms]
            timings["upload"] = time.monotonic() - started - timings["fetch"] - timings["build"]
    except TribError as error:
        build = isinstance(error, BuildError)
        # The tree stays for inspection, as after a local failure; the log goes back to the client.
        return TaskResult(name, worker, Status.FAILED, _put_log(store, log_path),
                          failure=FailureKind.BUILD if build else FailureKind.OTHER,
                          error=error.summary if isinstance(error, BuildError) else str(error),
                          exit_code=error.exit_code, timings=timings)
    record = buildroot_record(built.root)
    log_sha = store.put(log_path)
    shutil.rmtree(scratch, ignore_errors=True)
    return TaskResult(name, worker, Status.BUILT, log_sha, tuple(outputs), built.build_requires, record,
                      timings=timings)


def _put_log(store: StoreClient, log: Path) -> str | None:
    try:
        return store.put(log) if log.is_file() else None
    except ArtifactError:
        return None


def repository_locator(task: BuildTask, cache: Path, store: StoreClient) -> Callable[[PinnedRepo], PinnedRepo]:
    """Where this worker reads each repository of the task: the ``file://`` ones from verified local
    copies, ``http(s)://`` ones where they are, once their ``repomd.xml`` is checked against the pin."""
    local: dict[str, str] = {}
    for url, manifest in sorted(task.repositories.items()):
        local[url] = mirror_repository(store, manifest, cache / "mirrors").as_uri()
    for url, sha in sorted(task.files.items()):
        target = cache / "files" / sha
        if not target.is_file():
            store.fetch(sha, target, what=url)
        local[url] = target.as_uri()
    for repo in (*task.base.repos, *task.requires_repos):
        if urllib.parse.urlsplit(repo.url).scheme in ("http", "https"):
            check_remote_repository(repo)
        elif repo.url not in local:
            raise ArtifactError(f"repository {repo.id!r}: the task names {repo.url} but sends no copy of it")

    def locate(repo: PinnedRepo) -> PinnedRepo:
        return replace(repo, url=local.get(repo.url, repo.url),
                       gpgkeys=tuple(_located(key, local) for key in repo.gpgkeys))

    return locate


def _located(url: str, local: Mapping[str, str]) -> str:
    """``url`` on this worker: a file sent alone, or a file inside a repository sent whole."""
    if url in local:
        return local[url]
    for remote, here in local.items():
        if url.startswith(remote.rstrip("/") + "/"):
            return here.rstrip("/") + url[len(remote.rstrip("/")):]
    if urllib.parse.urlsplit(url).scheme == "file":
        raise ArtifactError(f"the task names {url} but sends no copy of it")
    return url


def mirror_repository(store: StoreClient, manifest_sha: str, directory: Path) -> Path:
    """``directory/<manifest_sha>``: the repository the manifest describes, every file checked, made
    once per worker (in a scratch directory renamed into place, under a lock) and kept."""
    target = directory / manifest_sha
    if (target / REPOMD).is_file():
        return target
    with exclusive_lock(directory / f"{manifest_sha}.lock", timeout=MIRROR_LOCK_TIMEOUT,
                        busy=lambda: ArtifactError(f"another process has been copying repository {manifest_sha} "
                                                   f"for over {MIRROR_LOCK_TIMEOUT:g} s", where=str(directory))):
        if (target / REPOMD).is_file():
            return target
        manifest = json.loads(store.read(manifest_sha, what="a repository's manifest"))
        for leftover in directory.glob(f".{manifest_sha}.*"):
            shutil.rmtree(leftover, ignore_errors=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{manifest_sha}.", dir=directory))
        try:
            for relative, sha in sorted(manifest["files"].items()):
                store.fetch(sha, scratch / check_relative(relative, what="repository file"), what=relative)
            if manifest["files"].get("repodata/repomd.xml") != manifest["repomd"]:
                raise ArtifactError(f"repository manifest {manifest_sha}: its repomd.xml is not the one pinned")
            os.rename(scratch, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return target


def check_remote_repository(repo: PinnedRepo, timeout: float = 60.0) -> None:
    """ArtifactError unless the repository's ``repomd.xml`` still has the sha256 it was pinned with."""
    url = f"{repo.url.rstrip('/')}/{REPOMD}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            found = hashlib.sha256(response.read()).hexdigest()
    except (urllib.error.URLError, OSError) as error:
        raise ArtifactError(f"repository {repo.id!r}: cannot read {url}: {getattr(error, 'reason', error)}") from None
    if found != repo.checksum:
        raise ArtifactError(f"hash mismatch: repository {repo.id!r} ({url}) has repomd.xml sha256 {found}, "
                            f"pinned {repo.checksum}", hint="the repository changed during the run: build again")
