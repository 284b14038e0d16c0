"""The build graph (order, cycles, critical path) and the scheduler (parallel, failure handling)."""

from __future__ import annotations

import threading

import pytest

from tributary.build.graph import (
    ComponentDeps,
    CycleError,
    build_graph,
    capability_name,
    find_cycles,
)
from tributary.build.scheduler import State, run_builds
from tributary.errors import TribError

EXAMPLE = [
    ComponentDeps("filesystem", (), ("filesystem",)),
    ComponentDeps("libgreet", ("gcc", "make"), ("libgreet", "libgreet-devel", "libgreet-static", "libgreet.so.1()(64bit)")),
    ComponentDeps("greet", ("gcc", "make", "libgreet-devel >= 2.0"), ("greet", "hello")),
    ComponentDeps("greet-data", ("make",), ("greet-data",)),
    ComponentDeps("tool", ("greet",), ("tool",)),
]


def test_edges_follow_provides_and_ignore_versions() -> None:
    graph = build_graph(EXAMPLE)
    assert graph.needs["greet"] == {"libgreet"}
    assert graph.needs["tool"] == {"greet"}
    assert graph.external["greet"] == {"gcc", "make"}  # the host toolchain's business
    assert graph.order() == ["filesystem", "greet-data", "libgreet", "greet", "tool"]
    assert graph.dependents("libgreet") == {"greet", "tool"}
    assert capability_name("foo-devel >= 1:2.0-3") == "foo-devel"
    assert capability_name("(a or b)") == "(a or b)"


def test_cycles_are_reported_with_their_members() -> None:
    graph = build_graph(EXAMPLE + [ComponentDeps("gcc-bootstrap", ("tool",), ("gcc",))])
    with pytest.raises(CycleError) as raised:
        graph.order()
    assert raised.value.cycles == [["gcc-bootstrap", "greet", "libgreet", "tool"]]
    assert "build dependency cycle: gcc-bootstrap -> greet -> libgreet -> tool -> gcc-bootstrap" in str(raised.value)
    assert find_cycles({"a": {"a"}}) == [["a"]]


def test_critical_path_is_the_longest_chain() -> None:
    graph = build_graph(EXAMPLE)
    seconds, chain = graph.critical_path({"libgreet": 3, "greet": 2, "tool": 1, "filesystem": 5, "greet-data": 1})
    assert (seconds, chain) == (6, ["libgreet", "greet", "tool"])


def test_independent_builds_run_at_the_same_time() -> None:
    graph = build_graph(EXAMPLE)
    started = {name: threading.Event() for name in ("filesystem", "greet-data")}

    def build(name: str, ticket):
        if name in started:
            started[name].set()
            other = "greet-data" if name == "filesystem" else "filesystem"
            assert started[other].wait(timeout=30), f"{name} ran alone: the scheduler did not run two at once"
        return State.DONE, name

    jobs = run_builds(graph, ["filesystem", "greet-data"], build, jobs=2)
    assert {job.state for job in jobs.values()} == {State.DONE}


def test_dependents_wait_and_failures_skip_only_what_needs_them() -> None:
    graph = build_graph(EXAMPLE)
    finished: list[str] = []
    lock = threading.Lock()

    def build(name: str, ticket):
        with lock:
            if name == "greet":
                assert "libgreet" in finished  # started only after what it needs
            finished.append(name)
        if name == "greet":
            raise TribError("greet: %build failed")
        return State.DONE, None

    changes: list[dict] = []
    jobs = run_builds(graph, [c.name for c in EXAMPLE], build, jobs=2, on_change=changes.append)
    assert jobs["greet"].state == State.FAILED and jobs["greet"].error == "greet: %build failed"
    assert jobs["tool"].state == State.SKIPPED and jobs["tool"].blocked_by == ["greet"]
    assert {n for n, j in jobs.items() if j.state == State.DONE} == {"filesystem", "greet-data", "libgreet"}
    assert "tool" not in finished
    assert changes[0]["filesystem"].state in (State.BUILDING, State.QUEUED)  # the live table saw progress


def test_a_free_slot_goes_to_the_longest_chain_first() -> None:
    graph = build_graph(EXAMPLE)
    started: list[str] = []

    def build(name: str, ticket):
        started.append(name)
        return State.DONE, None

    run_builds(graph, [c.name for c in EXAMPLE], build, jobs=1)
    # libgreet heads the longest chain (libgreet -> greet -> tool), so the leaves wait for it and for
    # greet; then everything left is a chain of one, taken in build order.
    assert started == ["libgreet", "greet", "filesystem", "greet-data", "tool"]


def test_a_remote_build_is_waiting_then_building_on_its_worker_and_gets_its_chain_as_priority() -> None:
    graph = build_graph(EXAMPLE)
    priorities: dict[str, int] = {}

    def build(name: str, ticket):
        priorities[name] = ticket.priority
        ticket.waiting()
        ticket.started(f"worker-of-{name}")
        return State.DONE, None

    changes: list[dict] = []
    jobs = run_builds(graph, [c.name for c in EXAMPLE], build, jobs=lambda: 5, on_change=changes.append)
    assert priorities == {"libgreet": 3, "greet": 2, "tool": 1, "filesystem": 1, "greet-data": 1}
    assert jobs["greet"].worker == "worker-of-greet" and jobs["greet"].state == State.DONE
    seen = [snapshot["libgreet"] for snapshot in changes]
    assert any(job.state == State.WAITING for job in seen)
    assert any(job.state == State.BUILDING and job.worker == "worker-of-libgreet" for job in seen)


def test_a_bug_in_a_build_stops_the_run_and_cancels_what_is_out() -> None:
    graph = build_graph(EXAMPLE)
    cancelled: list[bool] = []

    def build(name: str, ticket):
        if name == "libgreet":
            raise KeyError("a bug")
        return State.DONE, None

    with pytest.raises(KeyError, match="a bug"):
        run_builds(graph, [c.name for c in EXAMPLE], build, jobs=1, cancel=lambda: cancelled.append(True))
    assert cancelled == [True]
