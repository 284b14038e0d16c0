"""rpm's own spec parser, in this process: one session at a time over rpm's one macro table.

rpm is the only complete reader of spec files (conditionals, ``%{lua:}``, ``%{load:}``, macros from
files), so the stages that must know what rpm makes of a spec ask it through its Python bindings
rather than approximating it: render, to check a spec before writing it; the build, for its
dependency order. The bindings keep all macros in one process-wide table, so every session here holds
one lock, starts from rpm's configuration freshly read (``rpm.reloadConfig()``), loads the caller's
macro files, points ``%_sourcedir`` at the spec's directory, collects what rpm logs, and resets the
table again afterwards: nothing a spec defines reaches the next one, whichever thread parses it.

Parsing runs the spec's ``%(...)`` shell and ``%{lua:}`` expansions on the host, as ``rpmspec`` does.
"""

from __future__ import annotations

import contextlib
import re
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tributary.errors import TribError

RPM_LOCK = threading.Lock()
"""Held by everything in this process that uses rpm's macro table (parsing specs, reading headers)."""

_MACRO_USE = re.compile(r"%\{?[!?]*([A-Za-z_][A-Za-z0-9_]*)")


class SpecParseError(TribError):
    """rpm could not parse a spec file."""


@dataclass
class RpmSession:
    """One spec parse under the lock: what rpm logged, and what its macro table holds meanwhile."""

    rpm: Any
    log: Any
    spec: Any = None
    raised: bool = False
    _read: int = field(default=0)

    def messages(self) -> list[str]:
        """Every line rpm logged so far (``error: ...``, ``warning: ...``)."""
        self.log.seek(0)
        return [line.rstrip("\n") for line in self.log.read().splitlines() if line.strip()]

    def errors(self) -> list[str]:
        """What rpm logged as errors, without the ``error: `` prefix."""
        return [line[len("error: "):] for line in self.messages() if line.startswith("error: ")]

    def defined(self, name: str) -> bool:
        """Whether rpm's macro table defines ``name`` right now (the spec's own definitions included)."""
        return bool(self.rpm.expandMacro(f"%{{?{name}:1}}"))

    def undefined_macros(self, text: str) -> list[str]:
        """The macros ``text`` uses that rpm does not define (``%%`` escapes and built-ins aside)."""
        names = [m.group(1) for m in _MACRO_USE.finditer(text.replace("%%", ""))]
        return [name for name in dict.fromkeys(names) if not self.defined(name) and not _builtin(self.rpm, name)]


def _builtin(rpm: Any, name: str) -> bool:
    """rpm's built-in macros (``%{expand:}``, ``%{lua:}``...) are no definitions but are known."""
    return name in {"expand", "lua", "load", "dirname", "basename", "suffix", "getenv", "getconfdir", "shrink",
                    "quote", "url2path", "uncompress", "verbose", "with", "without", "bcond", "echo", "warn",
                    "error", "global", "define", "undefine", "dnl", "macrobody", "S", "P", "F", "u", "upper",
                    "lower", "len", "sub", "rep", "gsub", "exists", "defined", "undefined", "trace", "dump"}


@contextlib.contextmanager
def rpm_session(spec_path: Path, macros_files: Sequence[Path] = ()) -> Iterator[RpmSession]:
    """Parse ``spec_path`` with ``macros_files`` loaded first, in order; yield the session, whose
    ``spec`` is rpm's parse (None when rpm refused the spec, ``raised`` then True)."""
    import rpm

    spec_path = Path(spec_path)
    if not spec_path.is_file():
        raise SpecParseError(f"{spec_path}: no such spec file")
    for path in macros_files:
        if not Path(path).is_file():
            raise SpecParseError(f"macros file {path} does not exist")
    with RPM_LOCK, tempfile.TemporaryFile("w+") as log:
        rpm.reloadConfig()
        rpm.setLogFile(log)
        try:
            for path in macros_files:
                rpm.expandMacro(f"%{{load:{Path(path).resolve()}}}")
            directory = str(spec_path.resolve().parent)
            rpm.addMacro("_sourcedir", directory)
            rpm.addMacro("_specdir", directory)
            session = RpmSession(rpm, log)
            try:
                session.spec = rpm.spec(str(spec_path))
            except ValueError:
                session.raised = True
            yield session
        finally:
            rpm.setLogFile(sys.__stderr__)  # a real file: sys.stderr may be a wrapper rpm cannot write to
            rpm.reloadConfig()


@contextlib.contextmanager
def parsed_spec(spec_path: Path, macros_files: Sequence[Path] = ()) -> Iterator[Any]:
    """rpm's parse of ``spec_path``; a SpecParseError with rpm's errors when it refuses the spec."""
    with rpm_session(spec_path, macros_files) as session:
        if session.raised:
            text = " ".join(session.errors())
            raise SpecParseError(f"rpm cannot parse the spec: {text or 'no reason given'}", where=str(spec_path))
        yield session.spec
