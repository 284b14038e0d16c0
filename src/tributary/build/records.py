"""What happened to each component at its last build: built, found in the cache, failed or skipped.

The build cache (``tributary.build.cache``) remembers successful builds only, for deciding what to
rebuild; later stages and the website also need to know what failed, what was skipped and why, how
long each took and where its log is. ``trib build`` writes one record per component it was asked to
build, ``<work-dir>/build-records/<name>.json``, replacing the previous one; ``read_record`` is the one
typed reader.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tributary.fsutil import atomic_write

RECORDS_DIR = "build-records"
FORMAT = 1


class Outcome(enum.StrEnum):
    """How a component's last build ended."""

    BUILT = "built"
    CACHED = "cached"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class BuildRecord:
    """One component's last build: ``blocked_by`` names what a skipped build waited for, ``log`` the
    log file (absent for a cached or skipped build), ``outputs`` the packages it left."""

    component: str
    outcome: Outcome
    seconds: float
    finished: int  # seconds since the epoch
    log: Path | None = None
    error: str | None = None
    blocked_by: tuple[str, ...] = ()
    outputs: tuple[Path, ...] = ()
    worker: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "component": self.component,
            "outcome": self.outcome.value,
            "seconds": round(self.seconds, 2),
            "finished": self.finished,
            "log": str(self.log) if self.log else None,
            "error": self.error,
            "blockedBy": list(self.blocked_by),
            "outputs": [str(path) for path in self.outputs],
            "worker": self.worker,
            **self.extra,
        }


def records_dir(work_dir: Path) -> Path:
    return work_dir / RECORDS_DIR


def write_records(work_dir: Path, records: Iterable[BuildRecord]) -> None:
    """Write each record atomically, replacing that component's previous one."""
    directory = records_dir(work_dir)
    for record in records:
        atomic_write(directory / f"{record.component}.json", json.dumps(record.to_json(), indent=1) + "\n")


def read_record(work_dir: Path, component: str) -> BuildRecord | None:
    """The component's last build record; None when it was never built or the record is unreadable."""
    try:
        data = json.loads((records_dir(work_dir) / f"{component}.json").read_text())
        return BuildRecord(
            component=str(data["component"]),
            outcome=Outcome(data["outcome"]),
            seconds=float(data["seconds"]),
            finished=int(data["finished"]),
            log=Path(data["log"]) if data.get("log") else None,
            error=data.get("error"),
            blocked_by=tuple(data.get("blockedBy") or ()),
            outputs=tuple(Path(path) for path in data.get("outputs") or ()),
            worker=data.get("worker"),
        )
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def now() -> int:
    return int(time.time())
