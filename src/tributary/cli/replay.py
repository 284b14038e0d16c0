"""Give a read-only command's answer again, without running it, while nothing it read has changed.

Scripts ask the same question many times: ``trib -O json comp list -a`` in a loop over components, in
each step of a pipeline. Its answer is a function of the command line, the working directory, the
environment, tributary's own code and what ``tributary.inputs`` saw it read, so the answer is kept under
``$XDG_CACHE_HOME/tributary/answers`` with all of that, and given again only after every input has been
checked to hold what it held (each file's bytes, each directory's entries, each path's target), as
Python keeps bytecode until its source changes. Checking costs a fraction of loading the project, and
loading the command-line layer and the configuration models is skipped altogether.

Only the commands ``cli.conventions.REUSABLE`` lists are kept: those that only read the project. An
answer is not kept when its command failed, wrote anything, started a program, read a terminal or a
pipe (see ``tributary.inputs``), or wrote to a terminal or in an encoding with a byte-order mark or a
shift state. ``TRIB_NO_REPLAY=1`` turns it all off. Giving an answer imports nothing but the standard
library (this module and ``tributary.inputs``).
"""

from __future__ import annotations

import codecs
import contextlib
import io
import itertools
import marshal
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tributary import inputs

FORMAT = 2  # of a stored answer; a tributary that stores another shape changes it
# Answers kept, those used last: at most this many, and this many bytes in all (an answer holds its
# command's whole output, 4 MB for a JSON list of 7,600 components).
KEEP = 64
KEEP_BYTES = 256 * 1024 * 1024
DISABLE_VARIABLE = "TRIB_NO_REPLAY"
# Set by the shell between two identical commands without changing what either means.
_VOLATILE = frozenset({"_", "OLDPWD", "SHLVL"})


def directory() -> Path | None:
    """Where answers are kept: ``$XDG_CACHE_HOME`` when it is absolute (the XDG rule), else ``~/.cache``;
    None when neither is absolute (no home: ``~`` left as it is), rather than somewhere below here."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "tributary", "answers") if os.path.isabs(base) else None


def _enabled() -> bool:
    """Whether answers are kept and given: not when turned off, nor when either stream is closed (Python
    then has no stream to write to) or stdout is a terminal (a person reads it; scripts are what ask again)."""
    return (not os.environ.get(DISABLE_VARIABLE) and sys.stdout is not None and sys.stderr is not None
            and not os.isatty(1) and directory() is not None)


def _terminals() -> list[object]:
    """For stdin, stdout and stderr: the terminal's size, or False for a file or a pipe (rich sizes a
    table by the first of them that is a terminal)."""
    sizes: list[object] = []
    for fd in (0, 1, 2):
        try:
            sizes.append(tuple(os.get_terminal_size(fd)) if os.isatty(fd) else False)
        except OSError:
            sizes.append(False)
    return sizes


def _key(argv: list[str]) -> str | None:
    """What the answer depends on besides its inputs and code: the question, where it is asked, the
    environment, the terminals, and which Python with which module path (another install of tributary
    on it leaves the old one's files unchanged)."""
    try:
        cwd = os.getcwd()
    except OSError:
        return None  # the working directory is gone: nothing to key on
    environment = sorted((k, v) for k, v in os.environ.items() if k not in _VOLATILE)
    question = (FORMAT, sys.executable, sys.version, sys.flags, sys.path, argv, cwd, environment, _terminals())
    return inputs.blake2b(repr(question).encode("utf-8", "surrogateescape"), digest_size=20).hexdigest()


def replayed(argv: list[str]) -> int | None:
    """Write out the kept answer to ``argv`` and return its exit status; None when there is none to give."""
    if not _enabled():
        return None
    key = _key(argv)
    if key is None:
        return None
    home = directory()
    try:
        assert home is not None  # _enabled
        shape, checks, code, status, writes = marshal.loads(_read_own(home, key))
        if shape != FORMAT or not _code_unchanged(code) or not inputs.unchanged(checks):
            return None
    except Exception:  # none kept, or one this tributary cannot read (any fault of it): run the command
        return None
    try:
        for fd, data in writes:  # in the order they were written, as `2>&1` would have interleaved them
            _write_all(fd, data)
    except BrokenPipeError:
        return 1  # the reader stopped reading (`trib ... | head`): the command's own exit status then
    except OSError as error:  # a full disk: as the command itself would say it
        from tributary.errors import system_error

        with contextlib.suppress(OSError):
            _write_all(2, f"error: {system_error(error)}\n".encode())
        return 1
    return int(status)


def _read_own(home: Path, name: str) -> bytes:
    """The bytes of answer ``name``, if it and its directory are this user's and only this user may change
    them: an answer someone else could have written is never given. Checked on what was opened (no link
    followed), so nothing can be swapped in between the check and the read. Its time becomes now."""
    directory_fd = os.open(home, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        _check_own(directory_fd)
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory_fd)
    finally:
        os.close(directory_fd)
    with os.fdopen(fd, "rb") as handle:
        _check_own(fd)
        os.utime(fd)  # used now: the answers kept are those used last
        return handle.read()


def _check_own(fd: int) -> None:
    status = os.fstat(fd)
    if status.st_uid != os.geteuid() or status.st_mode & 0o022:
        raise PermissionError("may be changed by someone else")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _code_unchanged(code: list[tuple[str, int, int]]) -> bool:
    """Whether every module the command ran is as it was (Python's own test for bytecode: mtime and size)."""
    for path, mtime_ns, size in code:
        try:
            status = os.stat(path)
        except OSError:
            return False
        if status.st_mtime_ns != mtime_ns or status.st_size != size:
            return False
    return True


class _Session:
    """One command run as the console script: once it says it only reads its project, what it reads
    and what it prints."""

    def __init__(self, key: str) -> None:
        self.key = key  # made before the command runs: commands set environment variables of their own
        self.streams: tuple[_Tee, _Tee] | None = None
        self.recording: inputs.Recording | None = None
        self.started_ns = 0

    def capture(self) -> None:
        if self.streams is not None or not all(_stateless(stream) for stream in (sys.stdout, sys.stderr)):
            return
        self.started_ns = time.time_ns()
        self.recording = inputs.begin()
        log = _Log()
        self.streams = (_Tee(sys.stdout, 1, log), _Tee(sys.stderr, 2, log))
        sys.stdout, sys.stderr = self.streams

    def release(self) -> list[tuple[int, bytes]] | None:
        """Put the real streams back; what was written to them, or None when it was not all captured."""
        if self.streams is None:
            return None
        inputs.end()
        out, err = self.streams
        sys.stdout, sys.stderr = out.stream, err.stream
        self.streams = None
        return out.log.writes() if out.log.whole else None

    def keep(self, status: int, writes: list[tuple[int, bytes]]) -> None:
        try:
            checks = self.recording.checks() if self.recording else None
            code = _code_files(self.started_ns)
            if checks is None or code is None:
                return
            _store(self.key, marshal.dumps((FORMAT, checks, code, status, writes)))
        except Exception:  # a full disk, a read-only home, a module marshal cannot store: nothing kept,
            return  # and the command, which succeeded, still does


def _stateless(stream: Any) -> bool:
    """Whether text written in pieces encodes to the same bytes as written at once (no byte-order mark
    or shift state), so that the pieces kept are the bytes the command wrote."""
    try:
        return codecs.lookup(stream.encoding).name in _STATELESS
    except (AttributeError, LookupError, TypeError):
        return False


_STATELESS = frozenset({"utf-8", "ascii", "iso8859-1"})
_session: _Session | None = None


@contextlib.contextmanager
def session(argv: list[str]) -> Iterator[_Session | None]:
    """The command run inside the block, so that ``finish`` can keep its answer."""
    global _session
    key = _key(argv) if _enabled() else None
    if key is None:
        yield None
        return
    _session = _Session(key)
    try:
        yield _session
    finally:
        _session.release()
        _session = None


def finish(current: _Session | None, status: int) -> None:
    """Keep the answer of a command that succeeded and said it may be kept."""
    if current is None:
        return
    written = current.release()
    if status == 0 and written is not None:
        current.keep(status, written)


def capture() -> None:
    """Record what the running command reads and keep what it prints from here on, as its answer
    (``cli.conventions`` calls this first thing for each command it lists in ``REUSABLE``: those that
    only read their project)."""
    if _session is not None:
        _session.capture()


# Code lives on a local disk, stamped by this machine's clock, which lags ours by a tick at most: a module
# stamped before this margin was in place when the command started, so the command ran it.
_CODE_RACY_NS = 50_000_000


def _code_files(started_ns: int) -> list[tuple[str, int, int]] | None:
    """Each loaded module's file with its mtime and size; None when one may have changed while it ran."""
    files = []
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not path:
            continue
        try:
            status = os.stat(path)
        except OSError:
            continue
        if status.st_mtime_ns >= started_ns - _CODE_RACY_NS:
            return None
        files.append((path, status.st_mtime_ns, status.st_size))
    return sorted(files)


_ABANDONED_NS = 3600 * 1_000_000_000


def _store(key: str, answer: bytes) -> None:
    """Write the answer beside its place and rename it in; drop those used longest ago beyond ``KEEP``."""
    home = directory()
    assert home is not None  # a session is made only when there is a directory
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=home, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(answer)
        os.replace(temporary, home / key)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    entries = [(entry.stat(), entry) for entry in os.scandir(home)]
    newest_first = sorted(((status.st_mtime_ns, status.st_size, entry.path) for status, entry in entries
                           if not entry.name.startswith(".")), reverse=True)
    total, unwanted = 0, []
    for count, (_, size, path) in enumerate(newest_first, 1):
        total += size
        if count > KEEP or total > KEEP_BYTES:
            unwanted.append(path)
    # A temporary file is someone's answer being written, unless it is older than any write takes: then
    # it is what a killed command left.
    unwanted += [entry.path for status, entry in entries
                 if entry.name.startswith(".") and status.st_mtime_ns < time.time_ns() - _ABANDONED_NS]
    for path in unwanted:
        with contextlib.suppress(OSError):
            os.unlink(path)


class _Log:
    """What the two streams were given, in order, up to a limit."""

    LIMIT = 64 * 1024 * 1024  # characters; an answer larger than this is written out, not kept

    def __init__(self) -> None:
        self.chunks: list[tuple[int, str, str, str]] = []  # (fd, text, encoding, errors)
        self.size = 0
        self.whole = True

    def add(self, fd: int, text: str, stream: Any) -> None:
        if not self.whole:
            return
        self.size += len(text)
        if self.size > self.LIMIT:
            self.whole, self.chunks = False, []
        else:
            self.chunks.append((fd, text, stream.encoding, stream.errors or "strict"))

    def writes(self) -> list[tuple[int, bytes]]:
        """The bytes each descriptor got, consecutive writes to one descriptor joined."""
        return [(fd, b"".join(text.encode(encoding, errors) for _, text, encoding, errors in run))
                for fd, run in itertools.groupby(self.chunks, key=lambda chunk: chunk[0])]


class _Tee(io.TextIOBase):
    """A text stream that writes through to ``stream`` and notes what it wrote in ``log``."""

    def __init__(self, stream: Any, fd: int, log: _Log) -> None:
        self.stream = stream
        self.fd = fd
        self.log = log

    def write(self, text: str) -> int:
        written = self.stream.write(text)
        self.log.add(self.fd, text, self.stream)
        return written  # type: ignore[no-any-return]

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return bool(self.stream.isatty())

    def fileno(self) -> int:
        return int(self.stream.fileno())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(self.stream.encoding)
