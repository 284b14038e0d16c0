"""rpmautospec, called in process: expand ``%autorelease`` and ``%autochangelog`` from git history.

One call per component in a render of thousands: a subprocess each would cost more than the work.
The rendered text names rpmautospec's version, so the version is pinned in pyproject.toml.

rpmautospec asks every historical spec for its ``epoch:version`` and release through a *spec parser*
(``rpmautospec.specparser.SpecParser``); its own parses with the host's rpm, which on a host that is not
the upstream distribution fails on that distribution's macros. ``process`` can be handed another
answer (``query``): for the duration of the call, rpmautospec's history processor is given a parser
that asks it. rpmautospec (0.8.5, pinned) chooses its parser by the name ``AutoSpecParser`` in
``rpmautospec.pkg_history``, which is the one name swapped for that.

rpmautospec reads the history from the repository holding the spec, and unpacks every commit's spec
into a temporary directory of its own before asking about it. Given a ``History`` (a repository
object, which may live in memory, and its head commit), ``process`` hands rpmautospec a history
processor (the name ``PkgHistoryProcessor`` in ``rpmautospec.subcommands.process_distgit``) that
reads that repository from that commit, and asks about each distinct spec once: commits that leave
the spec as it was (most of them) reuse the answer for its blob, and the specs asked about are
written into one directory per call. A spec that cannot be read that way is left to rpmautospec's
own handling (every file of the commit unpacked, for ``%include``).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import pygit2

from tributary.errors import TribError
from tributary.tools.process import ToolError

# rpmautospec logs every commit it visits at INFO level.
logging.getLogger("rpmautospec").setLevel(logging.WARNING)


class RpmautospecError(ToolError):
    """rpmautospec could not process a spec (usually: a historical spec it cannot parse)."""


SpecQuery = Callable[[Path, Path], tuple[str, str]]
"""``(directory, spec file) -> (epoch:version, release)``; a TribError when the spec cannot be read.
``%autorelease`` must expand to the text ``history_macros`` defines, as rpmautospec reads options from it."""


def history_macros() -> str:
    """The macros (macros-file syntax) rpmautospec defines before asking a spec: ``%autorelease``
    reports its options instead of a number, ``%autochangelog`` is empty."""
    from rpmautospec.specparser import AUTORELEASE_DEFINITION
    from rpmautospec_core import AUTORELEASE_MACRO

    return f"%{AUTORELEASE_MACRO} {AUTORELEASE_DEFINITION}\n%autochangelog %{{nil}}\n"


@dataclass(frozen=True)
class History:
    """A component's history for rpmautospec: a repository and the commit that holds the spec's tree."""

    repository: pygit2.Repository
    head: str


def process(spec: Path, query: SpecQuery | None = None, history: History | None = None) -> bool:
    """Expand the spec in place from ``history`` (by default, that of the repository holding it);
    True if it changed.

    ``query`` answers rpmautospec's question for each historical spec instead of the host's rpm.
    """
    from rpmautospec import pkg_history
    from rpmautospec.exc import SpecParseFailure
    from rpmautospec.subcommands import process_distgit

    # Every name swapped below (sys.stderr, rpmautospec's parser and history processor) is global: one
    # call at a time, or a second thread would restore the first one's stream, or close it.
    with _ONE_AT_A_TIME, _real_stderr():
        parser = pkg_history.AutoSpecParser
        if query is not None:
            pkg_history.AutoSpecParser = _parser_asking(query)
        try:
            with _reading(history, process_distgit):
                return bool(process_distgit.do_process_distgit(spec, spec, enable_caching=False))
        except SpecParseFailure as error:
            detail = getattr(error, "detail", None) or error
            raise RpmautospecError(f"rpmautospec could not parse {spec.name} in its history: {detail}") from error
        except (OSError, ValueError) as error:
            raise RpmautospecError(f"rpmautospec failed on {spec.name}: {error}") from error
        finally:
            pkg_history.AutoSpecParser = parser


_ONE_AT_A_TIME = threading.Lock()


@contextmanager
def _real_stderr() -> Iterator[None]:
    """``sys.stderr`` is a real file while the block runs: rpmautospec hands it to rpm's C library, which
    needs one, not a test's capture object or a wrapped stream. The stream in place before is put back
    unless another thread has replaced ours meanwhile (pytest does, between a test's phases, from the
    main thread while a build's thread renders); only a stream opened here is closed."""
    saved = sys.stderr
    opened = None
    real = sys.__stderr__
    if real is None or not _is_real_file(real):
        real = opened = open(os.devnull, "w")  # noqa: SIM115 - closed below, after the block
    sys.stderr = real
    try:
        yield
    finally:
        if sys.stderr is real:
            sys.stderr = saved
        if opened is not None:
            opened.close()


@contextmanager
def _reading(history: History | None, module: Any) -> Iterator[None]:
    """While the block runs, rpmautospec's history processor reads ``history`` (if given)."""
    if history is None:
        yield
        return
    original = module.PkgHistoryProcessor
    module.PkgHistoryProcessor = _processor_reading(history, original)
    try:
        yield
    finally:
        module.PkgHistoryProcessor = original


def _processor_reading(history: History, base: type) -> type:
    """A subclass of rpmautospec's ``PkgHistoryProcessor`` reading ``history``, one question per spec blob."""

    class HistoryProcessor(base):  # type: ignore[misc]  # rpmautospec has no type information
        def __init__(self, spec_or_path: Path) -> None:
            super().__init__(spec_or_path)
            self.repo = history.repository
            self._by_blob: dict[pygit2.Oid, dict[str, Any]] = {}
            self._asked: tempfile.TemporaryDirectory[str] | None = None

        def run(self, head: str | None = None, **how: Any) -> Any:
            try:
                return super().run(head or history.head, **how)
            finally:
                if self._asked is not None:
                    self._asked.cleanup()

        def _get_rpmverflags_for_commit(self, commit: pygit2.Commit) -> dict[str, Any]:
            try:
                blob = commit.tree[self.specfile.name]
            except KeyError:
                blob = None
            if not isinstance(blob, pygit2.Blob):
                return super()._get_rpmverflags_for_commit(commit)  # type: ignore[no-any-return]
            known = self._by_blob.get(blob.id)
            if known is None:
                if self._asked is None:
                    self._asked = tempfile.TemporaryDirectory(prefix="trib-rpmautospec-")
                directory = Path(self._asked.name)
                (directory / self.specfile.name).write_bytes(blob.data)
                known = self._get_rpmverflags(directory, self.name, log_error=False)
                if "error" in known:  # rpmautospec's own way: every file of the commit beside the spec
                    return super()._get_rpmverflags_for_commit(commit)  # type: ignore[no-any-return]
                self._by_blob[blob.id] = known
            return known

    return HistoryProcessor


def _parser_asking(query: SpecQuery) -> type:
    """An rpmautospec spec-parser class whose answers come from ``query``."""
    from rpmautospec.specparser import SpecParser, SpecParserError

    class QueryParser(SpecParser):  # type: ignore[misc]  # rpmautospec has no type information
        def query(self, path: str, specfilename: str) -> tuple[str, str]:
            try:
                return query(Path(path), Path(specfilename))
            except TribError as error:
                raise SpecParserError(str(error)) from None

    return QueryParser


def _is_real_file(stream: TextIO) -> bool:
    try:
        return stream.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        return False
