"""Dist-git: where a component's upstream repository is, and a local bare mirror of it.

azldev clones every repository in full on every run; that clone is most of its render time. Here each
repository is mirrored once under ``<work-dir>/cache/dist-git/`` and brought up to date with
``git fetch``, so a later run only transfers new commits (and none at all when a pinned or locked
commit is already present). A mirror is created in a temporary directory and renamed into place, and
every change to it happens under an exclusive file lock, so two processes (two renders, or a render
and ``comp update``) can share a cache without corrupting it; readers hold the lock shared.

Any URL git fetches works: https/http (smart, or "dumb" from a plain web server, which needs
``git update-server-info`` run in each served repository after every change; make_upstream.py does
this), ``file://`` and absolute paths.

Every fetch has the connect and read time-outs of ``upstream.network``: git has no connect time-out,
so the host is first probed with one; the read time-out becomes curl's low-speed limit (less than a
byte a second for that long aborts the transfer), which covers http(s). git:// and ssh:// get the
probe only: a stall after connecting is bounded by ssh's own ServerAliveInterval, and git:// has none.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import math
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tributary.config import Project, ResolvedComponent
from tributary.errors import ConfigError
from tributary.tools import git, gitlib
from tributary.upstream.errors import NetworkError, UpstreamError
from tributary.upstream.network import CONNECT_VARIABLE, READ_VARIABLE, Timeouts, attempts, check_connect
from tributary.upstream.uri import expand, has_scheme, redact

REMOTE = "origin"
RETRY_DELAY_S = 1.0  # seconds, times the attempt number
_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SLUG_LENGTH = 80


@dataclass(frozen=True)
class DistGitSource:
    """The upstream repository of one component: package (repository) name, URL and branch."""

    component: str
    package: str
    url: str
    branch: str

    @property
    def ref(self) -> str:
        return f"refs/heads/{self.branch}"


def package_name(component: ResolvedComponent) -> str:
    """The dist-git repository name: ``spec.upstream-name`` when set, else the component's name."""
    spec = component.config.spec
    return (spec.upstream_name if spec and spec.upstream_name else None) or component.name


def dist_git_source(component: ResolvedComponent) -> DistGitSource:
    """Where the component's upstream lives, from its upstream distro's URL template and branch."""
    upstream = component.upstream
    where = component.origin.location("spec") if component.origin else None
    if upstream is None:
        raise ConfigError(f"component {component.name!r} has no upstream distro (spec.type is not 'upstream')",
                          where=where)
    template = upstream.distro_settings.dist_git_base_uri
    if not template:
        raise ConfigError(f"component {component.name!r}: distro {upstream.distro!r} sets no dist-git-base-uri",
                          where=where)
    branch = upstream.settings.dist_git_branch
    if not branch:
        raise ConfigError(
            f"component {component.name!r}: distro {upstream.distro!r} version {upstream.version!r} "
            "sets no dist-git-branch", where=where)
    if not has_scheme(template) and not template.startswith("/"):
        raise ConfigError(
            f"distro {upstream.distro!r}: dist-git-base-uri {template!r} must be a URL or an absolute path",
            where=where)
    package = package_name(component)
    return DistGitSource(component.name, package, expand(template, pkg=package), branch)


def cache_dir(project: Project) -> Path:
    """Where the project's dist-git mirrors live."""
    return project.work_dir / "cache" / "dist-git"


def mirror_name(url: str) -> str:
    """A directory name for ``url``'s mirror: readable, bounded in length, distinct for distinct URLs.

    The readable part is the URL with unsafe characters folded to ``_`` (cut to its last 80
    characters, which hold the package name); a hash of the whole URL keeps different URLs apart.
    """
    readable = url.split("://", 1)[-1].rstrip("/").removesuffix(".git")
    slug = _SLUG_UNSAFE.sub("_", readable).strip("._-")[-_SLUG_LENGTH:].lstrip("._-")
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return f"{slug or 'repo'}-{digest}.git"


@dataclass(frozen=True)
class MirrorUpdate:
    """What ``Mirror.update`` did: whether it created the mirror, and the branch tip before and after."""

    created: bool
    before: str | None
    after: str


@dataclass(frozen=True)
class Mirror:
    """A bare mirror of one dist-git URL in ``cache``; branches are kept as ``refs/heads/<branch>``."""

    url: str
    path: Path

    @classmethod
    def for_url(cls, url: str, cache: Path) -> Mirror:
        return cls(url, cache / mirror_name(url))

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @property
    def exists(self) -> bool:
        """Whether the mirror is a repository git recognises (HEAD, objects/ and refs/: a copy that lost
        its empty refs/ directory is not one, and is made again)."""
        return (self.path / "HEAD").is_file() and (self.path / "objects").is_dir() and (self.path / "refs").is_dir()

    @contextlib.contextmanager
    def locked(self, *, exclusive: bool) -> Iterator[None]:
        """Hold the mirror's file lock: exclusive to change the mirror, shared to read from it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def tip(self, branch: str) -> str | None:
        """The mirrored commit at the tip of ``branch``, or None when the mirror does not have it."""
        if not self.exists:
            return None
        return git.read_ref(self.path, f"refs/heads/{branch}")

    def update(self, branch: str) -> MirrorUpdate:
        """Create the mirror (first use) or fetch ``branch`` into it (every later use).

        The branch is force-updated: when upstream rewrites its history the mirror follows, and
        commits that left the branch stop counting as "on the branch" (see ``commit.choose_commit``).
        """
        with self.locked(exclusive=True):
            if self.exists:
                self._check_url()
                before = self.tip(branch)
                self._transfer(branch, self.path)
                created = False
            else:
                before = None
                self._create(branch)
                created = True
            after = self.tip(branch)
        if after is None:  # pragma: no cover - a successful fetch of the refspec writes the ref
            raise UpstreamError(f"branch {branch!r} did not arrive from {redact(self.url)}")
        return MirrorUpdate(created, before, after)

    def _create(self, branch: str) -> None:
        """Make the mirror in a directory beside its final place, then rename: never half a mirror.

        The staging directory has one name per mirror: the exclusive lock says no other process uses
        it, so what is there is a killed process's leftover and goes first. (A name found by listing
        the cache would cost a scan of thousands of mirrors for each new one.)
        """
        staging = self.path.with_name(f".{self.path.name}.new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            self._transfer(branch, staging, create=True)
            if self.path.exists():  # a leftover without HEAD (an interrupted rename): not a mirror
                shutil.rmtree(self.path)
            (staging / "refs").mkdir(exist_ok=True)  # a clone packs its refs; git's empty refs/ marks a repository
            staging.rename(self.path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _transfer(self, branch: str, repository: Path, *, create: bool = False) -> None:
        """Bring ``branch`` into ``repository`` (a new mirror's empty staging directory when ``create``),
        tried again (``network.attempts()`` in all) when the server or the connection failed in a way that
        may pass: a 5xx, a reset or dropped connection. A stall is not tried again: the read time-out
        was the time it could have.

        libgit2 fetches in this process where it can (smart HTTP(S), local repositories); what it
        cannot do (a "dumb" server's static files, credentials, a certificate only git's own
        configuration trusts) is left to the git program, in the same attempt.
        """
        timeouts = Timeouts.from_environment()
        tries = attempts()
        in_process = _in_process(self.url)
        if not in_process:
            problem = check_connect(self.url, timeouts.connect)
            if problem is not None:
                raise unreachable(self.url, problem)
        for attempt in range(1, tries + 1):
            try:
                if in_process and _in_process(self.url):
                    try:
                        self._fetch_in_process(branch, repository, timeouts, create=create)
                        return
                    except git.GitError as error:
                        if error.kind != git.OTHER:
                            raise
                        _handled_by_git(self.url)
                        if create:  # git clones into an empty directory only
                            shutil.rmtree(repository)
                            repository.mkdir()
                self._fetch_with_git(branch, repository, timeouts, create=create)
                return
            except git.GitError as error:
                stalled = bool(git.STALLED.search(error.stderr))
                if attempt == tries or stalled or not git.is_transient(error.stderr):
                    raise fetch_error(self.url, branch, error, timeouts) from error
                time.sleep(RETRY_DELAY_S * attempt)

    def _fetch_in_process(self, branch: str, repository: Path, timeouts: Timeouts, *, create: bool) -> None:
        if create:
            gitlib.init_bare(repository, head=branch, config=self._config())
        offered = gitlib.fetch(repository, REMOTE, [_refspec(branch)], connect_timeout=timeouts.connect,
                               read_timeout=timeouts.read)
        if f"refs/heads/{branch}" not in offered:
            raise git.GitError(f"git fetch failed: couldn't find remote ref refs/heads/{branch}",
                               stderr=f"fatal: couldn't find remote ref refs/heads/{branch}")

    def _fetch_with_git(self, branch: str, repository: Path, timeouts: Timeouts, *, create: bool) -> None:
        settings = fetch_settings(timeouts)
        if create:
            git.clone_bare(self.url, repository, branch, config=self._config(), settings=settings)
        else:
            git.fetch(repository, REMOTE, [_refspec(branch)], settings=settings)

    def _config(self) -> dict[str, str]:
        """A new mirror's settings: its remote (no tags), and housekeeping that finishes
        before a fetch returns, while we still hold the lock."""
        return {f"remote.{REMOTE}.url": self.url, f"remote.{REMOTE}.tagOpt": "--no-tags", "gc.autoDetach": "false",
                "maintenance.autoDetach": "false"}

    def _check_url(self) -> None:
        """Refuse a mirror directory that belongs to another URL (copied or renamed by hand)."""
        recorded = gitlib.config_value(self.path, f"remote.{REMOTE}.url")
        if recorded != self.url:
            raise UpstreamError(
                f"mirror {self.path} is of {redact(recorded or '?')}, not {redact(self.url)}",
                hint=f"remove {self.path} and run again",
            )


def _refspec(branch: str) -> str:
    return f"+refs/heads/{branch}:refs/heads/{branch}"


_GIT_ONLY: set[str] = set()  # servers libgit2 could not fetch from (scheme://host:port), this process
_GIT_ONLY_LOCK = threading.Lock()


def _server(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if has_scheme(url) else "file://"


def _in_process(url: str) -> bool:
    """Whether libgit2 fetches ``url`` (smart HTTP(S), a local repository) unless its server proved it
    cannot; ssh and git:// go to the git program, which has the user's keys and settings."""
    scheme = urlsplit(url).scheme.lower() if has_scheme(url) else "file"
    if scheme not in ("http", "https", "file"):
        return False
    with _GIT_ONLY_LOCK:
        return _server(url) not in _GIT_ONLY


def _handled_by_git(url: str) -> None:
    with _GIT_ONLY_LOCK:
        _GIT_ONLY.add(_server(url))


def unreachable(url: str, problem: str) -> NetworkError:
    return NetworkError(f"cannot reach {redact(url)}: {problem}",
                        hint=f"check the network or the URL; {CONNECT_VARIABLE} sets the connect time-out")


def fetch_settings(timeouts: Timeouts) -> dict[str, str]:
    """git settings for one fetch: curl aborts a transfer below 1 byte/s for the read time-out."""
    return {"http.lowSpeedLimit": "1", "http.lowSpeedTime": str(max(1, math.ceil(timeouts.read)))}


def fetch_error(url: str, branch: str, error: git.GitError, timeouts: Timeouts | None = None) -> UpstreamError:
    """A fetch failure in terms of the configuration: which URL, which branch, and what to check."""
    shown = redact(url)
    timeouts = timeouts or Timeouts.from_environment()
    if git.STALLED.search(error.stderr):
        return NetworkError(f"{shown} sent no data for {timeouts.read:g} s (read time-out; {READ_VARIABLE})",
                            hint=f"the server accepted the connection and went silent; raise {READ_VARIABLE} "
                                 "(or --read-timeout) if it is only slow")
    no_connection = git.NO_CONNECTION.search(error.stderr)
    if no_connection:  # libgit2's words; git's program was preceded by the same probe (``check_connect``)
        reason = no_connection.group("reason").strip()
        if reason.lower() == "operation timed out":
            reason = f"no connection within {timeouts.connect:g} s (connect time-out; {CONNECT_VARIABLE})"
        return unreachable(url, reason)
    if error.kind == git.MISSING_REF:
        return UpstreamError(f"branch {branch!r} does not exist in {shown}",
                             hint="check the distro version's dist-git-branch")
    if error.kind == git.NOT_FOUND:
        return UpstreamError(
            f"no dist-git repository at {shown}",
            hint="check dist-git-base-uri and spec.upstream-name; a repository served by a plain web server "
                 "needs 'git update-server-info' run in it",
        )
    if error.kind == git.NETWORK:
        return NetworkError(f"cannot reach {shown}: {error.message}", hint="check the network or the URL")
    return UpstreamError(f"fetching branch {branch!r} from {shown} failed: {error.message}")
