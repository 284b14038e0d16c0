"""rpmautospec, called in process: expand ``%autorelease`` and ``%autochangelog`` from git history.

One call per component in a render of thousands: a subprocess each would cost more than the work.
The rendered text names rpmautospec's version, so the version is pinned in pyproject.toml.

rpmautospec asks every historical spec for its ``epoch:version`` and release through a *spec parser*
(``rpmautospec.specparser.SpecParser``); its own parses with the host's rpm, which on a host that is not
the upstream distribution fails on that distribution's macros. ``process`` can be handed another
answer (``query``): for the duration of the call, rpmautospec's history processor is given a parser
that asks it. rpmautospec (0.8.5, pinned) chooses its parser by the name ``AutoSpecParser`` in
``rpmautospec.pkg_history``, which is the one name swapped.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

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


def process(spec: Path, query: SpecQuery | None = None) -> bool:
    """Expand the spec in place from the history of the repository holding it; True if it changed.

    ``query`` answers rpmautospec's question for each historical spec instead of the host's rpm.
    """
    from rpmautospec import pkg_history
    from rpmautospec.exc import SpecParseFailure
    from rpmautospec.subcommands.process_distgit import do_process_distgit

    # rpmautospec hands sys.stderr to rpm's C library, which needs a real file: not a test's capture
    # object or a wrapped stream.
    saved = sys.stderr
    real = sys.__stderr__
    sys.stderr = real if real is not None and _is_real_file(real) else open(os.devnull, "w")  # noqa: SIM115
    parser = pkg_history.AutoSpecParser
    if query is not None:
        pkg_history.AutoSpecParser = _parser_asking(query)
    try:
        return bool(do_process_distgit(spec, spec, enable_caching=False))
    except SpecParseFailure as error:
        detail = getattr(error, "detail", None) or error
        raise RpmautospecError(f"rpmautospec could not parse {spec.name} in its history: {detail}") from error
    except (OSError, ValueError) as error:
        raise RpmautospecError(f"rpmautospec failed on {spec.name}: {error}") from error
    finally:
        pkg_history.AutoSpecParser = parser
        if sys.stderr is not real:
            sys.stderr.close()
        sys.stderr = saved


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
