"""What a command read, so that its answer can be given again while none of it has changed.

A command that only reads its project (``trib comp list``) is a function of the files it opens, the
directories it lists and a few questions it asks the file system without opening anything: is there an
``azldev.toml`` here, where does this path really lead. ``recording`` collects all three. An audit hook
(PEP 578) sees every open and every directory listing, so a read added to such a command later is caught
without anyone remembering to note it; the questions are asked through ``is_file``, ``is_dir``,
``is_symlink`` and ``real_path``, which note their answers. Reads made by the import system are code,
not input, and are left out.

Each input is looked at when the command reaches it, before the command reads it: a file's bytes (its
blake2b), a directory's entries, a question's answer. Whatever changes afterwards, while the command
still runs or later, differs from what was noted, so the next check fails and the command runs again;
no timestamp is trusted, so neither a clock that lags nor a rename that keeps an older time matters.

A recording is spoiled, and its answer never reused, by anything whose effect cannot be checked later:
a write, a program started, a socket connected, or a read of something that is neither a regular file
nor a directory (a terminal, a FIFO: what it gave cannot be looked at again).

Only the standard library is imported here: the command line checks a recording before anything else
is loaded, and that check must stay cheap.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from _thread import get_ident
from collections.abc import Callable, Iterator
from pathlib import Path

try:
    from _blake2 import blake2b  # what hashlib would import, without loading OpenSSL (4 ms)
except ImportError:  # a Python built without its own hashes
    from hashlib import blake2b

# Kinds of check, as stored in a recording (short strings keep the stored form small and stable).
FILE = "f"  # path -> the digest of its bytes, or None when it does not exist
LISTING = "d"  # directory -> the digest of its entries' names and kinds, or None when it does not exist
IS_FILE = "i"  # path -> whether it is a regular file (following links)
IS_DIR = "D"  # path -> whether it is a directory (following links)
IS_LINK = "l"  # path -> whether it is a symbolic link
REAL_PATH = "r"  # path -> where it leads, every link followed

Check = tuple[str, str, object]


class Recording:
    """The inputs of one command while it runs, each with what it held when the command reached it."""

    def __init__(self) -> None:
        self.noted: dict[tuple[str, str], object] = {}
        self.spoiled: str | None = None

    def spoil(self, reason: str) -> None:
        if self.spoiled is None:
            self.spoiled = reason

    def note(self, kind: str, path: str, answer: object | None = None) -> None:
        """Note ``path`` as looked at now (or as ``answer`` says, for a question just asked); a path
        the command comes back to keeps what it held the first time, which is what the command used."""
        if (kind, path) in self.noted:
            return
        if answer is None:
            answer = observe(kind, path)
            if kind == FILE and isinstance(answer, str):  # not a regular file
                if answer.endswith(_DIRECTORY_KIND):
                    kind, answer = LISTING, observe(LISTING, path)  # opened to be listed by descriptor
                elif path != os.devnull:
                    self.spoil(f"read {path}, {answer}")
        self.noted[(kind, path)] = answer

    def checks(self) -> list[Check] | None:
        """Every input with what it held, or None when the answer must not be reused."""
        if self.spoiled is not None:
            return None
        return [(kind, path, answer) for (kind, path), answer in sorted(self.noted.items())]


_active: Recording | None = None
_hooked = False


def begin() -> Recording:
    """Start recording what the process reads (one recording at a time); ``end`` stops it."""
    global _active, _hooked
    if _active is not None:
        raise RuntimeError("a recording is already running")
    if not _hooked:
        sys.addaudithook(_audit)  # cannot be removed: it does nothing while no recording runs
        _hooked = True
    _active = Recording()
    return _active


def end() -> None:
    global _active
    _active = None


@contextlib.contextmanager
def recording() -> Iterator[Recording]:
    """Record what the code in the block reads."""
    try:
        yield begin()
    finally:
        end()


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
    if (active is None or (event not in _NOTED and event not in _SPOILERS)
            or get_ident() in _looking or _from_import()):
        return  # the import system reads code and writes bytecode: neither is the command's doing
    if event in _SPOILERS:
        active.spoil(_SPOILERS[event])
        return
    path = args[0]
    if event == "open":
        mode, flags = args[1], args[2]
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & _WRITE_FLAGS)  # type: ignore[operator]
        if writes:
            active.spoil(f"wrote {path!r}")
            return
    if isinstance(path, int):
        return  # by descriptor: the file or directory was opened, and noted, by name already
    _looking.add(get_ident())  # looking opens and lists too: those are ours, not the command's
    try:
        active.note(FILE if event == "open" else LISTING, _absolute(path if path is not None else "."))  # type: ignore[arg-type]
    finally:
        _looking.discard(get_ident())


_looking: set[int] = set()  # threads looking at an input for the recording


_NOTED = frozenset({"open", "os.listdir", "os.scandir"})
_DIRECTORY_KIND = f"{stat.S_IFDIR:o}"


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
        _active.note(REAL_PATH, _absolute(path), str(answer))
    return answer


def _noted(kind: str, path: Path) -> object:
    answer = observe(kind, os.fspath(path))
    if _active is not None:
        _active.note(kind, _absolute(path), answer)
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
            return f"not a regular file: {stat.S_IFMT(mode):o}"  # a directory's ends with _DIRECTORY_KIND
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
