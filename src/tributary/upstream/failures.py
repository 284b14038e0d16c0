"""Lasting failures remembered with the inputs they failed on, so an unchanged one is not tried again.

A component whose upstream repository does not exist, whose pinned commit is gone or whose history was
rewritten fails the same way on every run until something changes, and finding that out costs a
network round trip per component. So ``comp update`` writes each lasting failure to
``<work-dir>/update-failures/<component>.json`` with a hash of everything the attempt depended on;
while that hash holds, the failure is reported again (marked remembered) without asking upstream.
A temporary failure (network, time-out) is never remembered: the next run tries again. ``--force``
ignores what is remembered, and a success forgets it.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

from tributary.fsutil import atomic_write


@dataclass(frozen=True)
class Remembered:
    """A lasting failure as it was reported, and the exit status it carried."""

    message: str
    exit_code: int


class FailureMemory:
    """One JSON file per component below ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, name: str) -> Path:
        return self.directory / f"{name}.json"

    def recall(self, name: str, inputs: str) -> Remembered | None:
        """The failure remembered for ``name`` if it happened with exactly ``inputs``."""
        try:
            data = json.loads(self._path(name).read_bytes())
        except (FileNotFoundError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("inputs") != inputs:
            return None
        message, code = data.get("message"), data.get("exitCode")
        if not isinstance(message, str) or not isinstance(code, int):
            return None
        return Remembered(message, code)

    def remember(self, name: str, inputs: str, failure: Remembered) -> None:
        atomic_write(self._path(name), json.dumps({"inputs": inputs, "message": failure.message,
                                                   "exitCode": failure.exit_code}, separators=(",", ":")))

    def forget(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(name).unlink()
