"""Render worker processes that start clean and die with the command that started them.

A forked worker would inherit everything the command holds at that moment: the render lock's
descriptor (so a killed command's workers kept the lock and every later render waited for ever), and
the state of threads it cannot own (the progress bar's refresh thread, a lock held mid-update). So
workers are *spawned*: a fresh interpreter that loads the project itself, from the same files the
command loaded, and inherits no descriptor but its own pipe.

Each worker

* asks the kernel to kill it when the command dies (``PR_SET_PDEATHSIG``), so a ``SIGKILL`` of the
  command leaves no worker behind, and exits at once if the command is already gone;
* ignores ``SIGINT`` (a terminal's Ctrl-C reaches the whole process group; the command decides how to
  stop) and turns ``SIGTERM`` into a clean exit: the component being rendered removes its scratch
  directory and nothing else is touched;
* takes one component at a time over its pipe and answers with the outcome, so a worker that dies
  costs exactly the component it was rendering, which is reported as failed.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Any, cast

from tributary.config import Project, load_project
from tributary.config.loader import ROOT_FILE

_PR_SET_PDEATHSIG = 1
STOP_WAIT_S = 10.0  # how long stopped workers get to clean up before they are killed


@dataclass
class _Worker:
    process: BaseProcess
    connection: Connection
    task: str | None = None
    alive: bool = field(default=True)


def load_arguments(project: Project) -> tuple[str, list[str]]:
    """The project root and the extra configuration files (``--config-file``) it was loaded with."""
    root_file = (project.root / ROOT_FILE).resolve()
    extra = [str(f.path) for f in project.files if f.included_from is None and f.path != root_file]
    return str(project.root), extra


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when ``parent`` dies; exit now if it already has."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:  # pragma: no cover - Linux always allows it
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


Task = Callable[[Project, str], Any]


def _serve(connection: Connection, parent: int, root: str, extra: list[str], task: Task, permissive: bool) -> None:
    """A worker's life: load the project, then answer each component name with ``task(project, name)``."""
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _terminated)
    project = load_project(Path(root), extra_files=[Path(f) for f in extra], permissive=permissive)
    while True:
        try:
            name = connection.recv()
        except EOFError:  # the command closed its end: nothing more to do
            return
        if name is None:
            return
        connection.send(task(project, name))


@contextlib.contextmanager
def worker_pool(project: Project, jobs: int, task: Task) -> Iterator[Callable[[Sequence[str]], Iterator[Any]]]:
    """Yield ``run(names)``, which renders ``names`` on ``jobs`` spawned workers and yields each result
    as it arrives. ``task`` must be a module-level function (the workers import it by name); a worker
    that dies before answering yields ``WorkerLost(name)`` instead. Use it from the thread that made
    the pool: the kernel ties each worker's life to that thread. On the way out (normally, by an
    exception, or by a signal turned into one) every worker is stopped: idle ones are told to finish,
    busy ones get ``SIGTERM``, and any still alive after ``STOP_WAIT_S`` are killed.
    """
    context = multiprocessing.get_context("spawn")
    root, extra = load_arguments(project)
    workers: list[_Worker] = []
    try:
        for _ in range(jobs):
            ours, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(theirs, os.getpid(), root, extra, task, project.permissive),
                                      daemon=True, name="trib-render-worker")
            process.start()
            theirs.close()
            workers.append(_Worker(process, ours))

        def run(names: Sequence[str]) -> Iterator[Any]:
            queue = list(reversed(names))
            for worker in workers:
                _give(worker, queue)
            while any(w.task is not None for w in workers):
                waiting = {w.connection: w for w in workers if w.task is not None}
                sentinels = {w.process.sentinel: w for w in workers if w.task is not None}
                for ready in wait([*waiting, *sentinels]):
                    worker = waiting[ready] if isinstance(ready, Connection) else sentinels[cast(int, ready)]
                    if worker.task is None:
                        continue
                    try:
                        result = worker.connection.recv()
                    except (EOFError, OSError):
                        worker.process.join()
                        result = WorkerLost(worker.task, worker.process.exitcode)
                        worker.alive = False
                    worker.task = None
                    yield result
                    _give(worker, queue)
            for name in reversed(queue):  # every worker died: what is left cannot run
                yield WorkerLost(name, None)

        yield run
    finally:
        _stop(workers)


@dataclass(frozen=True)
class WorkerLost:
    """A component whose worker died before answering (killed, or crashed); ``exitcode`` as reported."""

    name: str
    exitcode: int | None

    def describe(self) -> str:
        if self.exitcode is None:
            return "no render worker was left to render it"
        if self.exitcode < 0:
            return f"its render worker was killed by signal {signal.Signals(-self.exitcode).name}"
        return f"its render worker exited with status {self.exitcode}"


def _give(worker: _Worker, queue: list[str]) -> None:
    """Send the next component to an idle, living worker (back to the queue if it died meanwhile)."""
    if not worker.alive or not queue:
        return
    name = queue.pop()
    try:
        worker.connection.send(name)
    except OSError:
        queue.append(name)
        worker.alive = False
        return
    worker.task = name


def _stop(workers: list[_Worker]) -> None:
    """Ask every worker to finish (``None``, then SIGTERM for one still busy), then reap them all."""
    for worker in workers:
        with contextlib.suppress(OSError):
            if worker.task is None:
                worker.connection.send(None)
            else:
                worker.process.terminate()
        worker.connection.close()
    for worker in workers:
        worker.process.join(STOP_WAIT_S)
        if worker.process.exitcode is None:
            worker.process.kill()
            worker.process.join()
