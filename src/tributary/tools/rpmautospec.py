"""rpmautospec, called in process: expand ``%autorelease`` and ``%autochangelog`` from git history.

One call per component in a render of thousands: a subprocess each would cost more than the work.
The rendered text names rpmautospec's version, so the version is pinned in pyproject.toml.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TextIO

from tributary.tools.process import ToolError

# rpmautospec logs every commit it visits at INFO level.
logging.getLogger("rpmautospec").setLevel(logging.WARNING)


class RpmautospecError(ToolError):
    """rpmautospec could not process a spec (usually: a historical spec it cannot parse)."""


def process(spec: Path) -> bool:
    """Expand the spec in place from the history of the repository holding it; True if it changed."""
    from rpmautospec.exc import SpecParseFailure
    from rpmautospec.subcommands.process_distgit import do_process_distgit

    # rpmautospec hands sys.stderr to rpm's C library, which needs a real file: not a test's capture
    # object or a wrapped stream.
    saved = sys.stderr
    real = sys.__stderr__
    sys.stderr = real if real is not None and _is_real_file(real) else open(os.devnull, "w")  # noqa: SIM115
    try:
        return bool(do_process_distgit(spec, spec, enable_caching=False))
    except SpecParseFailure as error:
        detail = getattr(error, "detail", None) or error
        raise RpmautospecError(f"rpmautospec could not parse {spec.name} in its history: {detail}") from error
    except (OSError, ValueError) as error:
        raise RpmautospecError(f"rpmautospec failed on {spec.name}: {error}") from error
    finally:
        if sys.stderr is not real:
            sys.stderr.close()
        sys.stderr = saved


def _is_real_file(stream: TextIO) -> bool:
    try:
        return stream.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        return False
