"""A self-contained build task, and what comes back from it: JSON documents that name every input
and every output by sha256.

The client makes a task for each component it hands to a worker (``tributary.build.executors.dask``);
the worker builds from it alone (``tributary.build.worker``), fetching each blob from the artifact
store (``tributary.build.artifacts``) and checking its hash. A task names:

* ``sources``: the prepared sources (rendered spec, patches, its ``<name>.azl.macros``, the verified
  tarballs) as one tarball;
* ``macros``: the text of the build user's ``~/.rpmmacros`` (the buildroot definition's macros);
* ``base`` and ``requiresRepos``: the base root's recipe and the repositories the BuildRequires come
  from, each repository pinned by the sha256 of its ``repodata/repomd.xml``, exactly as the client's
  build plan has them (so the worker's roots have the keys and records a local build gives);
* ``repositories``: for every ``file://`` repository of those (the stage-0 repository, a previous
  stage's packages, the repository of this run's packages the component needs: its dependency RPMs),
  the sha256 of its manifest, which names each of its files by sha256; ``files``: other ``file://``
  files the definition names (a GPG key outside any repository);
* ``store``: the store's URL and the run's token.

``http(s)://`` repositories are read by the worker directly; their ``repomd.xml`` is checked against
the pin before dnf reads them.

A result names the worker, the log, and, for a build that succeeded, the SRPM and RPMs (each with its
path relative to the output directory), the BuildRequires and the buildroot record; for a build that
failed, the error. ``FORMAT`` changes when either document changes; a worker refuses a task of another
format, build code version (``BUILD_VERSION``) or root format, since it would not build the same bytes.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from tributary.build.buildroot.repos import PinnedRepo
from tributary.build.buildroot.roots import ROOT_FORMAT, RootRecipe
from tributary.build.cache import BUILD_VERSION
from tributary.errors import TribError

FORMAT = 1


class TaskError(TribError):
    """A task or a result that cannot be read, or that this tributary cannot build."""


def repo_to_json(repo: PinnedRepo) -> dict[str, Any]:
    return {"id": repo.id, "url": repo.url, "repomdSha256": repo.checksum, "gpgcheck": repo.gpgcheck,
            "gpgkeys": list(repo.gpgkeys), "priority": repo.priority, "excludes": list(repo.excludes)}


def repo_from_json(data: dict[str, Any]) -> PinnedRepo:
    return PinnedRepo(str(data["id"]), str(data["url"]), str(data["repomdSha256"]), bool(data["gpgcheck"]),
                      tuple(data["gpgkeys"]), int(data["priority"]), tuple(data["excludes"]))


@dataclass(frozen=True)
class BuildTask:
    """One component's build, everything it reads named by sha256 (see the module docstring); ``id``
    tells this submission from another of the same component."""

    id: str
    component: str
    sources: str
    macros: str
    check: bool
    base: RootRecipe
    requires_repos: tuple[PinnedRepo, ...]
    store_url: str  # where the artifact store is served for this run
    store_token: str  # what its requests carry
    optional: tuple[str, ...] = ()
    repositories: dict[str, str] = field(default_factory=dict)  # file:// URL -> manifest sha256
    files: dict[str, str] = field(default_factory=dict)  # file:// URL -> sha256

    @property
    def key(self) -> str:
        """The Dask key of the task: the component, and this submission."""
        return f"build-{self.component}-{self.id}"

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT, "buildVersion": BUILD_VERSION, "rootFormat": ROOT_FORMAT, "id": self.id,
            "component": self.component, "sources": self.sources, "macros": self.macros, "check": self.check,
            "base": {"arch": self.base.arch, "releasever": self.base.releasever,
                     "repos": [repo_to_json(repo) for repo in self.base.repos], "packages": list(self.base.packages)},
            "optional": list(self.optional),
            "requiresRepos": [repo_to_json(repo) for repo in self.requires_repos],
            "repositories": dict(sorted(self.repositories.items())), "files": dict(sorted(self.files.items())),
            "store": {"url": self.store_url, "token": self.store_token},
        }, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BuildTask:
        try:
            data = json.loads(text)
            versions = (data.get("format"), data.get("buildVersion"), data.get("rootFormat"))
            if versions != (FORMAT, BUILD_VERSION, ROOT_FORMAT):
                raise TaskError(f"the task is of format {versions[0]}, build code {versions[1]}, root format "
                                f"{versions[2]}; this worker has {FORMAT}, {BUILD_VERSION}, {ROOT_FORMAT}",
                                hint="install the client's tributary on the worker")
            base = data["base"]
            return cls(
                id=str(data["id"]), component=str(data["component"]), sources=str(data["sources"]),
                macros=str(data["macros"]), check=bool(data["check"]),
                base=RootRecipe(str(base["arch"]), str(base["releasever"]),
                                tuple(repo_from_json(repo) for repo in base["repos"]), tuple(base["packages"])),
                requires_repos=tuple(repo_from_json(repo) for repo in data["requiresRepos"]),
                store_url=str(data["store"]["url"]), store_token=str(data["store"]["token"]),
                optional=tuple(data["optional"]), repositories=dict(data["repositories"]), files=dict(data["files"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise TaskError(f"not a build task: {error}") from None


class Status(enum.StrEnum):
    BUILT = "built"
    FAILED = "failed"


class FailureKind(enum.StrEnum):
    BUILD = "build"  # rpmbuild failed: the summary and the log say why
    OTHER = "other"  # the roots, the sources, the worker's tools, the store


@dataclass(frozen=True)
class Output:
    """One package: its path relative to the output directory (``srpms/x.src.rpm``,
    ``rpms/x86_64/x.rpm``) and its sha256."""

    path: str
    sha256: str


@dataclass(frozen=True)
class TaskResult:
    component: str
    worker: str
    status: Status
    log: str | None
    outputs: tuple[Output, ...] = ()
    build_requires: tuple[str, ...] = ()
    buildroot: dict[str, Any] | None = None
    failure: FailureKind | None = None
    error: str = ""  # the failure: the step's summary for a BUILD failure, the whole error otherwise
    exit_code: int = 1
    timings: dict[str, float] = field(default_factory=dict)  # seconds: fetch, build, upload

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT, "component": self.component, "worker": self.worker, "status": self.status.value,
            "log": self.log, "outputs": [{"path": o.path, "sha256": o.sha256} for o in self.outputs],
            "buildRequires": list(self.build_requires), "buildroot": self.buildroot,
            "failure": self.failure.value if self.failure else None, "error": self.error,
            "exitCode": self.exit_code, "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TaskResult:
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise TaskError(f"a worker answered in result format {data.get('format')}, not {FORMAT}")
            return cls(
                component=str(data["component"]), worker=str(data["worker"]), status=Status(data["status"]),
                log=data["log"], outputs=tuple(Output(str(o["path"]), str(o["sha256"])) for o in data["outputs"]),
                build_requires=tuple(data["buildRequires"]), buildroot=data["buildroot"],
                failure=FailureKind(data["failure"]) if data["failure"] else None, error=str(data["error"]),
                exit_code=int(data["exitCode"]), timings=dict(data["timings"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise TaskError(f"not a build result: {error}") from None
