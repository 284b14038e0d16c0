"""The lookaside: source tarballs named in a dist-git ``sources`` file, kept in a content-addressed cache.

azldev downloads every tarball again for every build, one at a time. Here a tarball is downloaded
once into ``<work-dir>/cache/lookaside/<hashtype>/<hash>`` and copied (or hard-linked) from there;
downloads run in parallel. A file is named by its hash, so the cache needs no invalidation: an entry
is either the right bytes or it is not there. The bytes are hashed while they arrive, into a
temporary file that is renamed into the cache only when size and hash match, so a failed, truncated
or tampered download leaves nothing behind; a cached entry is hashed again before use, so a damaged
cache heals itself by downloading the file again.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import hashlib
import http.client
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from tributary.config import Project
from tributary.errors import Location
from tributary.upstream.errors import DownloadError, UpstreamError
from tributary.upstream.network import CONNECT_VARIABLE, READ_VARIABLE, Timeouts
from tributary.upstream.network import attempts as network_attempts
from tributary.upstream.uri import expand, has_scheme, local_path, redact

SOURCES_FILE = "sources"
DEFAULT_JOBS = 8
DEFAULT_HASH = "sha512"  # for files whose hash is not known in advance, as azldev's --allow-no-hashes
CHUNK = 1 << 16
USER_AGENT = "tributary (lookaside)"

_TAGGED = re.compile(r"^(?P<alg>[A-Za-z0-9]+) \((?P<file>.+)\) = (?P<hash>[0-9A-Fa-f]+)$")
_LEGACY = re.compile(r"^(?P<hash>[0-9A-Fa-f]{32})\s+\*?(?P<file>\S.*)$")  # md5sum output


# --- the ``sources`` file ------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceEntry:
    """One line of a ``sources`` file: file name, lowercase hash type (``sha512``, ``md5``) and hash."""

    filename: str
    hash_type: str
    digest: str
    line: int


def parse_sources(text: str, *, path: Path | str = SOURCES_FILE) -> list[SourceEntry]:
    """Both forms Fedora has used: ``SHA512 (file) = hash`` and the legacy md5sum ``hash  file``.

    Blank lines are ignored. A malformed line, an unknown algorithm, a hash of the wrong length, a
    file name with a ``/`` or a name listed twice is an error at ``path:line``.
    """
    entries: list[SourceEntry] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        where = Location(Path(path), number)
        tagged = _TAGGED.match(line)
        legacy = None if tagged else _LEGACY.match(line)
        if tagged:
            alg, name, digest = tagged["alg"].lower(), tagged["file"], tagged["hash"].lower()
        elif legacy:
            alg, name, digest = "md5", legacy["file"], legacy["hash"].lower()
        else:
            raise UpstreamError(f"cannot read sources line {line!r}; expected 'SHA512 (file) = hash'", where=where)
        check_hash(alg, digest, what=f"hash of {name!r}", where=where)
        if "/" in name or "\0" in name or name in (".", ".."):
            raise UpstreamError(f"source file name {name!r} must be a plain file name", where=where)
        if name in seen:
            raise UpstreamError(f"{name!r} is listed twice (first on line {seen[name]})", where=where)
        seen[name] = number
        entries.append(SourceEntry(name, alg, digest, number))
    return entries


def format_sources(entries: Sequence[SourceEntry]) -> str:
    """A ``sources`` file for ``entries``, in the tagged form (``SHA512 (file) = hash``), in their order."""
    return "".join(f"{entry.hash_type.upper()} ({entry.filename}) = {entry.digest}\n" for entry in entries)


def read_sources(directory: Path) -> list[SourceEntry]:
    """The entries of ``directory/sources``; no file means no lookaside sources (as in dist-git)."""
    path = directory / SOURCES_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return parse_sources(text, path=path)


def check_hash(hash_type: str, digest: str, *, what: str = "hash", where: Location | None = None) -> None:
    """``digest`` must be hex of the right length for ``hash_type``, an algorithm hashlib knows."""
    if hash_type not in hashlib.algorithms_guaranteed:
        raise UpstreamError(f"unknown hash type {hash_type!r} for {what}", where=where)
    length = hashlib.new(hash_type).digest_size * 2
    if not re.fullmatch(r"[0-9a-f]+", digest) or len(digest) != length:
        raise UpstreamError(f"{what} must be {length} hexadecimal digits for {hash_type}", where=where)


def lookaside_url(template: str, package: str, filename: str, hash_type: str, digest: str) -> str:
    """The distro's ``lookaside-base-uri`` with ``$pkg``, ``$filename``, ``$hashtype`` (lowercase), ``$hash``."""
    return expand(template, pkg=package, filename=filename, hashtype=hash_type.lower(), hash=digest)


def cache_dir(project: Project) -> Path:
    return project.work_dir / "cache" / "lookaside"


# --- downloading into the cache -----------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """A download's progress, reported from the worker thread doing it (callbacks must be thread-safe)."""

    filename: str
    url: str | None  # None when the file came from the cache
    received: int
    total: int | None  # from Content-Length; None when the server does not say
    done: bool
    cached: bool = False


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class Wanted:
    """A file to obtain: its name, its hash when known, and the URLs to try in order."""

    filename: str
    hash_type: str | None
    digest: str | None
    urls: tuple[str, ...]


@dataclass(frozen=True)
class Obtained:
    """A file in the cache: where, under which hash, and which URL it came from (None: cached)."""

    filename: str
    hash_type: str
    digest: str
    path: Path
    url: str | None


class _Attempt(Exception):
    """One URL failed; ``transient`` says whether trying the same URL again at once may help, and
    ``temporary`` whether the failure may pass by itself (a time-out is temporary, yet not tried again
    at once: the user's time-out was the budget)."""

    def __init__(self, message: str, *, transient: bool, temporary: bool | None = None):
        super().__init__(message)
        self.transient = transient
        self.temporary = transient if temporary is None else temporary


@dataclass
class LookasideCache:
    """``root/<hashtype>/<hash>``: read-only files, each exactly the bytes its name promises."""

    root: Path
    attempts: int = field(default_factory=network_attempts)
    retry_delay: float = 1.0  # seconds, multiplied by the attempt number
    timeouts: Timeouts = field(default_factory=Timeouts.from_environment)

    def path_for(self, hash_type: str, digest: str) -> Path:
        check_hash(hash_type, digest)
        return self.root / hash_type / digest

    def lookup(self, hash_type: str, digest: str) -> Path | None:
        """The cached file if present and intact; a damaged one is removed (it will be fetched again)."""
        path = self.path_for(hash_type, digest)
        if not path.is_file():
            return None
        if file_hash(path, hash_type) == digest:
            return path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return None

    def obtain(self, wanted: Wanted, progress: ProgressCallback | None = None) -> Obtained:
        """The file from the cache, else from the first of its URLs that gives the right bytes."""
        if wanted.hash_type and wanted.digest:
            cached = self.lookup(wanted.hash_type, wanted.digest)
            if cached is not None:
                if progress:
                    size = cached.stat().st_size
                    progress(Progress(wanted.filename, None, size, size, done=True, cached=True))
                return Obtained(wanted.filename, wanted.hash_type, wanted.digest, cached, None)
        if not wanted.urls:
            raise DownloadError(f"{wanted.filename!r} is not in the lookaside cache and has no URL to fetch it from",
                                hint=_expected(wanted))
        failures: list[_Attempt] = []
        for url in wanted.urls:
            try:
                return self._download_with_retries(wanted, url, progress)
            except _Attempt as failure:
                failures.append(failure)
        reasons = "; ".join(map(str, failures))
        error = DownloadError(f"cannot fetch {wanted.filename!r} ({_expected(wanted)}): {reasons}")
        error.temporary = all(failure.temporary for failure in failures)
        raise error

    def _download_with_retries(self, wanted: Wanted, url: str, progress: ProgressCallback | None) -> Obtained:
        for attempt in range(1, max(1, self.attempts) + 1):
            try:
                return self._download(wanted, url, progress)
            except _Attempt as failure:
                if not failure.transient or attempt >= self.attempts:
                    raise
                time.sleep(self.retry_delay * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _download(self, wanted: Wanted, url: str, progress: ProgressCallback | None) -> Obtained:
        """One try: stream ``url`` into a temporary file in the cache root, then verify and rename."""
        hash_type = wanted.hash_type or DEFAULT_HASH
        shown = redact(url)
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".part-{hash_type}-", dir=self.root)
        tmp = Path(tmp_name)
        try:
            hasher = hashlib.new(hash_type)
            with os.fdopen(fd, "wb") as out:
                received, total = self._stream(wanted.filename, url, out, hasher, progress)
            actual = hasher.hexdigest()
            if total is not None and received < total:
                raise _Attempt(f"{shown}: truncated download, {received} of {total} bytes "
                               f"(got {hash_type} {actual})", transient=True)
            if wanted.digest and actual != wanted.digest:
                raise _Attempt(f"{shown}: hash mismatch, got {hash_type} {actual}", transient=False)
            tmp.chmod(0o444)
            final = self.path_for(hash_type, actual)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)  # same bytes if another process got there first
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        if progress:
            progress(Progress(wanted.filename, url, received, total, done=True))
        return Obtained(wanted.filename, hash_type, actual, final, url)

    def _stream(self, filename: str, url: str, out: BinaryIO, hasher: Any,
                progress: ProgressCallback | None) -> tuple[int, int | None]:
        """Copy ``url`` to ``out``, hashing; return bytes received and the announced length."""
        shown = redact(url)
        path = None if has_scheme(url) else local_path(url)
        received = 0
        try:
            with _open(url, path, self.timeouts) as (source, total):
                if progress:
                    progress(Progress(filename, url, 0, total, done=False))
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                    hasher.update(chunk)
                    received += len(chunk)
                    if progress:
                        progress(Progress(filename, url, received, total, done=False))
        except urllib.error.HTTPError as error:
            raise _Attempt(f"{shown}: HTTP {error.code} {error.reason}", transient=error.code >= 500) from None
        except urllib.error.URLError as error:  # refused, unresolvable host, connect time-out; a missing file:// file
            if isinstance(error.reason, TimeoutError):
                raise _Attempt(f"{shown}: no connection within {self.timeouts.connect:g} s (connect time-out; "
                               f"{CONNECT_VARIABLE})", transient=False, temporary=True) from None
            missing = isinstance(error.reason, FileNotFoundError)
            raise _Attempt(f"{shown}: {_reason(error.reason)}", transient=not missing) from None
        except FileNotFoundError:
            raise _Attempt(f"{shown}: no such file", transient=False) from None
        except TimeoutError:  # connected, then silent for the read time-out
            raise _Attempt(f"{shown}: no data for {self.timeouts.read:g} s after {received} byte(s) (read time-out; "
                           f"{READ_VARIABLE})", transient=False, temporary=True) from None
        except (OSError, http.client.HTTPException) as error:  # reset, timeout, broken chunked body
            raise _Attempt(f"{shown}: {_reason(error)}", transient=True) from None
        return received, total


@contextlib.contextmanager
def _open(url: str, path: str | None, timeouts: Timeouts):
    """``(stream, announced length)`` for a URL (http, https, file) or a plain path."""
    if path is not None:
        with open(path, "rb") as handle:
            yield handle, os.fstat(handle.fileno()).st_size
        return
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    opener = urllib.request.build_opener(_TimedHandler(timeouts.read))
    with opener.open(request, timeout=timeouts.connect) as response:
        length = response.headers.get("Content-Length")
        yield response, int(length) if length and length.isdigit() else None


# urllib has one time-out for connecting and reading; these connections switch to the read time-out
# once connected (for https, once the TLS handshake is done), so the two limits are separate.


class _TimedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, read_timeout: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout

    def connect(self) -> None:
        super().connect()  # HTTPSConnection's, TLS included, for the https class below
        self.sock.settimeout(self.read_timeout)


class _TimedHTTPSConnection(_TimedHTTPConnection, http.client.HTTPSConnection):
    pass


class _TimedHandler(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    """http and https with the read time-out (it replaces both of urllib's default handlers)."""

    def __init__(self, read_timeout: float):
        super().__init__()
        self.read_timeout = read_timeout

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_TimedHTTPConnection, read_timeout=self.read_timeout), req)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_TimedHTTPSConnection, read_timeout=self.read_timeout), req)


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def _expected(wanted: Wanted) -> str:
    if wanted.digest:
        return f"expected {wanted.hash_type} {wanted.digest}"
    return "no expected hash"


def file_hash(path: Path, hash_type: str) -> str:
    hasher = hashlib.new(hash_type)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()


def obtain_all(cache: LookasideCache, wanted: Sequence[Wanted], *, jobs: int = DEFAULT_JOBS,
               progress: ProgressCallback | None = None) -> list[Obtained]:
    """Every wanted file in the cache, downloaded in parallel; raise the first failure (by name).

    Files with the same known hash are downloaded once. Files that did arrive stay in the cache (they
    are verified), even when another one failed.
    """
    unique: dict[tuple[str | None, str | None] | str, Wanted] = {}
    for item in wanted:
        key = (item.hash_type, item.digest) if item.digest else item.filename
        unique.setdefault(key, item)
    results: dict[object, Obtained] = {}
    errors: list[tuple[str, UpstreamError]] = []
    workers = max(1, min(jobs, len(unique)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lookaside") as pool:
        futures = {pool.submit(cache.obtain, item, progress): key for key, item in unique.items()}
        for future in concurrent.futures.as_completed(futures):
            try:
                results[futures[future]] = future.result()
            except UpstreamError as error:
                errors.append((unique[futures[future]].filename, error))
    if errors:
        errors.sort(key=lambda pair: pair[0])
        first = errors[0][1]
        if len(errors) > 1:
            first.message += f" (and {len(errors) - 1} more failed: {', '.join(name for name, _ in errors[1:])})"
        raise first
    out = []
    for item in wanted:
        got = results[(item.hash_type, item.digest) if item.digest else item.filename]
        out.append(Obtained(item.filename, got.hash_type, got.digest, got.path, got.url))
    return out


# --- into a destination -------------------------------------------------------------------------


def place(obtained: Iterable[Obtained], dest: Path, *, link: bool = False) -> list[Path]:
    """Put each cached file into ``dest`` under its own name, atomically (temporary name, then rename).

    Copies by default: a hard link shares the cache's inode, so a later step that rewrote the file in
    place (as an archive overlay might, running as root) would damage the cache for every build.
    """
    dest.mkdir(parents=True, exist_ok=True)
    placed = []
    for item in obtained:
        target = dest / item.filename
        fd, tmp_name = tempfile.mkstemp(prefix=f".{item.filename}.", suffix=".tmp", dir=dest)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            if link:
                tmp.unlink()
                try:
                    os.link(item.path, tmp)
                except OSError:  # another file system, or links not allowed: copy instead
                    shutil.copyfile(item.path, tmp)
                    tmp.chmod(0o644)
            else:
                shutil.copyfile(item.path, tmp)
                tmp.chmod(0o644)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        placed.append(target)
    return placed


def fetch_lookaside(sources_dir: Path, *, package: str, template: str | None, cache: LookasideCache, dest: Path,
                    skip: Iterable[str] = (), jobs: int = DEFAULT_JOBS, progress: ProgressCallback | None = None,
                    link: bool = False) -> list[Obtained]:
    """The tarballs ``sources_dir/sources`` names, verified, in ``dest`` (what a build needs).

    ``skip`` names files supplied another way (``source-files`` replacing upstream ones). A file
    already in ``dest`` with the right hash is kept as is. Nothing is written to ``dest`` unless
    every file was obtained, so a failure leaves ``dest`` as it was.
    """
    skipped = set(skip)
    entries = [e for e in read_sources(sources_dir) if e.filename not in skipped]
    wanted = [
        Wanted(e.filename, e.hash_type, e.digest,
               (lookaside_url(template, package, e.filename, e.hash_type, e.digest),) if template else ())
        for e in entries
        if not already_there(dest / e.filename, e.hash_type, e.digest)
    ]
    obtained = obtain_all(cache, wanted, jobs=jobs, progress=progress)
    place(obtained, dest, link=link)
    return obtained


def already_there(path: Path, hash_type: str, digest: str) -> bool:
    """Whether ``path`` is a regular file with exactly that hash (so it need not be fetched again)."""
    return path.is_file() and not path.is_symlink() and file_hash(path, hash_type) == digest
