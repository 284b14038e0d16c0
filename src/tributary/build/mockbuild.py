"""``trib build --backend mock``: the same build, done by real mock with the project's mock config.

For hosts where mock is installed (Fedora, Azure Linux). tributary still renders, orders, caches and
publishes; mock makes the root and runs rpmbuild, exactly as azldev has it do (``--buildsrpm``, then
``--rebuild``). The native backend (``tributary.build.component``) is the default and what tests use.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tributary.build.component import (
    BuildError,
    BuildLog,
    BuildOutputs,
    BuildResult,
    component_log,
    publish,
    step_failed,
)
from tributary.build.requires import built_provides, srpm_build_requires
from tributary.build.sandbox import step_timeout
from tributary.config import Project, ResolvedComponent
from tributary.render.prepare import prepare_sources
from tributary.tools import mock, process


def build_with_mock(project: Project, component: ResolvedComponent, *, config: Path, options: Mapping[str, str],
                    repos: Sequence[str], dest: BuildOutputs | None = None, check: bool = True) -> BuildResult:
    """Build ``component`` with ``mock -r config``; ``repos`` are extra repository URLs (``--addrepo``)."""
    program = mock.require()
    dest = dest or BuildOutputs.for_project(project)
    started = time.monotonic()
    builds = project.work_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{component.name}.mock.", dir=builds))
    name = component.name
    with component_log(project.log_dir, name) as log:
        sources = scratch / "sources"
        prepare_sources(project, component, sources)
        _run(mock.buildsrpm_args(program, config, spec=sources / f"{name}.spec", sources=sources,
                                 resultdir=scratch / "srpm", options=options, repos=repos),
             what="mock --buildsrpm", name=name, log=log, scratch=scratch)
        srpms = sorted((scratch / "srpm").glob("*.src.rpm"))
        if len(srpms) != 1:
            raise BuildError(name, f"mock --buildsrpm made {len(srpms)} SRPMs, expected one", log=log.path)
        rpm_result = scratch / "rpms"
        _run(mock.rebuild_args(program, config, srpms[0], resultdir=rpm_result, options=options, repos=repos,
                               check=check), what="mock --rebuild", name=name, log=log, scratch=scratch)
        built = sorted(path for path in rpm_result.glob("*.rpm") if not path.name.endswith(".src.rpm"))
        if not built:
            raise BuildError(name, "mock --rebuild made no packages", log=log.path)
        published_srpm = publish(srpms[0], dest.srpm_dir / srpms[0].name)
        published = tuple(publish(path, dest.rpm_dir / _arch(path) / path.name) for path in built)
    shutil.rmtree(scratch, ignore_errors=True)
    return BuildResult(name, published_srpm, published, log.path, tuple(srpm_build_requires(published_srpm)), None,
                       time.monotonic() - started, built_provides(published))


def _run(argv: list[str], *, what: str, name: str, log: BuildLog, scratch: Path) -> None:
    log.note("+ " + " ".join(argv))
    status = process.run_logged(argv, log=log.handle, timeout=step_timeout(), name=what)
    if status != 0:
        raise step_failed(name, f"{what} failed with exit status {status}", log, scratch)


def _arch(path: Path) -> str:
    """``noarch`` from ``greet-data-1.0-1.tribex10.noarch.rpm``: mock puts every package in one directory."""
    return path.name.removesuffix(".rpm").rsplit(".", 1)[-1]
