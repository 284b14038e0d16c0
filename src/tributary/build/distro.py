"""Build a selection of the distribution: render, order by BuildRequires, build in parallel, cache.

1. The buildroot definition is read (``tributary.build.buildroot.choose``) and its repositories are
   pinned by their metadata checksums, once for the run.
2. Every component is rendered (unchanged ones are skipped by render's own cache): the graph needs
   every component's packages to know who provides a BuildRequires.
3. rpm's parser reads each rendered spec's BuildRequires and packages (with the definition's macros,
   so ``%dist`` counts); the graph orders the builds and reports cycles. A component that provides a
   package of the buildroot's set (the distribution's rpm-config) is built before everything else,
   which then has it in its roots.
4. The selection grows by what it needs to build, so ``trib build greet`` builds libgreet first when
   it has not been built; an unchanged dependency is a cache hit and costs nothing.
5. Each build gets a repository holding exactly the RPMs of the components it needs (directly or
   not): that is "the packages this run has produced", as the component may see them. Its roots and
   its cache key follow from the pinned repositories, so a rebuilt dependency rebuilds its dependents.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tributary.build.buildroot.choose import cache_root, mock_config_path, project_buildroot
from tributary.build.buildroot.definition import PRODUCED_REPO_ID, Buildroot, Repo, macros_text
from tributary.build.buildroot.repos import PinnedRepo, file_checksum, indexed_repository, pin
from tributary.build.buildroot.roots import RootCache, RootRecipe
from tributary.build.cache import BuildCache
from tributary.build.component import BuildOutputs, KeepTree, RootPlan, runs_check
from tributary.build.executors import BuildRequest, Executor, ExecutorKind
from tributary.build.executors.local import LocalExecutor
from tributary.build.graph import BuildGraph, ComponentDeps, CycleError, build_graph, capability_name, find_cycles
from tributary.build.imports import Imported, import_packages, wanted_imports
from tributary.build.mockbuild import build_with_mock
from tributary.build.records import BuildRecord, Outcome, now, write_records
from tributary.build.requires import build_requires, provides
from tributary.build.scheduler import Job, State, Ticket, run_builds
from tributary.config import Project
from tributary.errors import TribError
from tributary.fsutil import atomic_write
from tributary.render.render import RenderStatus, render_many
from tributary.tools import toolchain
from tributary.tools.mock import require as require_mock
from tributary.upstream.fingerprint import file_sha256
from tributary.upstream.lock import lock_path, read_lock

PRODUCED_PRIORITY = 1
"""dnf priority of the packages this run produced: they win over a repository's package of the same name."""


@dataclass
class BuildPlan:
    graph: BuildGraph
    selection: list[str]
    render_failures: dict[str, str]
    buildroot: Buildroot
    repos: tuple[PinnedRepo, ...]
    macros: str
    template_values: dict[str, str]  # tributary's template names the definition used, for mock's --config-opts
    imports: list[Imported] = field(default_factory=list)
    import_error: TribError | None = None


class Backend(enum.StrEnum):
    """Who makes roots and runs rpmbuild: tributary itself (bubblewrap, the default), or real mock."""

    NATIVE = "native"
    MOCK = "mock"


class Stage0Url:
    """This host's stage-0 repository's URL, made on first use (the default buildroot and templates);
    ``value`` says whether anything asked for it."""

    def __init__(self, project: Project):
        self.project = project
        self.value: str | None = None

    def __call__(self) -> str:
        if self.value is None:
            from tributary.build.stage0 import ensure_stage0  # only when a definition asks for it

            self.value = ensure_stage0(cache_root(self.project) / "stage0").url
        return self.value


def plan(project: Project, names: list[str], *, jobs: int | None = None,
         buildroot: Buildroot | None = None, extra_repos: Sequence[Repo] = ()) -> BuildPlan:
    """Read the buildroot, render, read dependencies, and choose what to build (``names`` plus what they need).

    ``extra_repos`` join the buildroot's repositories (azldev's ``--local-repo``).
    """
    stage0 = Stage0Url(project)
    definition = buildroot or project_buildroot(project, stage0_url=stage0)
    if extra_repos:
        definition = dataclasses.replace(definition, repos=(*definition.repos, *extra_repos))
    cache = cache_root(project)
    repos = tuple(pin(repo, index_cache=cache / "repos") for repo in definition.repos)
    macros = macros_text(definition.macros)
    macros_path = project.work_dir / "build-macros" / "macros.buildroot"
    atomic_write(macros_path, macros)
    outcomes = render_many(project, project.component_names, jobs=jobs)
    failures = {o.component: o.error or "render failed" for o in outcomes if o.status != RenderStatus.OK}
    deps = []
    for name in project.component_names:
        if name in failures:
            deps.append(ComponentDeps(name, (), ()))
            continue
        spec = project.resolve(name).rendered_dir / f"{name}.spec"
        try:
            packages = provides(spec, [macros_path])
            deps.append(ComponentDeps(name, tuple(build_requires(spec, [macros_path])),
                                      tuple(p for names_ in packages.values() for p in names_) + tuple(packages)))
        except TribError as error:
            failures[name] = str(error)
            deps.append(ComponentDeps(name, (), ()))
    graph = build_graph(deps)
    graph.add_buildroot_edges(package_set_capabilities(definition))
    selection = set(names)
    for name in names:
        selection |= graph.requirements_of(name)
    values = {"tributary_project_dir": str(project.root)} | ({"tributary_stage0": stage0.value} if stage0.value else {})
    return BuildPlan(graph, sorted(selection), failures, definition, repos, macros, values)


def package_set_capabilities(definition: Buildroot) -> list[str]:
    """The buildroot's package set as capabilities a component could provide (groups left out)."""
    return [entry for entry in (*definition.packages, *definition.packages_if_built) if not entry.startswith("@")]


def root_plan(build_plan: BuildPlan, name: str, results: dict[str, list[Path]], cache: RootCache,
              produced_cache: Path, rpm_dir: Path) -> RootPlan:
    """The roots of ``name``'s build: the package set, then its BuildRequires (see module docstring)."""
    definition = build_plan.buildroot
    graph = build_plan.graph
    needed = graph.requirements_of(name)
    set_entries = package_set_capabilities(definition)
    set_providers = {provider for entry in set_entries
                     for provider in graph.providers.get(capability_name(entry), ()) if provider in needed}
    optional = tuple(entry for entry in set_entries if (providers := graph.providers.get(capability_name(entry)))
                     and not providers & needed)
    built_entries = tuple(entry for entry in definition.packages_if_built
                          if graph.providers.get(capability_name(entry), set()) & needed)
    base_repos = build_plan.repos + _produced(_rpms(set_providers, results), produced_cache, rpm_dir)
    packages = (*definition.packages, *built_entries)
    base = RootRecipe(definition.arch, definition.releasever, base_repos, packages)
    requires_repos = build_plan.repos + _produced(_rpms(needed, results), produced_cache, rpm_dir)
    return RootPlan(base, requires_repos, build_plan.macros, cache,
                    optional=tuple(entry for entry in optional if entry in definition.packages))


def _rpms(components: set[str], results: dict[str, list[Path]]) -> list[Path]:
    return sorted(path for name in components for path in results.get(name, []) if not path.name.endswith(".src.rpm"))


def _produced(rpms: Sequence[Path], cache: Path, rpm_dir: Path) -> tuple[PinnedRepo, ...]:
    """A repository of exactly ``rpms`` (content-addressed, so the same packages give the same one)."""
    if not rpms:
        return ()
    key = hashlib.sha256("\n".join(sorted(file_sha256(path) for path in rpms)).encode()).hexdigest()[:32]
    directory = indexed_repository(rpms, rpm_dir, cache / key)
    return (PinnedRepo(PRODUCED_REPO_ID, directory.as_uri(), file_checksum(directory / "repodata" / "repomd.xml"),
                       priority=PRODUCED_PRIORITY),)


def build_distribution(
    project: Project,
    names: list[str],
    *,
    jobs: int = 2,
    force: bool = False,
    backend: Backend = Backend.NATIVE,
    on_change: Callable[[dict[str, Job]], None] | None = None,
    check: bool | None = None,
    keep: KeepTree = KeepTree.ON_FAILURE,
    extra_repos: Sequence[Repo] = (),
    mock_options: Mapping[str, str] | None = None,
    executor: Executor | None = None,
) -> tuple[BuildPlan, dict[str, Job]]:
    """Build ``names`` and what they need, ``jobs`` at a time on this machine, or on ``executor``
    (a Dask cluster: ``tributary.build.executors``); every job's outcome.

    ``check=False`` leaves out every ``%check`` (None: as each component says); ``keep`` says when a
    build's scratch tree stays (on this machine; a worker keeps a failed one); ``extra_repos`` join the
    buildroot's repositories; ``mock_options`` go to mock as ``--config-opts`` (the mock backend).
    """
    runner: Executor = executor or LocalExecutor(jobs)
    if backend == Backend.MOCK and runner.kind != ExecutorKind.LOCAL:
        raise TribError("--backend mock builds on this machine only",
                        hint="use the native backend with --executor dask")
    mock_config = _mock_config(project) if backend == Backend.MOCK else None  # before anything: a cache hit
    build_plan = plan(project, names, jobs=jobs, extra_repos=extra_repos)     # must not hide a missing mock
    cache = BuildCache(project)
    outputs = BuildOutputs.for_project(project)
    roots = RootCache(cache_root(project) / "roots")
    produced_cache = cache_root(project) / "produced"
    results: dict[str, list[Path]] = {}

    def build(name: str, ticket: Ticket) -> tuple[State, object]:
        if name in build_plan.render_failures:
            raise TribError(build_plan.render_failures[name])
        component = project.resolve(name)
        root_recipes = root_plan(build_plan, name, results, roots, produced_cache, outputs.rpm_dir)
        lock = read_lock(lock_path(project.lock_dir, name))
        inputs = _buildroot_inputs(root_recipes) | ({"backend": backend.value} if mock_config else {}) \
            | ({"check": False} if check is False else {})  # a build without %check is not one with it
        key = cache.key(component.rendered_dir, fingerprint=lock.input_fingerprint if lock else "", buildroot=inputs)
        cached = None if force else cache.lookup(name, key)
        if cached is not None:
            results[name] = cached
            return State.CACHED, cached
        if mock_config is not None:
            ticket.started(None)
            produced = [repo.url for repo in root_recipes.requires_repos if repo.id == PRODUCED_REPO_ID]
            options = {**build_plan.template_values, **(mock_options or {})}
            result = build_with_mock(project, component, config=mock_config, options=options,
                                     repos=produced, dest=outputs, check=runs_check(component) and check is not False)
        else:
            request = BuildRequest(project, component, root_recipes, outputs,
                                   runs_check(component) and check is not False, keep)
            result = runner.build(request, ticket)
        outputs_made = [result.srpm, *result.rpms]
        cache.record(name, key, outputs_made, toolchain=toolchain.versions(),
                     buildroot=result.buildroot or {"backend": backend.value}, worker=result.worker)
        results[name] = outputs_made
        return State.DONE, outputs_made

    # A dependency's result must be known before its dependents start: the scheduler guarantees it.
    runnable, blocked = _outside_cycles(build_plan)
    jobs_table = run_builds(runnable, [name for name in build_plan.selection if name not in blocked], build,
                            jobs=runner.slots, on_change=on_change, cancel=runner.cancel)
    jobs_table |= blocked
    write_records(project.work_dir, (_record(project, job) for job in jobs_table.values()))
    if names_to_import := wanted_imports(project):
        try:
            build_plan.imports = _import(project, build_plan, names_to_import, cache, produced_cache, outputs)
        except TribError as error:
            build_plan.import_error = error
    return build_plan, jobs_table


def _import(project: Project, build_plan: BuildPlan, names: list[str], cache: BuildCache, produced_cache: Path,
            outputs: BuildOutputs) -> list[Imported]:
    """Import what the package groups ask for, next to the current build of every component."""
    current = [path for name in project.component_names for path in cache.recorded(name) or []
               if not path.name.endswith(".src.rpm")]
    definition = build_plan.buildroot
    return import_packages(project, names, repos=build_plan.repos,
                           produced=_produced(sorted(current), produced_cache, outputs.rpm_dir),
                           releasever=definition.releasever, arch=definition.arch, rpm_dir=outputs.rpm_dir)


def _outside_cycles(build_plan: BuildPlan) -> tuple[BuildGraph, dict[str, Job]]:
    """The graph without its build-dependency cycles, and the jobs a cycle blocks.

    A cycle's members fail, naming the cycle; what needs them, directly or not, is skipped; every other
    component builds. Only the selected components get a job.
    """
    graph = build_plan.graph
    cycles = find_cycles(graph.needs)
    if not cycles:
        return graph, {}
    selected = set(build_plan.selection)
    blocked: dict[str, Job] = {}
    for cycle in cycles:
        error = str(CycleError([cycle]))
        for member in cycle:
            if member in selected:
                blocked[member] = Job(member, State.FAILED, error=error)
    members = {member for cycle in cycles for member in cycle}
    for name in sorted(selected - members):
        needed = sorted(graph.requirements_of(name) & members)
        if needed:
            blocked[name] = Job(name, State.SKIPPED, blocked_by=needed)
    runnable = BuildGraph({name: set(needs) for name, needs in graph.needs.items() if name not in blocked},
                          graph.external, graph.providers)
    return runnable, blocked


_OUTCOMES = {State.DONE: Outcome.BUILT, State.CACHED: Outcome.CACHED, State.FAILED: Outcome.FAILED,
             State.SKIPPED: Outcome.SKIPPED}


def _record(project: Project, job: Job) -> BuildRecord:
    """What the job's outcome leaves for later stages and the website (``tributary.build.records``)."""
    outcome = _OUTCOMES[job.state]
    log = project.log_dir / f"{job.name}.log"
    ran = outcome in (Outcome.BUILT, Outcome.FAILED)
    outputs = tuple(sorted(job.result)) if isinstance(job.result, list) else ()
    return BuildRecord(job.name, outcome, job.seconds, now(), log=log if ran and log.is_file() else None,
                       error=job.error, blocked_by=tuple(job.blocked_by), outputs=outputs,
                       worker=job.worker if ran else None)


def _mock_config(project: Project) -> Path:
    """The mock config ``--backend mock`` builds with; mock itself must be installed."""
    require_mock()
    named = mock_config_path(project)
    if named is None:
        raise TribError("--backend mock needs a mock config: the distro version names none (mock-config-<arch>)",
                        hint="use the native backend, which also has a default buildroot")
    path, where = named
    if path.suffix == ".toml":
        raise TribError(f"{path.name} is tributary's buildroot form, not a mock config", where=where,
                        hint="use the native backend for it")
    return path


def _buildroot_inputs(roots: RootPlan) -> dict[str, object]:
    """What decides the roots a build runs in: the base recipe and where BuildRequires come from."""
    return {"base": roots.base.key, "optional": sorted(roots.optional),
            "requiresRepos": [[repo.id, repo.checksum, repo.priority] for repo in roots.requires_repos],
            "macros": roots.macros}
