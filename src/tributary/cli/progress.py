"""A progress bar for long work: shown on a terminal, silent in CI (``CI=true``), with ``-q`` or JSON."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator

from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.progress import Progress as RichProgress

from tributary.cli.output import OutputFormat, Settings
from tributary.upstream.lookaside import Progress


@contextlib.contextmanager
def progress_bar(settings: Settings, description: str, total: int) -> Iterator[Callable[[str], None]]:
    """Yield ``advance(label)``; a no-op when progress must stay quiet."""
    console = settings.err_console
    quiet = (
        settings.quiet
        or os.environ.get("CI") == "true"
        or settings.output == OutputFormat.json
        or not console.is_terminal
    )
    if quiet or total == 0:
        yield lambda label: None
        return
    with RichProgress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[label]}"), console=console, transient=True,
    ) as progress:
        task = progress.add_task(description, total=total, label="")
        yield lambda label: progress.update(task, advance=1, label=label)


@contextlib.contextmanager
def status_line(settings: Settings, description: str) -> Iterator[Callable[[str], None]]:
    """Yield ``step(text)``: a spinner showing ``description: text`` for work whose length is unknown
    ahead (an image build, a VM boot); a no-op when progress must stay quiet."""
    console = settings.err_console
    quiet = (
        settings.quiet
        or os.environ.get("CI") == "true"
        or settings.output == OutputFormat.json
        or not console.is_terminal
    )
    if quiet:
        yield lambda text: None
        return
    with console.status(description) as status:
        yield lambda text: status.update(f"{description}: {text}")


@contextlib.contextmanager
def download_bars(settings: Settings) -> Iterator[Callable[[Progress], None] | None]:
    """Yield a thread-safe callback drawing one bar per download, or None when progress stays quiet."""
    console = settings.err_console
    quiet = (
        settings.quiet
        or os.environ.get("CI") == "true"
        or settings.output == OutputFormat.json
        or not console.is_terminal
    )
    if quiet:
        yield None
        return
    lock = threading.Lock()
    tasks: dict[str, TaskID] = {}
    with RichProgress(
        TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        console=console, transient=True,
    ) as bars:

        def update(event: Progress) -> None:
            with lock:
                task = tasks.get(event.filename)
                if task is None:
                    task = tasks[event.filename] = bars.add_task(event.filename, total=event.total)
                bars.update(task, completed=event.received, total=event.total or event.received)

        yield update
