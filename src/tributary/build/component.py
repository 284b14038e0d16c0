"""Build one component: its sources prepared, an SRPM, then the binary RPMs rebuilt from that SRPM.

Why ``-bs`` then ``--rebuild`` rather than ``-ba``: the binary packages come from exactly the SRPM we
publish, which proves the SRPM is complete (every Source and Patch inside, the build options in its
``<name>.azl.macros``) and is the same two steps azldev (mock ``--buildsrpm``, then ``--rebuild``) and
Koji take. It costs one more short rpmbuild run.

Steps, all under a scratch directory ``<work-dir>/builds/<component>.XXXX`` (removed after a success,
kept after a failure for inspection):

1. ``prepare_sources`` writes the rendered spec, its files and the verified tarballs to ``build/sources``;
2. ``rpmbuild -bs`` in the sandbox (``tributary.build.sandbox``) makes the SRPM;
3. its BuildRequires are read from the SRPM header (no spec code runs on the host) and split into
   host toolchain and distribution packages; the latter are installed by dnf from ``repo_of_built``
   into a deps root (``tributary.build.buildroot``);
4. ``rpmbuild --rebuild`` in the sandbox, deps root mounted, makes the RPMs;
5. the SRPM goes to ``<output>/srpms/``, the RPMs to ``<output>/rpms/<arch>/`` (``noarch`` too), each
   copied beside its target and renamed into place.

Every command's output goes to ``<log-dir>/<component>.log`` (also renamed into place, after success or
failure). ``--nodeps`` is given to rpmbuild because the dependencies were resolved by us, not by the
host's empty rpmdb. Our macros (``tributary.build.macros``) are loaded for both steps; nothing about the
component is passed on the command line except ``--nocheck`` for ``build.check.skip``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from tributary.build import buildroot
from tributary.build.macros import write_macros
from tributary.build.requires import (
    built_provides,
    split_build_requires,
    srpm_build_requires,
)
from tributary.build.sandbox import BUILD_PATH, CONFIG_PATH, DEPS_PATH, Sandbox
from tributary.config import Project, ResolvedComponent
from tributary.errors import TribError
from tributary.fsutil import atomic_output
from tributary.render.prepare import prepare_sources
from tributary.tools import bwrap, rpmbuild

BACKENDS = ("rpmbuild", "mock")
TAIL_LINES = 30


class BuildError(TribError):
    """A component failed to build; the message ends with the end of its log."""

    exit_code = 1

    def __init__(self, component: str, message: str, *, log: Path | None = None, tail: list[str] | None = None):
        super().__init__(message, where=f"component {component}")
        self.component = component
        self.log = log
        self.tail = tail or []


@dataclass(frozen=True)
class BuildOutputs:
    """Where built packages go: SRPMs in ``srpm_dir``, RPMs in ``rpm_dir/<arch>/``."""

    srpm_dir: Path
    rpm_dir: Path

    @classmethod
    def for_project(cls, project: Project) -> BuildOutputs:
        """The project's layout: ``<output-dir>/srpms`` and ``<output-dir>/rpms``."""
        return cls(project.output_dir / "srpms", project.output_dir / "rpms")


@dataclass(frozen=True)
class BuildResult:
    """What one component's build produced, where its log is, and what it needed."""

    component: str
    srpm: Path
    rpms: tuple[Path, ...]
    log: Path
    from_host: tuple[str, ...]
    from_distro: tuple[str, ...]
    seconds: float
    provides: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "component": self.component,
            "srpm": str(self.srpm),
            "rpms": [str(path) for path in self.rpms],
            "log": str(self.log),
            "buildRequiresFromHost": list(self.from_host),
            "buildRequiresFromDistro": list(self.from_distro),
            "seconds": round(self.seconds, 2),
        }


def build_component(
    project: Project,
    component: ResolvedComponent,
    *,
    repo_of_built: Path | None = None,
    dest: BuildOutputs | None = None,
    log_dir: Path | None = None,
    backend: str = "rpmbuild",
    check: bool | None = None,
) -> BuildResult:
    """Build ``component``; BuildRequires outside the host toolchain come from ``repo_of_built``.

    ``repo_of_built`` is a directory with repodata (createrepo_c) of packages this distribution built.
    ``dest`` and ``log_dir`` default to the project's output and log directories. ``check=None`` runs
    ``%check`` unless the component sets ``build.check.skip``. Raises BuildError (the log's last lines
    in the message), MissingBuildRequirement, or the error that stopped source preparation.
    """
    require_backend(backend)
    dest = dest or BuildOutputs.for_project(project)
    log_dir = log_dir or project.log_dir
    if check is None:
        skip = component.config.build and component.config.build.check and component.config.build.check.skip
        check = not skip
    started = time.monotonic()
    builds = project.work_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{component.name}.", dir=builds))
    succeeded = False
    try:
        with _component_log(log_dir, component.name) as log:
            result = _build(project, component, scratch, repo_of_built=repo_of_built, dest=dest, check=check,
                            log=log, started=started)
        succeeded = True
        return result
    finally:
        if succeeded:
            shutil.rmtree(scratch, ignore_errors=True)


def _build(project: Project, component: ResolvedComponent, scratch: Path, *, repo_of_built: Path | None,
           dest: BuildOutputs, check: bool, log: BuildLog, started: float) -> BuildResult:
    name = component.name
    build_dir = scratch / "build"
    sources = build_dir / "sources"
    log.note(f"tributary: building {name} in {scratch} (the sandbox sees it as {BUILD_PATH})")
    prepare_sources(project, component, sources)
    spec = sources / f"{name}.spec"
    if not spec.is_file():
        raise BuildError(name, f"prepared sources have no {spec.name}", log=log.path)

    config_dir = scratch / "tributary"
    macro_files = [f"{CONFIG_PATH}/{path.name}" for path in
                   write_macros(project, config_dir, extra={"_tributary_config_dir": CONFIG_PATH})]
    sandbox = Sandbox(build_dir, config_dir)

    log.note("tributary: making the SRPM")
    _run(sandbox, rpmbuild.srpm_args(f"{BUILD_PATH}/sources/{spec.name}", topdir=BUILD_PATH,
                                     sourcedir=f"{BUILD_PATH}/sources", macro_files=macro_files),
         name=name, what="rpmbuild -bs", log=log, scratch=scratch)
    srpms = sorted((build_dir / "SRPMS").glob("*.src.rpm"))
    if len(srpms) != 1:
        raise BuildError(name, f"rpmbuild -bs made {len(srpms)} SRPMs, expected one", log=log.path)
    srpm = srpms[0]

    from_host, from_distro = split_build_requires(srpm_build_requires(srpm))
    log.note(f"tributary: BuildRequires from the host toolchain: {', '.join(from_host) or '(none)'}")
    log.note(f"tributary: BuildRequires from the distribution: {', '.join(from_distro) or '(none)'}")
    if from_distro:
        deps_root = scratch / "deps"
        buildroot.install_build_dependencies(
            name, from_distro, repo_of_built=repo_of_built, deps_root=deps_root,
            releasever=_releasever(project), cache_dir=project.work_dir / "cache" / "host-toolchain",
            home=scratch / "dnf-home", log=log.handle)
        write_macros(project, config_dir, extra={"_tributary_config_dir": CONFIG_PATH,
                                                 "tributary_deps_root": DEPS_PATH})
        sandbox = Sandbox(build_dir, config_dir, deps_root)

    log.note("tributary: building the binary packages from the SRPM")
    _run(sandbox, rpmbuild.rebuild_args(f"{BUILD_PATH}/SRPMS/{srpm.name}", topdir=BUILD_PATH,
                                        macro_files=macro_files, check=check),
         name=name, what="rpmbuild --rebuild", log=log, scratch=scratch)
    built = sorted((build_dir / "RPMS").glob("*/*.rpm"))
    if not built:
        raise BuildError(name, "rpmbuild --rebuild made no packages", log=log.path)

    published_srpm = _publish(srpm, dest.srpm_dir / srpm.name)
    published = tuple(_publish(path, dest.rpm_dir / path.parent.name / path.name) for path in built)
    seconds = time.monotonic() - started
    log.note(f"tributary: built {len(published)} packages in {seconds:.1f} s")
    return BuildResult(name, published_srpm, published, log.path, tuple(from_host), tuple(from_distro), seconds,
                       built_provides(published))


def _run(sandbox: Sandbox, argv: list[str], *, name: str, what: str, log: BuildLog, scratch: Path) -> None:
    """Run one rpmbuild step in the sandbox; BuildError with the log's end when it fails."""
    log.note("+ " + " ".join(argv))
    status = sandbox.run(argv, log.handle)
    if status == 0:
        return
    text = log.text()
    problem = bwrap.setup_failure(text)
    summary = f"the build sandbox could not start: {problem}" if problem else f"{what} failed with exit status {status}"
    raise BuildError(name, failure_message(summary, text, log.path, scratch), log=log.path,
                     tail=text.splitlines()[-TAIL_LINES:])


def failure_message(summary: str, log_text: str, log_path: Path, scratch: Path | None = None) -> str:
    """``summary``, where the log and build tree are, then rpmbuild's error block and the log's end.

    The ``RPM build errors:`` block is shown separately only when it is not already in the tail.
    """
    lines = log_text.splitlines()
    tail = lines[-TAIL_LINES:]
    parts = [f"{summary} (full log: {log_path}" + (f"; build tree kept in {scratch})" if scratch else ")")]
    errors = rpmbuild.build_errors(log_text)
    if errors and not all(line in tail for line in errors):
        parts += errors
    parts.append(f"--- last {len(tail)} lines of the log ---")
    parts += tail
    return "\n".join(parts)


class BuildLog:
    """The log of one build: written beside ``<log-dir>/<name>.log``, renamed there when the build ends."""

    def __init__(self, log_dir: Path, name: str):
        log_dir.mkdir(parents=True, exist_ok=True)
        self.path = log_dir / f"{name}.log"
        fd, temporary = tempfile.mkstemp(prefix=f".{name}.log.", suffix=".tmp", dir=log_dir)
        self.temporary = Path(temporary)
        self.handle: BinaryIO = os.fdopen(fd, "wb")

    def note(self, line: str) -> None:
        self.handle.write(f"{line}\n".encode())
        self.handle.flush()

    def text(self) -> str:
        """Everything written so far."""
        self.handle.flush()
        return self.temporary.read_bytes().decode(errors="replace")

    def close(self) -> None:
        self.handle.close()
        os.chmod(self.temporary, 0o644)
        os.replace(self.temporary, self.path)


@contextlib.contextmanager
def _component_log(log_dir: Path, name: str) -> Iterator[BuildLog]:
    """The build's log, renamed into place whatever the outcome, so a failed build's log is there to read.

    An error that is not the build's own (bad sources, a missing dependency) is written at its end too.
    """
    log = BuildLog(log_dir, name)
    try:
        yield log
    except TribError as error:
        if not isinstance(error, BuildError):
            log.note(f"tributary: error: {error}")
        raise
    finally:
        log.close()


def _publish(source: Path, target: Path) -> Path:
    """Copy ``source`` beside ``target`` and rename it into place."""
    with source.open("rb") as reader, atomic_output(target, mode=0o644) as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)
    return target


def _releasever(project: Project) -> str:
    target = project.default_distro
    return target[2].release_ver if target else "1"


def require_backend(backend: str) -> None:
    """Refuse an unknown or unavailable backend (called before any work, cache hits included)."""
    if backend not in BACKENDS:
        raise TribError(f"unknown build backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "mock":
        if shutil.which("mock") is None:
            raise TribError("mock is not installed", hint="use the rpmbuild backend (bubblewrap sandbox)")
        raise TribError("the mock backend is not implemented yet", hint="use the rpmbuild backend")
