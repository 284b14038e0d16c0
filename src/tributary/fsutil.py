"""The two file-system rules every stage follows: writes are atomic, and paths stay inside their root.

Keeping both here means one place to audit for "half-written output" and "followed a symlink out".
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from tributary.errors import PathEscapeError


def atomic_write(path: Path, data: bytes | str, *, mode: int | None = None, fsync: bool = False) -> None:
    """Write ``data`` beside ``path`` and rename it into place, so readers see old or new, never half."""
    with atomic_output(path, mode=mode, fsync=fsync) as handle:
        handle.write(data.encode() if isinstance(data, str) else data)


@contextlib.contextmanager
def atomic_output(path: Path, *, mode: int | None = None, fsync: bool = False) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` by rename when the block ends without an error.

    For output too large to hold in memory (a repacked archive, an image); an exception or an interrupt
    removes the temporary file and leaves ``path`` as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """Yield an empty scratch directory beside ``target``; on success it replaces ``target`` whole.

    An exception (or an interrupt) removes the scratch directory and leaves the previous ``target``
    untouched, so an interrupted run never leaves half an output behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".new", dir=target.parent))
    try:
        yield scratch
        replace_directory(scratch, target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


@contextlib.contextmanager
def exclusive_lock(path: Path, *, timeout: float, busy: Callable[[], Exception]) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created), waiting up to ``timeout`` seconds for another
    holder; then ``busy()`` is raised. The kernel releases the lock when its holder dies, so a lock left
    by a killed process never blocks anyone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise busy() from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def replace_directory(new: Path, target: Path) -> None:
    """Swap ``new`` into ``target``'s place with renames only; the old tree is removed afterwards."""
    if target.exists() or target.is_symlink():
        old = target.with_name(f".{target.name}.old.{os.getpid()}")
        os.replace(target, old)
        os.replace(new, target)
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink()
    else:
        os.replace(new, target)


def check_relative(value: str, *, what: str) -> PurePosixPath:
    """Reject an absolute path or one with a ``..`` part: it names something outside its root."""
    pure = PurePosixPath(value)
    if value == "" or pure.is_absolute() or value.startswith("\\"):
        raise PathEscapeError(f"{what} {value!r} must be a relative path")
    if ".." in pure.parts:
        raise PathEscapeError(f"{what} {value!r} must not contain '..'")
    return pure


def resolve_inside(root: Path, relative: str | os.PathLike[str], *, what: str = "path") -> Path:
    """Join ``relative`` to ``root`` and make sure the result, symlinks followed, is still inside root."""
    root_real = Path(os.path.realpath(root))
    candidate = Path(os.path.realpath(Path(root) / relative))
    if candidate != root_real and root_real not in candidate.parents:
        raise PathEscapeError(f"{what} {str(relative)!r} leads outside {root}")
    return candidate


def is_inside(root: Path, path: Path) -> bool:
    """True when ``path`` (symlinks followed) lies in ``root`` or is ``root``."""
    root_real = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    return real == root_real or root_real in real.parents
