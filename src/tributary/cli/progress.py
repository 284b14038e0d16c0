"""A progress bar for long work: shown on a terminal, silent in CI (``CI=true``), with ``-q`` or JSON."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tributary.cli.output import OutputFormat, Settings


@contextlib.contextmanager
def progress_bar(settings: Settings, description: str, total: int) -> Iterator[Callable[[str], None]]:
    """Yield ``advance(label)``; a no-op when progress must stay quiet."""
    console = settings.err_console
    quiet = settings.quiet or os.environ.get("CI") == "true" or settings.output == OutputFormat.json or not console.is_terminal
    if quiet or total == 0:
        yield lambda label: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[label]}"), console=console, transient=True,
    ) as progress:
        task = progress.add_task(description, total=total, label="")
        yield lambda label: progress.update(task, advance=1, label=label)
