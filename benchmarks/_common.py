"""What the benchmarks share: a scratch directory, timing, and the report they print.

Each benchmark builds a synthetic tree in a scratch directory (``--keep DIR`` keeps it), times its
measurements, and prints either one JSON object (``--json``) or a readable summary ending with its
targets, each marked met or NOT met.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@contextlib.contextmanager
def scratch_dir(keep: Path | None, prefix: str) -> Iterator[Path]:
    """A fresh directory for the generated tree: ``keep`` if given (it must be absent or empty, and is
    left in place afterwards), otherwise a temporary directory removed at the end."""
    if keep is not None:
        keep = keep.resolve()
        if keep.exists() and any(keep.iterdir()):
            raise SystemExit(f"--keep {keep}: the directory is not empty")
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def timed(function: Callable[[], T]) -> tuple[float, T]:
    """``(seconds, result)`` of one call."""
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def median_seconds(function: Callable[[], Any], repeat: int) -> float:
    """The median wall time of ``repeat`` calls."""
    return statistics.median(timed(function)[0] for _ in range(max(1, repeat)))


def tributary_commit() -> str:
    """The commit of the tributary being measured, with "+dirty" when src/ has uncommitted changes.

    Call it before the measurement starts: it names the code this process imported."""
    source = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=source, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=source, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def git_commit_all(root: Path, message: str, *, ignore: tuple[str, ...] = ("/build/", "/specs/", "/out/")) -> None:
    """Make ``root`` a git repository holding everything in it as one commit, as a real distribution
    is (render reads the project's history for release numbers); ``ignore`` goes to ``.gitignore``.

    A fixed identity and no background ``gc --auto``/maintenance, which would compete with what is
    being measured."""
    settings = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false",
                "-c", "gc.auto=0", "-c", "maintenance.auto=false"]
    (root / ".gitignore").write_text("".join(f"{pattern}\n" for pattern in ignore))
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run(["git", *settings, *command], cwd=root, check=True)


def machine() -> dict[str, Any]:
    """The facts a figure needs next to it."""
    return {"python": platform.python_version(), "cpus": os.cpu_count()}


@dataclass(frozen=True)
class Target:
    """``key <= limit`` (or ``>=`` with ``at_least``) on one result value."""

    key: str
    limit: float
    at_least: bool = False

    def met(self, result: dict[str, Any]) -> bool:
        value = result[self.key]
        return value >= self.limit if self.at_least else value <= self.limit

    def __str__(self) -> str:
        return f"{self.key} {'>=' if self.at_least else '<='} {self.limit:g}"


def report(result: dict[str, Any], targets: list[Target], *, as_json: bool, notes: list[str] | None = None) -> None:
    """Print the result as one JSON object, or as aligned ``key: value`` lines plus the targets."""
    if as_json:
        print(json.dumps(result))
        return
    width = max(len(key) for key in result)
    for key, value in result.items():
        shown = json.dumps(value) if isinstance(value, (dict, list)) else value
        print(f"{key:>{width}}: {shown}")
    for note in notes or []:
        print(f"note: {note}")
    for target in targets:
        print(f"target: {target} (got {result[target.key]}) -> {'met' if target.met(result) else 'NOT met'}")


REPO = Path(__file__).resolve().parent.parent


def trib_json(*args: str) -> tuple[float, Any]:
    """Run the ``trib`` of this venv; its wall time and JSON output (exit on failure)."""
    trib = Path(sys.executable).parent / "trib"
    seconds, proc = timed(lambda: subprocess.run([str(trib), *args], capture_output=True, text=True, check=False))
    if proc.returncode != 0:
        raise SystemExit(f"trib {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds, json.loads(proc.stdout)


def example_distro(root: Path):
    """A copy of examples/distro in ``root`` whose upstream is examples/upstream made in ``root/upstream``
    and read through file:// URLs (the tests' ExampleDistro: ``.args(...)`` selects it for ``trib``)."""
    sys.path.insert(0, str(REPO / "tests"))
    from support import copy_example_distro

    upstream = root / "upstream"
    subprocess.run([sys.executable, str(REPO / "examples/upstream/make_upstream.py"), str(upstream)],
                   check=True, capture_output=True)
    return copy_example_distro(root, upstream, lookaside=True)
