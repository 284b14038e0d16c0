"""What a command read, so that its answer can be given again while none of it has changed.

A command that only reads its project (``trib comp list``) is a function of the files it opens, the
directories it lists and a few questions it asks the file system without opening anything: is there an
``azldev.toml`` here, where does this path really lead. ``recording`` collects all three. An audit hook
(PEP 578) sees every open and every directory listing, so a read added to such a command later is caught
without anyone remembering to note it; the questions are asked through ``is_file`` and ``real_path``,
which note their answers. Reads made by the import system are code, not input, and are left out.

A recording is spoiled, and its answer never reused, by anything whose effect cannot be checked later:
a write, a program started, a socket connected. Inputs are checked by what they hold (a file's bytes,
a directory's entries), not by their timestamps, but those bytes are taken when the command ends, so an
input modified while the command ran would be recorded as it is after the change with an answer made
from before it: an input whose modification time is not clearly before the command's start spoils the
recording too (a file put in place by a rename that keeps an older time escapes this; it is the one
change the check is blind to, and only while a command runs).

Only the standard library is imported here: the command line checks a recording before anything else
is loaded, and that check must stay cheap.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import time
from _blake2 import blake2b
from collections.abc import Callable, Iterator
from pathlib import Path

# An input modified this close to the command's start may have been modified after it was read: file
# systems stamp times from a clock that lags ours by up to a tick, and a file server's clock may differ
# from ours by more, hence a margin well above a tick.
RACY_NS = 1_000_000_000

# Kinds of check, as stored in a recording (short strings keep the stored form small and stable).
FILE = "f"  # path -> the digest of its bytes, or None when it does not exist
LISTING = "d"  # directory -> the digest of its entries' names and kinds, or None when it does not exist
IS_FILE = "i"  # path -> whether it is a regular file (following links)
IS_DIR = "D"  # path -> whether it is a directory (following links)
IS_LINK = "l"  # path -> whether it is a symbolic link
REAL_PATH = "r"  # path -> where it leads, every link followed

Check = tuple[str, str, object]


class Recording:
    """The inputs of one command while it runs; ``checks`` turns them into what can be verified later."""

    def __init__(self) -> None:
        self.started_ns = time.time_ns()
        self.opened: set[str] = set()
        self.listed: set[str] = set()
        self.answers: dict[tuple[str, str], object] = {}
        self.spoiled: str | None = None

    def spoil(self, reason: str) -> None:
        if self.spoiled is None:
            self.spoiled = reason

    def checks(self) -> list[Check] | None:
        """Every input with what it held, or None when the answer must not be reused."""
        if self.spoiled is not None:
            return None
        checks: list[Check] = [(kind, path, answer) for (kind, path), answer in sorted(self.answers.items())]
        for kind, paths in ((FILE, self.opened), (LISTING, self.listed)):
            for path in sorted(paths):
                if self._racy(path):
                    return None
                checks.append((kind, path, observe(kind, path)))
        return checks

    def _racy(self, path: str) -> bool:
        """Whether ``path`` may have changed since the command read it. For a path that is not there,
        its nearest directory says: removing or renaming an entry stamps the directory that held it."""
        while True:
            try:
                return os.stat(path).st_mtime_ns >= self.started_ns - RACY_NS
            except (FileNotFoundError, NotADirectoryError):
                parent = os.path.dirname(path)
                if parent == path:
                    return False
                path = parent
            except OSError:
                return True  # cannot tell: not trusted


_active: Recording | None = None
_hooked = False


@contextlib.contextmanager
def recording() -> Iterator[Recording]:
    """Record what the code in the block reads (one recording at a time, in the main thread)."""
    global _active, _hooked
    if _active is not None:
        raise RuntimeError("a recording is already running")
    if not _hooked:
        sys.addaudithook(_audit)  # cannot be removed: it does nothing while no recording runs
        _hooked = True
    _active = Recording()
    try:
        yield _active
    finally:
        _active = None


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_SPOILERS = {
    "subprocess.Popen": "started a program",
    "os.system": "started a program",
    "os.posix_spawn": "started a program",
    "os.exec": "started a program",
    "os.fork": "forked",
    "socket.connect": "connected a socket",
    "socket.bind": "bound a socket",
    "os.remove": "removed a file",
    "os.rename": "renamed a file",
    "os.mkdir": "made a directory",
    "os.rmdir": "removed a directory",
    "os.symlink": "made a link",
    "os.truncate": "truncated a file",
}


def _audit(event: str, args: tuple[object, ...]) -> None:
    active = _active
    if active is None or (event not in _NOTED and event not in _SPOILERS) or _from_import():
        return  # the import system reads code and writes bytecode: neither is the command's doing
    if event == "open":
        path, mode, flags = args
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & _WRITE_FLAGS)  # type: ignore[operator]
        if writes:
            active.spoil(f"wrote {path!r}")
        elif isinstance(path, (str, bytes, os.PathLike)):
            active.opened.add(_absolute(path))
    elif event in ("os.listdir", "os.scandir"):
        (path,) = args
        if not isinstance(path, int):  # a listing by descriptor names a directory opened (and noted) already
            active.listed.add(_absolute(path if path is not None else "."))  # type: ignore[arg-type]
    else:
        active.spoil(_SPOILERS[event])


_NOTED = frozenset({"open", "os.listdir", "os.scandir"})


def _from_import() -> bool:
    """Whether the open or listing under way is the import system finding or loading code.

    Only the direct caller counts: a data file a module reads while it is being imported is input.
    """
    try:
        caller = sys._getframe(2)  # 0 is this function, 1 the hook
    except ValueError:
        return False  # raised with no Python caller at all: not the import system, which is Python
    return caller.f_code.co_filename.startswith("<frozen importlib")


def _absolute(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> str:
    """``path`` made absolute as the system call saw it: not normalised, since ``link/..`` is not ``.``."""
    return os.path.join(os.getcwd(), os.fsdecode(path))


def is_file(path: Path) -> bool:
    """``path.is_file()``, with the answer noted in the recording that runs."""
    return bool(_noted(IS_FILE, path))


def is_dir(path: Path) -> bool:
    """``path.is_dir()``, with the answer noted in the recording that runs."""
    return bool(_noted(IS_DIR, path))


def is_symlink(path: Path) -> bool:
    """``path.is_symlink()``, with the answer noted in the recording that runs."""
    return bool(_noted(IS_LINK, path))


def real_path(path: Path) -> Path:
    """``path.resolve()``, with the answer noted in the recording that runs."""
    answer = path.resolve()
    if _active is not None:
        _active.answers[(REAL_PATH, _absolute(path))] = str(answer)
    return answer


def _noted(kind: str, path: Path) -> object:
    answer = observe(kind, os.fspath(path))
    if _active is not None:
        _active.answers[(kind, _absolute(path))] = answer
    return answer


def observe(kind: str, path: str) -> object:
    """What ``path`` holds now, in the terms a check of ``kind`` compares. Never raises: a path that
    cannot be looked at (a link loop, no permission) is described by why, which a later look compares."""
    try:
        return _OBSERVERS[kind](path)
    except (OSError, RuntimeError, ValueError) as error:  # RuntimeError: Python 3.11's link loop
        return f"{type(error).__name__}: {getattr(error, 'errno', None)}"


def _digest(path: str) -> object:
    """The blake2b of a regular file's bytes; None when there is none. Opened without blocking, so that a
    FIFO put where a file was is described, not waited on."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            return f"not a regular file: {stat.S_IFMT(mode):o}"
        return blake2b(handle.read(), digest_size=16).digest()


def _listing(path: str) -> object:
    """The digest of a directory's entries: names, and what each is (a link by what it leads to, as a
    glob that passes over links to directories and to files tells them apart); None when there is none."""
    try:
        with os.scandir(path) as entries:
            names = sorted(f"{_kind(entry)}{entry.name}" for entry in entries)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return blake2b("\0".join(names).encode("utf-8", "surrogateescape"), digest_size=16).digest()


def _kind(entry: os.DirEntry[str]) -> str:
    if entry.is_symlink():
        return "l" + ("d" if entry.is_dir() else "f" if entry.is_file() else "-")
    if entry.is_dir(follow_symlinks=False):
        return "d"
    return "f" if entry.is_file(follow_symlinks=False) else "o"


def _real(path: str) -> str:
    return str(Path(path).resolve())


_OBSERVERS: dict[str, Callable[[str], object]] = {
    FILE: _digest,
    LISTING: _listing,
    IS_FILE: os.path.isfile,
    IS_DIR: os.path.isdir,
    IS_LINK: os.path.islink,
    REAL_PATH: _real,
}


def unchanged(checks: list[Check]) -> bool:
    """Whether every input still holds what it held when it was recorded."""
    return all(kind in _OBSERVERS and observe(kind, path) == expected for kind, path, expected in checks)
