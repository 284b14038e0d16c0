"""A built RPM file: its header read once into typed fields, and its payload walked without unpacking.

The one reader of RPM files for every stage that consumes what the build produced: publishing sorts
them into channels, the SBOM describes them, the release audit walks their payloads. rpm's own Python
bindings read them; signatures and digests are not checked here (``rpm -K`` and dnf do that).
"""

from __future__ import annotations

import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rpm

from tributary.errors import TribError
from tributary.tools.rpm import nevra

# rpm's payload compressor names -> the rpmio type that decompresses them.
_RPMIO = {"gzip": "gzdio", "bzip2": "bzdio", "xz": "xzdio", "lzma": "lzdio", "zstd": "zstdio"}


class RpmFileError(TribError):
    """An RPM file's header or payload cannot be read."""


@dataclass(frozen=True)
class RpmHeader:
    """What the stages read from an RPM's header."""

    path: Path
    name: str
    epoch: int | None
    version: str
    release: str
    arch: str
    """``src`` for a source RPM (whose header names the build machine's arch)."""
    source_rpm: str
    """The source RPM's file name; empty for a source RPM itself."""
    build_time: int
    license: str
    size: int
    file_count: int
    header_sha256: str | None
    payload_compressor: str

    @property
    def nevra(self) -> str:
        return nevra(self.name, self.epoch, self.version, self.release, self.arch)

    @property
    def is_source(self) -> bool:
        return self.arch == "src"

    @property
    def source_name(self) -> str:
        """The source package's name: the RPM's own for a source RPM, else from ``source_rpm``
        (``hello-1.0-1.fc43.src.rpm`` -> ``hello``)."""
        if self.is_source:
            return self.name
        return re.sub(r"\.(?:no)?src\.rpm$", "", self.source_rpm).rsplit("-", 2)[0]


def read_rpm(path: Path) -> RpmHeader:
    """The header of the RPM at ``path``; an RpmFileError naming the file when it is no RPM."""
    with _opened(path) as (_, header):
        return _typed(Path(path), header)


@contextmanager
def payload(path: Path) -> Iterator[tuple[RpmHeader, Any]]:
    """The header and rpm's archive reader of the payload: iterate it for entries (``name``, ``mode``),
    ``hascontent()`` and ``read(n)`` the current one. Every descriptor is closed on leaving, also when
    the caller stops early."""
    with _opened(path) as (fd, header):
        typed = _typed(Path(path), header)
        stream = rpm.fd(fd, "r", flags=_RPMIO.get(typed.payload_compressor, f"{typed.payload_compressor}dio"))
        try:
            yield typed, rpm.files(header).archive(stream)
        except (OSError, rpm.error) as error:
            raise RpmFileError(f"cannot read the RPM payload: {error}", where=str(path)) from error
        finally:
            stream.close()


@contextmanager
def _opened(path: Path) -> Iterator[tuple[Any, Any]]:
    ts = rpm.TransactionSet()
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES | rpm._RPMVSF_NODIGESTS)
    try:
        fd = rpm.fd.open(str(path))
    except (OSError, rpm.error) as error:
        raise RpmFileError(f"cannot read the RPM header: {error}", where=str(path)) from error
    try:
        with _rpm_log() as said:
            try:
                header = ts.hdrFromFdno(fd)
            except (OSError, rpm.error) as error:
                raise RpmFileError(f"cannot read the RPM header: {said() or error}", where=str(path)) from error
        yield fd, header
    finally:
        fd.close()


_LOG_LOCK = threading.Lock()


@contextmanager
def _rpm_log() -> Iterator[Callable[[], str]]:
    """Keep what librpm logs (it writes ``error: <file>: hdr blob(...): BAD`` to stderr itself) for the
    error message, so a damaged package is one line of ours. librpm's log is global: one at a time."""
    with _LOG_LOCK, tempfile.TemporaryFile("w+") as log:
        rpm.setLogFile(log)
        try:
            yield lambda: _last_complaint(log)
        finally:
            rpm.setLogFile(sys.__stderr__)  # not sys.stderr: a test's capture is no file


def _last_complaint(log: Any) -> str:
    log.seek(0)
    lines = [line.strip() for line in log.read().splitlines() if line.strip()]
    # "error: /path/x.rpm: signature hdr blob(4388): BAD, read returned 0": the reason is after the file
    return lines[-1].removeprefix("error: ").split(": ", 1)[-1] if lines else ""


def _typed(path: Path, header: Any) -> RpmHeader:
    source_rpm = text(header[rpm.RPMTAG_SOURCERPM])
    epoch = header[rpm.RPMTAG_EPOCH]
    return RpmHeader(
        path=path,
        name=text(header[rpm.RPMTAG_NAME]),
        epoch=int(epoch) if epoch is not None else None,
        version=text(header[rpm.RPMTAG_VERSION]),
        release=text(header[rpm.RPMTAG_RELEASE]),
        arch=text(header[rpm.RPMTAG_ARCH]) if source_rpm else "src",
        source_rpm=source_rpm,
        build_time=int(header[rpm.RPMTAG_BUILDTIME] or 0),
        license=text(header[rpm.RPMTAG_LICENSE]),
        size=int(header[rpm.RPMTAG_SIZE] or 0),
        file_count=len(header[rpm.RPMTAG_BASENAMES] or []),
        header_sha256=text(header[rpm.RPMTAG_SHA256HEADER]) or None,
        payload_compressor=text(header[rpm.RPMTAG_PAYLOADCOMPRESSOR]) or "gzip",
    )


def text(value: object) -> str:
    """An rpm header value as text: tags come back as bytes or str depending on rpm's Python bindings."""
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
