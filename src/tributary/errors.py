"""The one exception family every stage raises.

Each error carries *where* (file:line, URL, commit, component, overlay number) and *what*, so that the
CLI can print it on a single line a maintainer can jump to. ``exit_code`` separates bad input (2) from a
check that ran and failed (1).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """A place in a file; ``line`` is 1-based and optional (the file alone is still useful)."""

    path: Path
    line: int | None = None

    def __str__(self) -> str:
        shown = display_path(self.path)
        return f"{shown}:{self.line}" if self.line else shown


def display_path(path: Path | str) -> str:
    """A path relative to the current directory when it lies below it, else as given."""
    return _relative_display(os.fspath(path), os.getcwd())


@functools.lru_cache(maxsize=1024)
def _relative_display(path: str, cwd: str) -> str:
    """``display_path`` for one directory: a listing names the same few files thousands of times."""
    try:
        rel = os.path.relpath(path, cwd)
    except ValueError:  # pragma: no cover - other drive on Windows
        return path
    return rel if not rel.startswith("..") else path


def system_error(error: OSError) -> str:
    """One line for an error the system gave (a full disk, a file-size limit, a permission): the files
    it concerns and the system's words, as ``path: File too large``."""
    names = " -> ".join(str(name) for name in (error.filename, error.filename2) if name)
    said = error.strerror or str(error)
    return f"{names}: {said}" if names else said


class TribError(Exception):
    """Base of all tributary errors: ``where: what`` on one line, with an optional hint."""

    exit_code = 2
    # A failure that may pass by itself (a network outage, a time-out): tried again by the next run,
    # and never allowed to replace good output. Everything else is lasting until an input changes.
    temporary = False

    def __init__(self, message: str, *, where: Location | str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def at(self, where: Location | str | None) -> TribError:
        """This error, placed at ``where`` unless it already names a place (for lazy locating)."""
        if self.where is None:
            self.where = where
        return self

    def about(self, component: str) -> TribError:
        """This error, its message saying which component it concerns unless its place or text already does."""
        if self.where is None and not self.message.startswith("component "):
            self.message = f"component {component!r}: {self.message}"
        return self

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text} (hint: {self.hint})" if self.hint else text


class ConfigError(TribError):
    """The distribution's configuration is malformed or inconsistent."""


class PathEscapeError(TribError):
    """A configured path would leave the directory it must stay in."""


class OverlayError(TribError):
    """An overlay could not be applied, or changed nothing."""


class PatternError(TribError):
    """A glob pattern is malformed (an unclosed '[' or '{')."""


class CheckFailed(TribError):
    """A check ran and found a problem (drift, lint, audit): exit status 1, not 2."""

    exit_code = 1
