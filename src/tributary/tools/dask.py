"""Dask distributed's command line (``dask scheduler``, ``dask worker``): the command lines, and the
services started from them through ``tools.process.start``.

Run as ``python -m dask`` with this interpreter, so the scheduler and workers import the same
tributary and the same distributed as the client. What a cluster is used for is
``tributary.build.executors.dask``'s business; this module only spells the options.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tributary.tools import process

PROGRAM = "dask"


class DaskError(process.ToolError):
    """Dask's scheduler or a worker is not installed or could not start."""


@dataclass(frozen=True)
class Tls:
    """The files of Dask's TLS configuration for one process: the CA that signs every member of the
    cluster, and this process's certificate and key."""

    ca_file: Path
    cert: Path
    key: Path

    def args(self) -> list[str]:
        return ["--tls-ca-file", str(self.ca_file), "--tls-cert", str(self.cert), "--tls-key", str(self.key)]


def require() -> None:
    """DaskError with the install line when distributed is not installed in this interpreter."""
    if importlib.util.find_spec("distributed") is None:
        raise DaskError("Dask distributed is not installed (needed for --executor dask)",
                        hint="pip install 'tributary[dask]' (make setup installs it)")


def command(subcommand: str, *args: str) -> list[str]:
    return [sys.executable, "-m", PROGRAM, subcommand, *args]


def scheduler_args(*, host: str, port: int = 0, dashboard: str | None, scheduler_file: Path,
                   tls: Tls | None = None) -> list[str]:
    """``dask scheduler`` listening on ``host:port`` (0: any free port), its address written to
    ``scheduler_file``; ``dashboard`` is the dashboard's ``host:port``, None for none."""
    args = ["--host", host, "--port", str(port), "--scheduler-file", str(scheduler_file), "--no-show"]
    args += ["--dashboard-address", dashboard] if dashboard else ["--no-dashboard"]
    if tls is not None:
        args += ["--protocol", "tls", *tls.args()]
    return command("scheduler", *args)


def worker_args(scheduler: str, *, name: str, threads: int = 1, local_directory: Path | None = None,
                host: str | None = None, tls: Tls | None = None, death_timeout: float = 60.0) -> list[str]:
    """``dask worker`` of ``threads`` threads, one process without a nanny (a killed worker stays gone:
    its builds go to the other workers), no memory limit (rpmbuild's memory is not Dask's), giving up
    when the scheduler is unreachable for ``death_timeout`` seconds."""
    args = [scheduler, "--name", name, "--nthreads", str(threads), "--nworkers", "1", "--no-nanny",
            "--memory-limit", "0", "--no-dashboard", "--death-timeout", f"{death_timeout:g}"]
    if local_directory is not None:
        args += ["--local-directory", str(local_directory)]
    if host is not None:
        args += ["--host", host]
    if tls is not None:
        args += tls.args()
    return command("worker", *args)


def start(argv: list[str], *, log: BinaryIO, env: Mapping[str, str] | None = None) -> process.Service:
    """Start a ``scheduler_args``/``worker_args`` command line; it dies with the thread that started it."""
    require()
    return process.start(argv, log=log, env=env, name=f"dask {argv[3]}", error=DaskError)


def wait_for_address(scheduler_file: Path, scheduler: process.Service, log: Path, *, timeout: float) -> str:
    """The address ``dask scheduler`` wrote to ``scheduler_file``, once it has (polled: a file appearing
    has no event to wait on); DaskError if the scheduler exits first or takes over ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
            return str(json.loads(scheduler_file.read_text())["address"])
        if not scheduler.running():
            said = process.last_line(log.read_text(errors="replace")) if log.is_file() else ""
            raise DaskError(f"dask scheduler exited with status {scheduler.returncode}: {said}", where=str(log))
        if time.monotonic() > deadline:
            raise DaskError(f"dask scheduler did not start within {timeout:g} s", where=str(log))
        time.sleep(0.05)
