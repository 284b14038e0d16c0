"""Benchmark: a clean ``-j2`` build of a small C distribution against its critical-path bound.

Generates a deterministic (seeded) distribution of 14 local-spec C components, discovered by a
component group's ``specs`` glob, committed to git as a real project is (``--no-git`` leaves it out):

* a long chain of shared libraries ending in a program, each BuildRequiring the previous one's
  ``-devel`` subpackage and linking against it (``libcore -> libcodec -> libframe -> libproto ->
  librpc -> rpcd``): the critical path;
* a shorter chain (``libtext -> libmarkup -> mdview``), a program that joins both chains' first
  libraries (``pkgtool``), and four independent programs.

Every component really compiles a generated C file of a few hundred to about 2,000 lines with the
distribution's flags (``%set_build_flags``, plain ``gcc`` commands), and each program runs in
``%check``. The builds are real: ``rpmbuild -bs`` and ``--rebuild`` in tributary's bubblewrap sandbox,
BuildRequires installed by dnf from the packages built before; gcc comes from the host. The chain's
components carry more code than the rest, so that all the work fits on two cores beside the chain
(total work about 1.6-1.8x the critical path): the critical path is then the binding lower bound.

Measured (``--repeat N``: N fresh trees, medians):

1. ``build_distribution(project, every component, jobs=2)`` from clean: ``wall_s``; from the per-job
   seconds of that same run, the critical path (``BuildGraph.critical_path``, ``critical_path_s``
   and the chain), the total work ``work_s`` and ``lower_bound_s = max(critical path, work / 2)``;
2. the same call again with nothing changed (``noop_s``: every job must be a cache hit);
3. a clean ``jobs=1`` build of another fresh tree (``sequential_s``), for reference; its per-job
   seconds give the same bounds without two builds competing for the cores
   (``critical_path_uncontended_s``, ``work_uncontended_s``).

Where the time goes: ``plan_s`` is the time before the first build starts (render every component,
rpm parses every spec); ``phases`` sums, over all jobs, the time in each step of a build (timing
wrappers around tributary's functions: preparing sources, ``rpmbuild -bs``, the dnf install of build
dependencies, ``rpmbuild --rebuild``, the dependency repository, the build cache). ``simulated_*``
replays the measured per-job seconds on 2 slots, with the scheduler's own order (``graph.order()``:
dependency level, then name) and with critical-path-first order, so what the scheduling policy costs
is separated from what the builds cost. ``cpu_busy`` is the machine's busy CPU share during the clean
build (``/proc/stat``). Each clean build first clears tributary's in-process caches, so it pays what
a new ``trib`` process pays.

Unless ``--no-example``, the bundled example distribution is also built from clean with the CLI
(``trib build -a -j 2`` on a copy of examples/distro reading an Example Upstream generated into the
scratch directory), then once more with nothing changed.

Target on 2 cores (the issue's): ``wall_s <= 1.15 x critical_path_s``; also reported against the lower
bound. No-op rebuild <= 3 s.

    python benchmarks/build_parallel.py [--json] [--repeat N] [--keep DIR] [--jobs N] [--no-git]
                                        [--no-sequential] [--no-example]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (
    Target,
    example_distro,
    git_commit_all,
    machine,
    report,
    scratch_dir,
    timed,
    trib_json,
    tributary_commit,
)

from tributary.build import component, distro
from tributary.build.buildroot import repos, roots
from tributary.build.cache import BuildCache
from tributary.build.executors import local as local_executor
from tributary.build.executors.dask import DaskExecutor
from tributary.build.graph import BuildGraph
from tributary.build.scheduler import State
from tributary.build.stage0 import ensure_stage0
from tributary.config import load_project
from tributary.tools import dask as dask_tool

SEED = 20260301
TARGET_RATIO = 1.15
TARGET_NOOP_S = 3.0

# name, the libraries whose -devel it BuildRequires (and links against), functions in its C file.
# Names starting with "lib" are shared libraries with a -devel subpackage; the others are programs.
COMPONENTS: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("libcore", (), 100),
    ("libcodec", ("libcore",), 100),
    ("libframe", ("libcodec",), 100),
    ("libproto", ("libframe",), 100),
    ("librpc", ("libproto",), 100),
    ("rpcd", ("librpc",), 100),
    ("libtext", (), 40),
    ("libmarkup", ("libtext",), 40),
    ("mdview", ("libmarkup",), 40),
    ("pkgtool", ("libcore", "libtext"), 30),
    ("zcalc", (), 25),
    ("hexview", (), 25),
    ("wordcount", (), 25),
    ("tzprobe", (), 25),
)
CHANGELOG = ("* Mon Jan 05 2026 Bench Builder <bench@tribex.invalid> - 1.0-1\n"
             "- Synthetic component for benchmarks/build_parallel.py\n")

# ---------------------------------------------------------------------------------------------------
# The generated distribution


def c_source(name: str, needs: tuple[str, ...], functions: int, rng: random.Random) -> str:
    """A C file of ``functions`` hashing steps (about 18 lines each) that gcc -O2 takes a while over.

    A library exports ``<name>_digest``; a program has ``main``. Both call every needed library's
    digest, so each link really needs the libraries built before it."""
    out = [f"/* {name}: generated by benchmarks/build_parallel.py */", "#include <stddef.h>", "#include <stdint.h>",
           "#include <stdio.h>", "#include <string.h>"]
    out += [f"#include <{dep}.h>" for dep in needs]
    if name.startswith("lib"):
        out.append(f"#include \"{name}.h\"")
    out.append("")
    for i in range(functions):
        a, b, c = rng.randrange(3, 97), rng.randrange(5, 251), rng.randrange(1, 31)
        out += [f"static uint64_t step{i}(const uint8_t *data, size_t len, uint64_t seed)", "{",
                f"    uint64_t h = seed ^ {rng.getrandbits(48)}ULL;",
                "    for (size_t i = 0; i < len; i++) {",
                f"        h = (h ^ data[i]) * {rng.getrandbits(40) | 1}ULL;",
                f"        h ^= h >> {c};",
                "        switch ((h + i) % 5) {",
                f"        case 0: h += {a} * i; break;",
                f"        case 1: h ^= (h << {c % 13 + 1}) | {b}; break;",
                f"        case 2: h = (h * {a}) ^ (h >> {b % 17 + 1}); break;",
                f"        case 3: h -= data[(i * {a}) % len]; break;",
                "        default: h = ~h; break;",
                "        }",
                "    }",
                f"    return h + {rng.getrandbits(32)}ULL;",
                "}", ""]
    digest = f"{name}_digest" if name.startswith("lib") else "digest"
    out += [f"{'' if name.startswith('lib') else 'static '}uint64_t {digest}(const char *text, uint64_t seed)", "{",
            "    const uint8_t *data = (const uint8_t *) text;",
            "    size_t len = strlen(text);",
            "    uint64_t h = seed;"]
    out += [f"    h ^= {dep}_digest(text, h);" for dep in needs]
    out += ["    if (len == 0)", "        return h;"]
    out += [f"    h = step{i}(data, len, h);" for i in range(functions)]
    out += ["    return h;", "}", ""]
    if not name.startswith("lib"):
        out += ["int main(int argc, char **argv)", "{",
                "    const char *text = argc > 1 ? argv[1] : \"tributary\";",
                f"    printf(\"{name} %016llx\\n\", (unsigned long long) digest(text, {rng.getrandbits(32)}ULL));",
                "    return 0;", "}", ""]
    return "\n".join(out)


def header(name: str) -> str:
    guard = f"{name.upper()}_H"
    return (f"#ifndef {guard}\n#define {guard}\n#include <stdint.h>\n"
            f"uint64_t {name}_digest(const char *text, uint64_t seed);\n#endif\n")


def spec(name: str, needs: tuple[str, ...]) -> str:
    library = name.startswith("lib")
    links = " ".join(f"-l{dep.removeprefix('lib')}" for dep in needs)
    lines = [
        f"Name:           {name}",
        "Version:        1.0",
        "Release:        1%{?dist}",
        f"Summary:        {'Shared library' if library else 'Program'} {name} of the parallel-build benchmark",
        "License:        MIT",
        f"URL:            https://example.invalid/{name}",
        f"Source0:        {name}.c",
        *([f"Source1:        {name}.h"] if library else []),
        "",
        "BuildRequires:  gcc",
        *(f"BuildRequires:  {dep}-devel" for dep in needs),
        "",
        "%description",
        f"{name} hashes its input through generated steps; it exists to give the parallel-build",
        "benchmark real compile work with real build dependencies.",
        "",
    ]
    if library:
        lines += ["%package devel",
                  "Summary:        Development files for %{name}",
                  "Requires:       %{name}%{?_isa} = %{version}-%{release}",
                  "",
                  "%description devel",
                  "The header and the unversioned shared library link of %{name}.",
                  ""]
    lines += ["%prep", "%setup -q -c -T", "cp -p %{SOURCE0}" + (" %{SOURCE1}" if library else "") + " .", "",
              "%build", "%set_build_flags"]
    if library:
        lines += [f"gcc $CFLAGS -fPIC -I. -c {name}.c -o {name}.o",
                  f"gcc $CFLAGS $LDFLAGS -shared -Wl,-soname,{name}.so.1 -o {name}.so.1.0 {name}.o {links}".rstrip(),
                  "",
                  "%install",
                  f"install -D -m 0755 {name}.so.1.0 %{{buildroot}}%{{_libdir}}/{name}.so.1.0",
                  f"ln -s {name}.so.1.0 %{{buildroot}}%{{_libdir}}/{name}.so.1",
                  f"ln -s {name}.so.1 %{{buildroot}}%{{_libdir}}/{name}.so",
                  f"install -D -m 0644 {name}.h %{{buildroot}}%{{_includedir}}/{name}.h",
                  "",
                  "%files",
                  f"%{{_libdir}}/{name}.so.1",
                  f"%{{_libdir}}/{name}.so.1.0",
                  "",
                  "%files devel",
                  f"%{{_includedir}}/{name}.h",
                  f"%{{_libdir}}/{name}.so",
                  ""]
    else:
        lines += [f"gcc $CFLAGS -c {name}.c -o {name}.o",
                  f"gcc $CFLAGS $LDFLAGS -o {name} {name}.o {links}".rstrip(),
                  "",
                  "%install",
                  f"install -D -m 0755 {name} %{{buildroot}}%{{_bindir}}/{name}",
                  "",
                  "%check",
                  f"./{name} check | grep -q '^{name} '",
                  "",
                  "%files",
                  f"%{{_bindir}}/{name}",
                  ""]
    lines += ["%changelog", CHANGELOG]
    return "\n".join(lines)


def generate(root: Path) -> dict[str, Any]:
    """Write the distribution into ``root`` (created); return what it holds."""
    root.mkdir(parents=True)
    (root / "azldev.toml").write_text(
        'includes = ["base/comps/components.toml"]\n\n'
        '[project]\ndescription = "synthetic C distribution for benchmarks/build_parallel.py"\n'
        'default-distro = { name = "tribex", version = "1.0" }\n\n'
        '[distros.tribex]\ndefault-version = "1.0"\n[distros.tribex.versions."1.0"]\nrelease-ver = "1.0"\n'
    )
    comps = root / "base/comps"
    comps.mkdir(parents=True)
    (comps / "components.toml").write_text(
        "# Every <name>/<name>.spec below this directory is a component with a local spec.\n"
        '[component-groups.local-specs]\ndescription = "components whose spec lives in this repository"\n'
        'specs = ["**/*.spec"]\n'
    )
    lines = 0
    for name, needs, functions in COMPONENTS:
        rng = random.Random(f"{SEED}:{name}")
        directory = comps / name
        directory.mkdir()
        source = c_source(name, needs, max(1, round(functions * rng.uniform(0.9, 1.1))), rng)
        lines += source.count("\n")
        (directory / f"{name}.c").write_text(source)
        if name.startswith("lib"):
            (directory / f"{name}.h").write_text(header(name))
        (directory / f"{name}.spec").write_text(spec(name, needs))
    return {"components": len(COMPONENTS), "c_lines": lines}


# ---------------------------------------------------------------------------------------------------
# Where a build's time goes: timing wrappers around tributary's own functions, summed over all jobs


class Phases:
    """Seconds spent in each wrapped function, summed over every thread, while ``active``."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.lock = threading.Lock()

    def add(self, phase: str, seconds: float) -> None:
        with self.lock:
            self.totals[phase] = self.totals.get(phase, 0.0) + seconds

    def wrap(self, phase: str | Callable[..., str], function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(phase(*args, **kwargs) if callable(phase) else phase, time.perf_counter() - start)
        return timed_call

    @contextlib.contextmanager
    def active(self) -> Iterator[Phases]:
        """Wrap the build steps for the duration (what is not there in this tributary is not timed)."""
        targets: list[tuple[Any, str, str | Callable[..., str]]] = [
            (distro, "plan", "plan: render + rpm parse of every spec"),
            (repos, "index_directory", "dependency repository (createrepo_c)"),
            (component, "prepare_sources", "prepare sources"),
            (component, "_run", lambda *a, **k: k.get("what", "rpmbuild")),
            (roots.RootCache, "_install", "dnf install into a root (base or BuildRequires)"),
            (roots, "clone_root", "  hard-linked copy of a base root"),
            (BuildCache, "key", "build cache (key, lookup, record)"),
            (BuildCache, "lookup", "build cache (key, lookup, record)"),
            (BuildCache, "record", "build cache (key, lookup, record)"),
            (component, "build_component", "build_component (total)"),
        ]
        saved = []
        for owner, attribute, phase in targets:
            original = getattr(owner, attribute, None)
            if original is not None:
                saved.append((owner, attribute, original))
                setattr(owner, attribute, self.wrap(phase, original))
        # The local executor imported build_component by name: wrap it there too (the same wrapper, once).
        saved.append((local_executor, "build_component", local_executor.build_component))
        local_executor.build_component = component.build_component
        try:
            yield self
        finally:
            for owner, attribute, original in reversed(saved):
                setattr(owner, attribute, original)

    def summary(self, work_s: float) -> dict[str, float]:
        """Rounded totals, plus what the jobs spent outside ``build_component`` (cache, deps repository)."""
        out = {phase: round(seconds, 2) for phase, seconds in sorted(self.totals.items(), key=lambda kv: -kv[1])}
        inside = self.totals.get("build_component (total)")
        if inside is not None:
            steps = sum(
                s
                for p, s in self.totals.items()
                if p in {"prepare sources", "rpmbuild -bs", "rpmbuild --rebuild",
                         "dnf install into a root (base or BuildRequires)"}
            )
            out["build_component: other (macros, logs, publish)"] = round(inside - steps, 2)
            out["jobs outside build_component"] = round(work_s - inside, 2)
        return out


# ---------------------------------------------------------------------------------------------------
# Schedules replayed from measured seconds


def bottom_levels(graph: BuildGraph, names: list[str], seconds: Mapping[str, float]) -> dict[str, float]:
    """For each component, the longest chain of builds from it to the end (its own build included)."""
    selected = set(names)
    dependents: dict[str, set[str]] = {name: set() for name in names}
    for name in names:
        for dep in graph.needs.get(name, ()):
            if dep in selected:
                dependents[dep].add(name)
    level: dict[str, float] = {}
    for name in reversed([n for n in graph.order() if n in selected]):
        level[name] = seconds.get(name, 0.0) + max((level[d] for d in dependents[name]), default=0.0)
    return level


def simulate(graph: BuildGraph, names: list[str], seconds: Mapping[str, float], jobs: int,
             priority: Callable[[str], Any] | None = None) -> float:
    """The makespan of a list schedule on ``jobs`` slots: whenever a slot is free, start the first ready
    component in ``graph.order()`` (what tributary's scheduler does), or by ``priority`` when given."""
    selected = set(names)
    order = [name for name in graph.order() if name in selected]
    if priority is not None:
        order.sort(key=priority)
    waiting = {name: {dep for dep in graph.needs.get(name, ()) if dep in selected} for name in order}
    running: list[tuple[float, str]] = []
    started: set[str] = set()
    now = 0.0
    while len(started) < len(order) or running:
        for name in order:
            if len(running) >= max(1, jobs):
                break
            if name not in started and not waiting[name]:
                started.add(name)
                running.append((now + seconds.get(name, 0.0), name))
        running.sort()
        now, finished = running.pop(0)
        for others in waiting.values():
            others.discard(finished)
    return now


# ---------------------------------------------------------------------------------------------------
# Measurements


@dataclass
class Build:
    """One ``build_distribution`` call: its wall time, jobs and the scheduler's snapshots."""

    wall_s: float
    plan: Any
    jobs: dict[str, Any]
    first_start_s: float  # from the call to the first build starting (render + parse)


def forget_process_caches() -> None:
    """Clear tributary's in-process caches (``functools.cache``: the sandbox's scan of the host for
    root-only files, the host toolchain's capabilities...), so every clean build pays what the clean
    build of a new ``trib`` process pays, whichever run of this benchmark it is."""
    for name, module in list(sys.modules.items()):
        if name.startswith("tributary.") and module is not None:
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


def run_build(root: Path, jobs: int, expect: State, executor: Any = None) -> Build:
    project = load_project(root)
    names = project.component_names
    events: list[float] = []
    start = time.perf_counter()
    plan, table = distro.build_distribution(project, names, jobs=jobs, executor=executor,
                                            on_change=lambda _snapshot: events.append(time.perf_counter()))
    wall = time.perf_counter() - start
    wrong = {name: job for name, job in table.items() if job.state != expect}
    if wrong or len(table) != len(COMPONENTS):
        for name, job in sorted(wrong.items()):
            print(f"{name}: {job.state.value}: {job.error or ''}"[:3000], file=sys.stderr)
        raise SystemExit(f"expected {len(COMPONENTS)} jobs, all {expect.value}; got {len(table)}, {len(wrong)} not")
    return Build(wall, plan, table, events[0] - start if events else wall)


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (``/proc/stat``; all cores together).

    System-wide, because the builds run in PID namespaces whose processes this one never waits for."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def parallel_run(root: Path, jobs: int, use_git: bool) -> dict[str, Any]:
    """Generate a fresh tree, build it from clean with ``jobs``, then again with nothing changed."""
    forget_process_caches()
    facts = generate(root)
    if use_git:
        git_commit_all(root, "synthetic C distribution")
    phases = Phases()
    cpu_before = busy_cpu_seconds()
    with phases.active():
        clean = run_build(root, jobs, State.DONE)
    cpu = busy_cpu_seconds() - cpu_before
    noop = run_build(root, jobs, State.CACHED)
    seconds = {name: job.seconds for name, job in clean.jobs.items()}
    names = sorted(seconds)
    graph = clean.plan.graph
    critical_s, chain = graph.critical_path(seconds)
    work_s = sum(seconds.values())
    lower = max(critical_s, work_s / jobs)
    levels = bottom_levels(graph, names, seconds)
    return {
        "facts": facts,
        "wall_s": clean.wall_s,
        "critical_path_s": critical_s,
        "critical_path": chain,
        "work_s": work_s,
        "lower_bound_s": lower,
        "bound": "critical path" if critical_s >= work_s / jobs else "work / jobs",
        "plan_s": clean.first_start_s,
        "simulated_scheduler_s": simulate(graph, names, seconds, jobs),
        "simulated_cp_first_s": simulate(graph, names, seconds, jobs, priority=lambda n: -levels[n]),
        "cpu_busy": cpu / (clean.wall_s * (os.cpu_count() or 1)),
        "job_seconds": {name: round(s, 2) for name, s in sorted(seconds.items())},
        "phases": phases.summary(work_s),
        "noop_s": noop.wall_s,
    }


def sequential_run(root: Path, use_git: bool) -> dict[str, Any]:
    """A clean ``jobs=1`` build of a fresh tree: its wall time and each job's (uncontended) seconds."""
    forget_process_caches()
    generate(root)
    if use_git:
        git_commit_all(root, "synthetic C distribution")
    build = run_build(root, 1, State.DONE)
    seconds = {name: job.seconds for name, job in build.jobs.items()}
    return {"wall_s": build.wall_s, "critical_path_s": build.plan.graph.critical_path(seconds)[0],
            "work_s": sum(seconds.values())}


def example_run(root: Path, jobs: int) -> dict[str, Any]:
    """``trib build -a -j N`` from clean on a copy of examples/distro, then again (no-op)."""
    example = example_distro(root)
    wall_s, rows = trib_json(*example.args("-O", "json", "build", "-a", "-j", str(jobs)))
    if {row["state"] for row in rows} != {"done"}:
        raise SystemExit(f"the example build did not build everything: {rows}")
    noop_s, again = trib_json(*example.args("-O", "json", "build", "-a", "-j", str(jobs)))
    if {row["state"] for row in again} != {"cached"}:
        raise SystemExit(f"the example's second build rebuilt something: {again}")
    seconds = {row["component"]: row["seconds"] for row in rows}
    project = load_project(example.root, extra_files=[example.mirror])
    graph = distro.plan(project, project.component_names).graph  # rendered already: parses only
    critical_s, chain = graph.critical_path(seconds)
    work_s = sum(seconds.values())
    lower = max(critical_s, work_s / jobs)
    names = sorted(seconds)
    levels = bottom_levels(graph, names, seconds)
    return {
        "example_components": len(rows),
        "example_wall_s": round(wall_s, 2),
        "example_critical_path_s": round(critical_s, 2),
        "example_critical_path": chain,
        "example_work_s": round(work_s, 2),
        "example_lower_bound_s": round(lower, 2),
        "example_ratio_vs_critical_path": round(wall_s / critical_s, 3),
        "example_ratio_vs_lower_bound": round(wall_s / lower, 3),
        "example_simulated_scheduler_s": round(simulate(graph, names, seconds, jobs), 2),
        "example_simulated_cp_first_s": round(simulate(graph, names, seconds, jobs, priority=lambda n: -levels[n]), 2),
        "example_noop_s": round(noop_s, 2),
        "example_job_seconds": seconds,
    }


# ---------------------------------------------------------------------------------------------------
# The Dask executor: two single-threaded workers on this machine, each with its own root cache


@contextlib.contextmanager
def dask_workers(directory: Path, workers: int) -> Iterator[DaskExecutor]:
    """A ``dask scheduler`` and ``workers`` single-threaded ``dask worker`` processes on 127.0.0.1, each
    with an empty cache of its own (``directory/worker-N``), and an executor connected to them."""
    directory.mkdir(parents=True)
    services = []
    try:
        with open(directory / "scheduler.log", "ab") as log:
            services.append(dask_tool.start(dask_tool.scheduler_args(
                host="127.0.0.1", dashboard=None, scheduler_file=directory / "scheduler.json"), log=log))
        address = dask_tool.wait_for_address(directory / "scheduler.json", services[0], directory / "scheduler.log",
                                             timeout=120)
        for number in range(1, workers + 1):
            with open(directory / f"worker-{number}.log", "ab") as log:
                services.append(dask_tool.start(dask_tool.worker_args(
                    address, name=f"bench-{number}", host="127.0.0.1", local_directory=directory / f"dask-{number}"),
                    log=log, env={"TRIB_CACHE_DIR": str(directory / f"worker-{number}")}))
        with DaskExecutor.connect(address) as executor:
            executor.client.wait_for_workers(workers, timeout=120)
            yield executor
    finally:
        for service in reversed(services):
            service.stop()


def dask_run(root: Path, executor: DaskExecutor, use_git: bool) -> dict[str, Any]:
    """A fresh tree built from an empty build cache on the cluster; its bounds from the tasks' own seconds.

    A task's seconds on the critical path are the scheduler's (hand-off to published) less the time it
    waited in Dask's queue for a free worker (``queued``); the per-task overhead of the Dask path is
    everything but the build itself: the client's preparation (sources packed, repositories described),
    the dispatch, the worker's fetches and uploads, the client's check and publication."""
    forget_process_caches()
    generate(root)
    if use_git:
        git_commit_all(root, "synthetic C distribution")
    executor.timings.clear()
    build = run_build(root, 2, State.DONE, executor=executor)
    timings = {name: dict(values) for name, values in executor.timings.items()}
    busy = {name: job.seconds - timings[name].get("queued", 0.0) for name, job in build.jobs.items()}
    critical_s, chain = build.plan.graph.critical_path(busy)
    overhead = {name: busy[name] - timings[name].get("build", 0.0) for name in busy}
    steps = ("prepare", "queued", "fetch", "build", "upload", "publish")
    return {
        "wall_s": build.wall_s,
        "critical_path_s": critical_s,
        "critical_path": chain,
        "work_s": sum(busy.values()),
        "ratio": build.wall_s / critical_s,
        "overhead_median_s": statistics.median(overhead.values()),
        "overhead_max_s": max(overhead.values()),
        "steps_median_s": {step: round(statistics.median(t.get(step, 0.0) for t in timings.values()), 3)
                           for step in steps},
        "workers": sorted({job.worker for job in build.jobs.values() if job.worker}),
    }


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--repeat", type=int, default=3, help="clean builds of fresh trees, medians reported (default %(default)s)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="builds at the same time (default %(default)s)")
    parser.add_argument("--keep", type=Path, help="write the trees here and keep them")
    parser.add_argument(
        "--no-git", action="store_true", help="leave the trees out of git (by default each is one commit)"
    )
    parser.add_argument("--no-sequential", action="store_true", help="skip the jobs=1 reference build")
    parser.add_argument("--no-example", action="store_true", help="skip the example distribution's build")
    parser.add_argument("--no-dask", action="store_true", help="skip the builds on two local Dask workers")
    args = parser.parse_args()
    commit = tributary_commit()  # now: the code this process imports, even if HEAD moves during the run
    load_average = os.getloadavg()[0]  # other work on the machine inflates every figure
    use_git = not args.no_git
    with scratch_dir(args.keep, "trib-bench-build-") as root:
        # One cache for the run (TRIB_CACHE_DIR): the stage-0 repository is made once, before anything is
        # timed, and the local builds' roots are warm after the first tree, as on a developer's machine.
        os.environ["TRIB_CACHE_DIR"] = str(root / "cache")
        stage0_s, _ = timed(lambda: ensure_stage0(root / "cache" / "stage0"))
        runs = []
        sequential = []
        for number in range(max(1, args.repeat)):
            runs.append(parallel_run(root / f"parallel-{number}", args.jobs, use_git))
            if not args.no_sequential:
                sequential.append(sequential_run(root / f"sequential-{number}", use_git))
        example = {} if args.no_example else example_run(root / "example", args.jobs)
        dask: dict[str, Any] = {}
        if not args.no_dask:
            with dask_workers(root / "dask", 2) as executor:
                cold = dask_run(root / "dask-cold", executor, use_git)  # empty worker caches: roots made
                warm = dask_run(root / "dask-warm", executor, use_git)  # the same workers, warm roots
            dask = {f"dask_{kind}_{key}": (round(value, 3) if isinstance(value, float) else value)
                    for kind, run in (("cold", cold), ("warm", warm)) for key, value in run.items()}

    # The run with the median wall time gives the chain and the breakdown; the figures are medians.
    middle = sorted(runs, key=lambda run: run["wall_s"])[(len(runs) - 1) // 2]
    wall = median_of(runs, "wall_s")
    critical = median_of(runs, "critical_path_s")
    lower = median_of(runs, "lower_bound_s")
    result: dict[str, Any] = {
        "components": middle["facts"]["components"],
        "jobs": args.jobs,
        "wall_s": round(wall, 2),
        "critical_path_s": round(critical, 2),
        "critical_path": middle["critical_path"],
        "work_s": round(median_of(runs, "work_s"), 2),
        "lower_bound_s": round(lower, 2),
        "binding_bound": middle["bound"],
        "ratio_vs_critical_path": round(statistics.median(r["wall_s"] / r["critical_path_s"] for r in runs), 3),
        "ratio_vs_lower_bound": round(statistics.median(r["wall_s"] / r["lower_bound_s"] for r in runs), 3),
        "sequential_s": round(median_of(sequential, "wall_s"), 2) if sequential else None,
        # The same graph's bounds from the jobs=1 run's seconds, where no build competes for the cores.
        "critical_path_uncontended_s": round(median_of(sequential, "critical_path_s"), 2) if sequential else None,
        "work_uncontended_s": round(median_of(sequential, "work_s"), 2) if sequential else None,
        "noop_s": round(median_of(runs, "noop_s"), 2),
        "plan_s": round(median_of(runs, "plan_s"), 2),
        "simulated_scheduler_s": round(median_of(runs, "simulated_scheduler_s"), 2),
        "simulated_cp_first_s": round(median_of(runs, "simulated_cp_first_s"), 2),
        "cpu_busy": round(median_of(runs, "cpu_busy"), 2),
        "phases": middle["phases"],
        "job_seconds": middle["job_seconds"],
        "runs": [{"wall_s": round(r["wall_s"], 2), "critical_path_s": round(r["critical_path_s"], 2),
                  "work_s": round(r["work_s"], 2), "noop_s": round(r["noop_s"], 2)} for r in runs],
        "c_lines": middle["facts"]["c_lines"],
        **example,
        **dask,
        "stage0_s": round(stage0_s, 2),
        "git": use_git,
        "tributary_commit": commit,
        **machine(),
        "loadavg_1m_at_start": round(load_average, 2),
    }
    targets = [Target("ratio_vs_critical_path", TARGET_RATIO), Target("noop_s", TARGET_NOOP_S)]
    if example:
        targets.append(Target("example_noop_s", TARGET_NOOP_S))
    if dask:
        targets.append(Target("dask_warm_ratio", TARGET_RATIO))
    notes = [
        (f"the target is judged against the critical path (the issue's bound); the binding lower bound here is "
         f"the {result['binding_bound']} ({result['lower_bound_s']} s: max(critical path, work / {args.jobs}))"),
        (f"plan_s: before the first build starts (render + rpm parse); simulated_*: the measured job seconds "
         f"replayed on {args.jobs} slots in the scheduler's order / critical-path-first"),
    ]
    report(result, targets, as_json=args.json, notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
