"""The content-addressed artifact store of a distributed build: everything named by its sha256.

A build on a Dask worker reads nothing of the client's disk: its task (``tributary.build.task``) names
by sha256 the prepared sources (a tarball), the macros text, and every ``file://`` repository of its
roots (a *manifest*: each file's path in the repository and its sha256: the stage-0 repository, a
previous stage's packages, the packages of this run it needs). The client serves those blobs over
HTTP on its own address, on a port chosen at random, for the duration of the run (HTTPS with the
cluster's certificates when Dask is configured for TLS, each side checking the other's certificate
against the cluster's CA, as Dask does); a worker fetches what it lacks, checks every byte against
the name it asked for, and uploads its results (SRPM, RPMs, log) the same way: the server keeps an
upload only when its content matches the name it was sent under, and the client checks it again as
it writes it into the output directory.

Blobs made for the run (tarballs, uploads, manifests) live in a directory the client removes at the
end; files that already exist (a repository's packages) are served from where they are, never copied.
Every request carries the run's random token, which reaches the workers inside their tasks (over
Dask's connection, encrypted with TLS), so nobody else on the network can read or fill the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import shutil
import ssl
import stat
import tarfile
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tributary.errors import TribError
from tributary.fsutil import atomic_output, check_relative

CHUNK = 1 << 20
TIMEOUT = 300.0
"""Seconds one request to the store may stall before it fails (a whole package at a time)."""
MANIFEST_FORMAT = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ArtifactError(TribError):
    """An artifact is missing, cannot be fetched, or does not match its sha256."""


def digest_of(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def check_name(sha: str) -> str:
    if not _SHA256.match(sha):
        raise ArtifactError(f"{sha!r} is not a sha256 name")
    return sha


def copy_verified(reader: BinaryIO, target: Path, sha: str, *, what: str, mode: int = 0o644) -> Path:
    """Write what ``reader`` holds beside ``target`` and rename it into place if its sha256 is ``sha``;
    ArtifactError (and nothing written) if not."""
    digest = hashlib.sha256()
    with atomic_output(target, mode=mode) as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            writer.write(chunk)
        if digest.hexdigest() != sha:
            raise ArtifactError(f"hash mismatch: {what} should have sha256 {sha}, got {digest.hexdigest()}",
                                hint="the store or the connection altered it; nothing was written")
    return target


# --- The client's side ------------------------------------------------------------------------------


class ArtifactStore:
    """Blobs under ``directory``, plus files served from where they are (``add_file``)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, Path] = {}
        self._manifests: dict[tuple[Path, str], str] = {}
        self._lock = threading.Lock()

    def path(self, sha: str) -> Path | None:
        """Where the blob ``sha`` is on this machine, if the store has it."""
        with self._lock:
            known = self._files.get(sha)
        if known is not None:
            return known
        blob = self.directory / check_name(sha)
        return blob if blob.is_file() else None

    def add_file(self, path: Path) -> str:
        """Serve ``path`` where it is, under its sha256 (the file must not change during the run)."""
        sha = digest_of(path)
        with self._lock:
            self._files[sha] = path
        return sha

    def add_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        target = self.directory / sha
        if not target.is_file():
            with atomic_output(target, mode=0o644) as handle:
                handle.write(data)
        return sha

    def add_tree(self, directory: Path) -> str:
        """``directory`` as a tarball blob (``pack``)."""
        with tempfile.NamedTemporaryFile(dir=self.directory, prefix=".tree.", suffix=".tar", delete=False) as handle:
            temporary = Path(handle.name)
            try:
                pack(directory, handle)  # type: ignore[arg-type]
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
        sha = digest_of(temporary)
        os.replace(temporary, self.directory / sha)
        return sha

    def add_repository(self, directory: Path, repomd_sha256: str) -> str:
        """The manifest of the repository in ``directory`` (every file with its sha256), its files served
        where they are. ArtifactError if its ``repodata/repomd.xml`` is no longer the one pinned."""
        key = (directory, repomd_sha256)
        with self._lock:
            known = self._manifests.get(key)
        if known is not None:
            return known
        files: dict[str, str] = {}
        for path in sorted(directory.rglob("*")):
            mode = path.lstat().st_mode
            if stat.S_ISDIR(mode):
                continue
            if not stat.S_ISREG(mode):
                raise ArtifactError(f"{path} is not a regular file; a repository sent to workers holds files only")
            files[path.relative_to(directory).as_posix()] = self.add_file(path)
        if files.get("repodata/repomd.xml") != repomd_sha256:
            raise ArtifactError(f"repository {directory.as_uri()} changed since it was pinned (repomd.xml sha256 "
                                f"{files.get('repodata/repomd.xml')}, pinned {repomd_sha256})")
        manifest = {"format": MANIFEST_FORMAT, "repomd": repomd_sha256, "files": files}
        sha = self.add_bytes(json.dumps(manifest, sort_keys=True).encode())
        with self._lock:
            self._manifests[key] = sha
        return sha

    def receive(self, sha: str, reader: BinaryIO, length: int) -> None:
        """Keep ``length`` bytes from ``reader`` as blob ``sha`` if they hash to it (an upload)."""
        copy_verified(_Limited(reader, length), self.directory / check_name(sha), sha,  # type: ignore[arg-type]
                      what="an upload")

    def take(self, sha: str, target: Path, *, what: str, mode: int = 0o644) -> Path:
        """Write blob ``sha`` to ``target`` atomically, checked again on the way."""
        source = self.path(sha)
        if source is None:
            raise ArtifactError(f"{what}: the store has no blob {sha}")
        with source.open("rb") as reader:
            return copy_verified(reader, target, sha, what=what, mode=mode)

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class _Limited:
    """At most ``left`` bytes of ``reader``."""

    def __init__(self, reader: BinaryIO, left: int):
        self.reader = reader
        self.left = left

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        data = self.reader.read(min(self.left, size if size > 0 else CHUNK))
        self.left = self.left - len(data) if data else 0
        return data


class StoreServer:
    """``store`` served on ``host`` (a random port): ``GET /blob/<sha256>`` and ``PUT /blob/<sha256>``,
    each with the run's token; HTTPS when ``tls`` (a server-side SSL context) is given."""

    def __init__(self, store: ArtifactStore, *, host: str, tls: ssl.SSLContext | None = None):
        self.store = store
        self.token = secrets.token_hex(16)
        self.httpd = _QuietServer((host, 0), _handler(self))
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        scheme = "https" if tls is not None else "http"
        shown_host = f"[{host}]" if ":" in host else host
        self.url = f"{scheme}://{shown_host}:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="trib-artifact-store", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that breaks off (or fails the TLS handshake) is its own problem: nothing is printed
        over the build's output."""


def _handler(server: StoreServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _blob(self) -> str | None:
            """The sha256 the path names, once the token is checked; None after an error reply."""
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {server.token}".encode()):
                self._reply(403, b"wrong or missing token\n")
                return None
            match = re.fullmatch(r"/blob/([0-9a-f]{64})", self.path)
            if match is None:
                self._reply(404, b"no such path\n")
                return None
            return match.group(1)

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            sha = self._blob()
            if sha is None:
                return
            path = server.store.path(sha)
            if path is None:
                self._reply(404, b"no such blob\n")
                return
            with path.open("rb") as handle:
                self.send_response(200)
                self.send_header("Content-Length", str(os.fstat(handle.fileno()).st_size))
                self.end_headers()
                shutil.copyfileobj(handle, self.wfile, CHUNK)

        def do_PUT(self) -> None:
            sha = self._blob()
            if sha is None:
                return
            try:
                length = int(self.headers["Content-Length"])
                server.store.receive(sha, self.rfile, length)  # type: ignore[arg-type]
            except (TypeError, ValueError, ArtifactError) as error:
                self.close_connection = True
                self._reply(400, f"{error}\n".encode())
                return
            self._reply(201, b"stored\n")

    return Handler


# --- A worker's side --------------------------------------------------------------------------------


class StoreClient:
    """The store at ``url`` as a worker sees it; every blob is checked against its name."""

    def __init__(self, url: str, token: str, *, tls: ssl.SSLContext | None = None, timeout: float = TIMEOUT):
        self.url = url.rstrip("/")
        self.token = token
        self.tls = tls
        self.timeout = timeout

    @contextlib.contextmanager
    def _open(self, sha: str, *, data: BinaryIO | None = None, length: int = 0) -> Iterator[BinaryIO]:
        request = urllib.request.Request(f"{self.url}/blob/{check_name(sha)}", method="PUT" if data else "GET",
                                         headers={"Authorization": f"Bearer {self.token}"})
        if data is not None:
            request.data = data  # type: ignore[assignment]
            request.add_header("Content-Length", str(length))
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.tls) as response:
                yield response
        except urllib.error.HTTPError as error:
            said = error.read().decode(errors="replace").strip()
            raise ArtifactError(f"artifact store {self.url}: {error.code} for {sha}: {said}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ArtifactError(f"artifact store {self.url} unreachable: {reason}") from None

    def fetch(self, sha: str, target: Path, *, what: str, mode: int = 0o644) -> Path:
        """Download blob ``sha`` to ``target`` (renamed into place only when it hashes to ``sha``)."""
        with self._open(sha) as response:
            return copy_verified(response, target, sha, what=what, mode=mode)

    def read(self, sha: str, *, what: str) -> bytes:
        with self._open(sha) as response:
            data = response.read()
        if hashlib.sha256(data).hexdigest() != sha:
            raise ArtifactError(f"hash mismatch: {what} should have sha256 {sha}, got "
                                f"{hashlib.sha256(data).hexdigest()}")
        return data

    def put(self, path: Path) -> str:
        """Upload ``path``; its sha256."""
        sha = digest_of(path)
        with path.open("rb") as handle, self._open(sha, data=handle, length=os.fstat(handle.fileno()).st_size):
            pass
        return sha


# --- Trees as tarballs --------------------------------------------------------------------------------


def pack(directory: Path, handle: BinaryIO) -> None:
    """The files below ``directory`` as a tar stream: sorted, with their modes and modification times
    (rpmbuild records both in the SRPM), owners left out. Only directories and regular files."""
    with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(directory.rglob("*")):
            info = path.lstat()
            entry = tarfile.TarInfo(path.relative_to(directory).as_posix())
            entry.mode = stat.S_IMODE(info.st_mode)
            entry.mtime = int(info.st_mtime)
            if stat.S_ISDIR(info.st_mode):
                entry.type = tarfile.DIRTYPE
                tar.addfile(entry)
            elif stat.S_ISREG(info.st_mode):
                entry.size = info.st_size
                with path.open("rb") as reader:
                    tar.addfile(entry, reader)
            else:
                raise ArtifactError(f"{path}: only files and directories can be sent to a worker")


def unpack(archive: Path, directory: Path) -> None:
    """Extract a ``pack`` tarball into ``directory``: files and directories only, each inside it."""
    directory.mkdir(parents=True, exist_ok=True)
    times: list[tuple[Path, int]] = []
    with tarfile.open(archive, mode="r:") as tar:
        for entry in tar:
            relative = check_relative(entry.name, what="archive member")
            target = directory / relative
            if entry.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif entry.isreg():
                target.parent.mkdir(parents=True, exist_ok=True)
                reader = tar.extractfile(entry)
                assert reader is not None
                with reader, target.open("xb") as writer:
                    shutil.copyfileobj(reader, writer, CHUNK)
            else:
                raise ArtifactError(f"{archive}: {entry.name}: only files and directories are accepted")
            os.chmod(target, entry.mode & 0o7777)
            times.append((target, int(entry.mtime)))
    for path, mtime in reversed(times):  # directories last: writing their files changed their times
        os.utime(path, (mtime, mtime))
