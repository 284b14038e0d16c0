"""Build a selection of the distribution: render, order by BuildRequires, build in parallel, cache.

1. Every component is rendered (unchanged ones are skipped by render's own cache): the graph needs
   every component's packages to know who provides a BuildRequires.
2. rpm's parser reads each rendered spec's BuildRequires and packages (with our macros, so ``%dist``
   and build options count); the graph orders the builds and reports cycles.
3. The selection grows by what it needs to build, so ``trib build greet`` builds libgreet first when
   it has not been built; an unchanged dependency is a cache hit and costs nothing.
4. Each build gets a repository holding exactly the RPMs of the components it needs (directly or
   not), and is keyed in the cache by them: a rebuilt dependency rebuilds its dependents.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tributary.build.cache import BuildCache
from tributary.build.component import BuildOutputs, build_component, require_backend
from tributary.build.graph import BuildGraph, ComponentDeps, build_graph
from tributary.build.macros import write_macros
from tributary.build.requires import build_requires, provides
from tributary.build.scheduler import Job, State, run_builds
from tributary.config import Project
from tributary.errors import TribError
from tributary.render.render import render_many
from tributary.tools import toolchain
from tributary.tools.createrepo import index_directory
from tributary.upstream.lock import lock_path, read_lock


@dataclass
class BuildPlan:
    graph: BuildGraph
    selection: list[str]
    render_failures: dict[str, str]
    macros: list[Path]


def plan(project: Project, names: list[str], *, jobs: int | None = None) -> BuildPlan:
    """Render, read dependencies, and choose what to build (``names`` plus what they need)."""
    macros = write_macros(project, project.work_dir / "build-macros")
    outcomes = render_many(project, project.component_names, jobs=jobs)
    failures = {o.component: o.error or "render failed" for o in outcomes if o.status != "ok"}
    deps = []
    for name in project.component_names:
        if name in failures:
            deps.append(ComponentDeps(name, (), ()))
            continue
        spec = project.resolve(name).rendered_dir / f"{name}.spec"
        try:
            packages = provides(spec, macros)
            deps.append(ComponentDeps(name, tuple(build_requires(spec, macros)),
                                      tuple(p for names_ in packages.values() for p in names_) + tuple(packages)))
        except TribError as error:
            failures[name] = str(error)
            deps.append(ComponentDeps(name, (), ()))
    graph = build_graph(deps)
    selection = set(names)
    for name in names:
        selection |= _needed(graph, name)
    return BuildPlan(graph, sorted(selection), failures, macros)


def _needed(graph: BuildGraph, name: str) -> set[str]:
    found: set[str] = set()
    stack = [name]
    while stack:
        for dependency in graph.needs.get(stack.pop(), ()):
            if dependency not in found:
                found.add(dependency)
                stack.append(dependency)
    return found


def build_distribution(
    project: Project,
    names: list[str],
    *,
    jobs: int = 2,
    force: bool = False,
    backend: str = "rpmbuild",
    on_change: Callable[[dict[str, Job]], None] | None = None,
) -> tuple[BuildPlan, dict[str, Job]]:
    """Build ``names`` and what they need, ``jobs`` at a time; every job's outcome."""
    require_backend(backend)  # before anything: a cache hit must not hide an unusable backend
    build_plan = plan(project, names, jobs=jobs)
    cache = BuildCache(project)
    outputs = BuildOutputs.for_project(project)
    results: dict[str, list[Path]] = {}

    def build(name: str) -> tuple[State, object]:
        if name in build_plan.render_failures:
            raise TribError(build_plan.render_failures[name])
        component = project.resolve(name)
        needed = sorted(_needed(build_plan.graph, name))
        dependency_rpms = [path for dep in needed for path in results.get(dep, []) if not path.name.endswith(".src.rpm")]
        lock = read_lock(lock_path(project.lock_dir, name))
        key = cache.key(component.rendered_dir, fingerprint=lock.input_fingerprint if lock else "",
                        macros=build_plan.macros, dependencies=dependency_rpms)
        cached = None if force else cache.lookup(name, key)
        if cached is not None:
            results[name] = cached
            return State.CACHED, cached
        with tempfile.TemporaryDirectory(prefix=f"{name}-deps.", dir=_scratch(project)) as scratch:
            repo = None
            if dependency_rpms:
                repo = Path(scratch)
                for path in dependency_rpms:
                    shutil.copyfile(path, repo / path.name)
                index_directory(repo)
            result = build_component(project, component, repo_of_built=repo, dest=outputs, backend=backend)
        produced = [result.srpm, *result.rpms]
        cache.record(name, key, produced, toolchain=toolchain.versions())
        results[name] = produced
        return State.DONE, produced

    # A dependency's result must be known before its dependents start: the scheduler guarantees it.
    jobs_table = run_builds(build_plan.graph, build_plan.selection, build, jobs=jobs, on_change=on_change)
    return build_plan, jobs_table


def _scratch(project: Project) -> Path:
    path = project.work_dir / "builds"
    path.mkdir(parents=True, exist_ok=True)
    return path
