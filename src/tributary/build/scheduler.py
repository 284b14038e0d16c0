"""Run builds in dependency order, ``jobs`` at a time, and keep going past failures.

A component starts as soon as everything it needs has built (not level by level), so two cores stay
busy whenever the graph allows it; when more are ready than there are slots, the one with the longest
chain of dependents behind it goes first. When a build fails, the components that need it, directly or
not, are skipped and reported; independent ones go on.

Where a build runs is the executor's business (``tributary.build.executors``): this machine, or a Dask
worker. Each build gets a ``Ticket`` with its priority (the chain length, which a Dask executor passes
on as Dask's priority) and two ways to say where it is: ``waiting()`` (handed to a cluster, no worker
has it yet) and ``started(worker)``. The build functions run in threads of this process (a local build
waits on rpmbuild, a remote one on its Dask future); only the scheduling thread changes the table.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from tributary.build.graph import BuildGraph
from tributary.errors import TribError

MAX_THREADS = 256
"""Threads that may wait on builds at once, whatever the executor's slots say."""


class State(StrEnum):
    QUEUED = "queued"
    WAITING = "waiting"  # handed to a cluster, waiting for a worker
    BUILDING = "building"
    DONE = "done"
    CACHED = "cached"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class Job:
    name: str
    state: State = State.QUEUED
    seconds: float = 0.0
    error: str | None = None
    result: object = None
    blocked_by: list[str] = field(default_factory=list)
    worker: str | None = None  # the Dask worker building or that built it; None for this machine

    def to_json(self) -> dict[str, object]:
        return {"component": self.name, "state": self.state.value, "seconds": round(self.seconds, 2),
                "error": self.error, "blockedBy": self.blocked_by, "worker": self.worker}


@dataclass(frozen=True)
class Ticket:
    """What a build is told: its priority (higher first), and how to report where it runs."""

    priority: int
    started: Callable[[str | None], None]
    waiting: Callable[[], None]


BuildFunction = Callable[[str, Ticket], tuple[State, object]]
"""Builds one component; returns DONE or CACHED with its result, or raises TribError on failure."""


def run_builds(
    graph: BuildGraph,
    names: list[str],
    build: BuildFunction,
    *,
    jobs: int | Callable[[], int] = 2,
    on_change: Callable[[dict[str, Job]], None] | None = None,
    cancel: Callable[[], None] | None = None,
) -> dict[str, Job]:
    """Build ``names`` (and nothing else) respecting ``graph``; return every job's final state.

    ``jobs`` is how many builds run at once, or a function asked again at each decision (a cluster
    whose workers come and go). ``cancel`` is called when the run stops early (an interrupt, a bug),
    so builds waiting on something outside this process give up.
    """
    selected = set(names)
    order = [name for name in graph.order() if name in selected]
    table = {name: Job(name) for name in order}
    waiting = {name: {dep for dep in graph.needs.get(name, ()) if dep in selected} for name in order}
    slots = jobs if callable(jobs) else (lambda: jobs)
    events: queue.SimpleQueue[tuple[str, str, object]] = queue.SimpleQueue()

    def notify() -> None:
        if on_change is not None:
            on_change({name: dataclasses.replace(job) for name, job in table.items()})  # snapshots

    def run(name: str, ticket: Ticket) -> None:
        """In a worker thread: build, and report; only the scheduling thread changes the table."""
        start = time.monotonic()
        try:
            state, result = build(name, ticket)
            events.put(("finished", name, (state, result, None, time.monotonic() - start)))
        except TribError as error:
            events.put(("finished", name, (State.FAILED, None, str(error), time.monotonic() - start)))
        except BaseException as error:  # a bug in tributary: raised again in the scheduling thread
            events.put(("crashed", name, error))

    def ticket(name: str, priority: int) -> Ticket:
        return Ticket(priority, started=lambda worker: events.put(("started", name, worker)),
                      waiting=lambda: events.put(("waiting", name, None)))

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="trib-build")
    running: set[str] = set()
    # When a slot frees up, the ready build with the longest chain of dependents behind it goes
    # first: leaves can wait, the critical path cannot.
    height = _chain_lengths(graph, order, selected)
    by_priority = sorted(order, key=lambda n: (-height[n], order.index(n)))

    def start_ready() -> None:
        for name in by_priority:
            if len(running) >= min(MAX_THREADS, max(1, slots())):
                return
            job = table[name]
            if job.state == State.QUEUED and not waiting[name]:
                job.state = State.BUILDING
                running.add(name)
                pool.submit(run, name, ticket(name, height[name]))

    try:
        start_ready()
        notify()
        while running:
            kind, name, payload = events.get()
            job = table[name]
            if kind == "crashed":
                assert isinstance(payload, BaseException)
                raise payload
            if kind in ("started", "waiting"):
                if name in running:
                    job.state = State.BUILDING if kind == "started" else State.WAITING
                    job.worker = payload if kind == "started" else job.worker  # type: ignore[assignment]
                    notify()
                continue
            running.discard(name)
            job.state, job.result, job.error, job.seconds = payload  # type: ignore[misc]
            if job.state == State.FAILED:
                for dependent in sorted(graph.dependents(name) & selected):
                    skipped = table[dependent]
                    if skipped.state == State.QUEUED:
                        skipped.state = State.SKIPPED
                    skipped.blocked_by.append(name)
            for others in waiting.values():
                others.discard(name)
            start_ready()
            notify()
    except BaseException:
        if cancel is not None:
            cancel()
        raise
    finally:
        pool.shutdown(wait=True)
    return table


def _chain_lengths(graph: BuildGraph, order: list[str], selected: set[str]) -> dict[str, int]:
    """For each component, the number of builds on the longest chain from it to the last dependent."""
    dependents: dict[str, set[str]] = {name: set() for name in order}
    for name in order:
        for dependency in graph.needs.get(name, ()):
            if dependency in selected:
                dependents[dependency].add(name)
    length: dict[str, int] = {}
    for name in reversed(order):  # dependents come later in the order
        length[name] = 1 + max((length[d] for d in dependents[name]), default=0)
    return length
