"""Run builds in dependency order, ``jobs`` at a time, and keep going past failures.

A component starts as soon as everything it needs has built (not level by level), so two cores stay
busy whenever the graph allows it. When a build fails, the components that need it, directly or not,
are skipped and reported; independent ones go on. Builds are subprocesses (rpmbuild in a sandbox), so
threads are enough to run them side by side.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from tributary.build.graph import BuildGraph
from tributary.errors import TribError


class State(StrEnum):
    QUEUED = "queued"
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

    def to_json(self) -> dict[str, object]:
        return {"component": self.name, "state": self.state.value, "seconds": round(self.seconds, 2),
                "error": self.error, "blockedBy": self.blocked_by}


BuildFunction = Callable[[str], tuple[State, object]]
"""Builds one component; returns DONE or CACHED with its result, or raises TribError on failure."""


def run_builds(
    graph: BuildGraph,
    names: list[str],
    build: BuildFunction,
    *,
    jobs: int = 2,
    on_change: Callable[[dict[str, Job]], None] | None = None,
) -> dict[str, Job]:
    """Build ``names`` (and nothing else) respecting ``graph``; return every job's final state."""
    selected = set(names)
    order = [name for name in graph.order() if name in selected]
    table = {name: Job(name) for name in order}
    waiting = {name: {dep for dep in graph.needs.get(name, ()) if dep in selected} for name in order}
    def notify() -> None:
        if on_change is not None:
            on_change({name: dataclasses.replace(job) for name, job in table.items()})  # snapshots

    def run(name: str) -> tuple[State, object, str | None, float]:
        """In a worker thread: build, and report; only the scheduling thread changes the table."""
        start = time.monotonic()
        try:
            state, result = build(name)
            return state, result, None, time.monotonic() - start
        except TribError as error:
            return State.FAILED, None, str(error), time.monotonic() - start

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        running: dict[concurrent.futures.Future[tuple[State, object, str | None, float]], str] = {}

        # When a slot frees up, the ready build with the longest chain of dependents behind it goes
        # first: leaves can wait, the critical path cannot.
        height = _chain_lengths(graph, order, selected)
        by_priority = sorted(order, key=lambda n: (-height[n], order.index(n)))

        def start_ready() -> None:
            for name in by_priority:
                job = table[name]
                if job.state == State.QUEUED and not waiting[name] and len(running) < max(1, jobs):
                    job.state = State.BUILDING
                    running[pool.submit(run, name)] = name

        start_ready()
        notify()
        while running:
            finished, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                job = table[name]
                # Anything but a TribError is a bug in tributary: .result() lets it surface.
                job.state, job.result, job.error, job.seconds = future.result()
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
