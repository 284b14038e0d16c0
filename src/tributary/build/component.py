"""Build one component in its buildroot: sources prepared, an SRPM, then the RPMs rebuilt from that SRPM.

Why ``-bs`` then ``--rebuild`` rather than ``-ba``: the binary packages come from exactly the SRPM we
publish, which proves the SRPM is complete (every Source and Patch inside, the build options in its
``<name>.azl.macros``) and is the same two steps mock (``--buildsrpm``, then ``--rebuild``) and Koji
take.

Steps, under a scratch directory ``<work-dir>/builds/<component>.XXXXXXXX`` (removed after a success
or an interrupt, kept after a failure for inspection until the next build of the component, which also
removes one a killed command left; ``keep`` may say otherwise):

1. ``prepare_sources`` writes the rendered spec, its files and the verified tarballs to ``build/sources``;
2. the **base root** (the buildroot's package set, ``tributary.build.buildroot.roots``) is taken from
   the root cache, or made;
3. ``rpmbuild -bs`` runs in the sandbox with the base root as ``/`` (``tributary.build.sandbox``): the
   root's own rpmbuild, with the distribution's macros from its rpm-config package and the definition's
   macros in ``~/.rpmmacros``;
4. the BuildRequires are read from the SRPM header (no spec code runs on the host); dnf installs them
   into a **build root** derived from the base root (cached too), from the buildroot's repositories
   plus the packages of this run the component needs;
5. ``rpmbuild --rebuild`` in the sandbox with the build root as ``/``; rpmbuild itself checks the
   BuildRequires against the root's rpm database (no ``--nodeps``);
6. the SRPM goes to ``<output>/srpms/``, the RPMs to ``<output>/rpms/<arch>/``, each copied beside its
   target and renamed into place.

Every command's output goes to ``<log-dir>/<component>.log`` (renamed into place after success or
failure). Nothing about the component is passed to rpmbuild except ``--nocheck`` for
``build.check.skip``: tributary adds only the definition's macros and the component's own
``<name>.azl.macros``, which its spec loads.
"""

from __future__ import annotations

import contextlib
import enum
import glob
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from tributary.build.buildroot.repos import PinnedRepo
from tributary.build.buildroot.roots import Root, RootCache, RootRecipe, UnsatisfiableError
from tributary.build.requires import built_provides, srpm_build_requires
from tributary.build.sandbox import BUILD_PATH, Sandbox
from tributary.config import Project, ResolvedComponent
from tributary.errors import TribError
from tributary.fsutil import atomic_output
from tributary.render.prepare import prepare_sources
from tributary.tools import bwrap, rpmbuild

TAIL_LINES = 30


class BuildError(TribError):
    """A component failed to build; the message ends with the end of its log. ``summary`` is its first
    line alone (what failed), from which a build on a worker is reported again on the client."""

    exit_code = 1

    def __init__(self, component: str, message: str, *, log: Path | None = None, tail: list[str] | None = None,
                 summary: str | None = None):
        super().__init__(message, where=f"component {component}")
        self.component = component
        self.log = log
        self.tail = tail or []
        self.summary = summary or message


class KeepTree(enum.StrEnum):
    """When a build's scratch tree (sources, BUILD, logs) is kept: azldev's ``--preserve-buildenv``."""

    ON_FAILURE = "on-failure"
    ALWAYS = "always"
    NEVER = "never"

    def keeps(self, succeeded: bool) -> bool:
        return self == KeepTree.ALWAYS or (self == KeepTree.ON_FAILURE and not succeeded)


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
class RootPlan:
    """How one component's roots are made: the base root's recipe and where BuildRequires come from.

    ``base`` installs the buildroot's package set; ``optional`` are entries of it left out when no
    repository has them (what only this component, or one that needs it, provides: the rpm-config
    package is built in a root without itself). ``requires_repos`` are the buildroot's repositories
    plus a repository of the packages this run built that the component needs. ``macros`` is the text
    of the build user's ``~/.rpmmacros``.
    """

    def base_root(self, log: BinaryIO, where: str) -> Root:
        """The base root, without the optional entries when no repository provides them."""
        try:
            return self.cache.get(self.base, log=log, what="the buildroot's package set needs", where=where)
        except UnsatisfiableError as error:
            if not self.optional or not set(error.capabilities) <= set(self.optional):
                raise
        packages = tuple(p for p in self.base.packages if p not in self.optional)
        reduced = RootRecipe(self.base.arch, self.base.releasever, self.base.repos, packages)
        return self.cache.get(reduced, log=log, what="the buildroot's package set needs", where=where)


    base: RootRecipe
    requires_repos: tuple[PinnedRepo, ...]
    macros: str
    cache: RootCache
    optional: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildResult:
    """What one component's build produced, where its log is, and the root it was built in."""

    component: str
    srpm: Path
    rpms: tuple[Path, ...]
    log: Path
    build_requires: tuple[str, ...]
    buildroot: Mapping[str, object] | None  # buildroot_record of the root; None when mock made the root
    seconds: float
    provides: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    worker: str | None = None  # the Dask worker that built it; None for this machine

    def to_json(self) -> dict[str, object]:
        return {
            "component": self.component,
            "srpm": str(self.srpm),
            "rpms": [str(path) for path in self.rpms],
            "log": str(self.log),
            "buildRequires": list(self.build_requires),
            "buildroot": dict(self.buildroot) if self.buildroot else None,
            "seconds": round(self.seconds, 2),
            "worker": self.worker,
        }


def buildroot_record(root: Root) -> dict[str, object]:
    """What names a build's root for provenance and the build cache: repositories pinned by their
    metadata checksums, and the exact packages installed."""
    return {"key": root.key, "repos": [repo.to_json() for repo in root.recipe.repos], "installed": list(root.installed)}


def build_component(
    project: Project,
    component: ResolvedComponent,
    roots: RootPlan,
    *,
    dest: BuildOutputs | None = None,
    log_dir: Path | None = None,
    check: bool | None = None,
    keep: KeepTree = KeepTree.ON_FAILURE,
) -> BuildResult:
    """Build ``component`` in the roots ``roots`` describes.

    ``dest`` and ``log_dir`` default to the project's output and log directories. ``check=None`` runs
    ``%check`` unless the component sets ``build.check.skip``. Raises BuildError (the log's last lines
    in the message), a BuildrootError (an unsatisfiable BuildRequires names the repositories searched),
    or the error that stopped source preparation. ``keep`` says when the scratch tree stays.
    """
    dest = dest or BuildOutputs.for_project(project)
    log_dir = log_dir or project.log_dir
    if check is None:
        check = runs_check(component)
    started = time.monotonic()
    builds = project.work_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    if keep != KeepTree.ALWAYS:  # an earlier build's scratch: kept after a failure, or left by a killed command
        for earlier in builds.glob(f"{glob.escape(component.name)}.{'?' * _SCRATCH_SUFFIX}"):
            shutil.rmtree(earlier, ignore_errors=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{component.name}.", dir=builds))
    succeeded: bool | None = None
    try:
        with component_log(log_dir, component.name) as log:
            result = _build(project, component, roots, scratch, dest=dest, check=check, log=log, started=started,
                            kept=keep.keeps(succeeded=False))
        succeeded = True
        return result
    except Exception:
        succeeded = False  # a failed build's tree, for its log to be read against (until the next build of it)
        raise
    finally:
        # None: interrupted, nothing of it to keep unless every tree is kept
        if not (keep.keeps(succeeded) if succeeded is not None else keep == KeepTree.ALWAYS):
            shutil.rmtree(scratch, ignore_errors=True)


_SCRATCH_SUFFIX = 8  # the random part tempfile.mkdtemp adds: "<name>." plus eight characters


def runs_check(component: ResolvedComponent) -> bool:
    """Whether ``%check`` runs: unless the component sets ``build.check.skip``."""
    build = component.config.build
    return not (build and build.check and build.check.skip)


def _build(project: Project, component: ResolvedComponent, roots: RootPlan, scratch: Path, *,
           dest: BuildOutputs, check: bool, log: BuildLog, started: float, kept: bool = True) -> BuildResult:
    name = component.name
    build_dir = scratch / "build"
    log.note(f"tributary: building {name} in {scratch} (the sandbox sees it as {BUILD_PATH})")
    prepare_sources(project, component, build_dir / "sources")
    built = build_in_roots(name, build_dir, roots, check=check, log=log, scratch=scratch if kept else None)
    published_srpm = publish(built.srpm, dest.srpm_dir / built.srpm.name)
    published = tuple(publish(path, dest.rpm_dir / path.parent.name / path.name) for path in built.rpms)
    seconds = time.monotonic() - started
    log.note(f"tributary: built {len(published)} packages in {seconds:.1f} s")
    return BuildResult(name, published_srpm, published, log.path, built.build_requires, buildroot_record(built.root),
                       seconds, built_provides(published))


@dataclass(frozen=True)
class Built:
    """What rpmbuild made in a build tree, not yet published: the SRPM, the RPMs (in ``RPMS/<arch>/``)
    and the root they were built in."""

    srpm: Path
    rpms: tuple[Path, ...]
    build_requires: tuple[str, ...]
    root: Root


def build_in_roots(name: str, build_dir: Path, roots: RootPlan, *, check: bool, log: BuildLog,
                   scratch: Path | None) -> Built:
    """Steps 2-5 of the module docstring in ``build_dir``, whose ``sources/`` holds the prepared sources;
    a failure names ``scratch`` as the tree kept for inspection (None: it is not kept).

    The same on this machine and on a Dask worker (``tributary.build.worker``): only where the
    sources come from and where the packages go differ.
    """
    sources = build_dir / "sources"
    spec = sources / f"{name}.spec"
    if not spec.is_file():
        raise BuildError(name, f"prepared sources have no {spec.name}", log=log.path)
    (build_dir / "home").mkdir(parents=True, exist_ok=True)
    (build_dir / "home" / ".rpmmacros").write_text(roots.macros)

    where = f"component {name}"
    base = roots.base_root(log.handle, where)
    log.note(f"tributary: base root {base.key} ({len(base.installed)} packages)")
    log.note("tributary: making the SRPM")
    _run(Sandbox(base.path, build_dir), rpmbuild.srpm_args(f"{BUILD_PATH}/sources/{spec.name}", topdir=BUILD_PATH,
                                                            sourcedir=f"{BUILD_PATH}/sources"),
         name=name, what="rpmbuild -bs", log=log, scratch=scratch)
    srpms = sorted((build_dir / "SRPMS").glob("*.src.rpm"))
    if len(srpms) != 1:
        raise BuildError(name, f"rpmbuild -bs made {len(srpms)} SRPMs, expected one", log=log.path)
    srpm = srpms[0]

    requires = tuple(srpm_build_requires(srpm))
    log.note(f"tributary: BuildRequires: {', '.join(requires) or '(none)'}")
    root = base
    if requires:
        recipe = RootRecipe(base.recipe.arch, base.recipe.releasever, roots.requires_repos, requires, parent=base.key)
        root = roots.cache.get(recipe, parent=base, log=log.handle, what="BuildRequires", where=where)
        log.note(f"tributary: build root {root.key} ({len(root.installed)} packages)")

    log.note("tributary: building the binary packages from the SRPM")
    _run(Sandbox(root.path, build_dir), rpmbuild.rebuild_args(f"{BUILD_PATH}/SRPMS/{srpm.name}", topdir=BUILD_PATH,
                                                               check=check),
         name=name, what="rpmbuild --rebuild", log=log, scratch=scratch)
    built = tuple(sorted((build_dir / "RPMS").glob("*/*.rpm")))
    if not built:
        raise BuildError(name, "rpmbuild --rebuild made no packages", log=log.path)
    return Built(srpm, built, requires, root)


def _run(sandbox: Sandbox, argv: list[str], *, name: str, what: str, log: BuildLog, scratch: Path | None) -> None:
    """Run one rpmbuild step in the sandbox; BuildError with the log's end when it fails."""
    log.note("+ " + " ".join(argv))
    status = sandbox.run(argv, log.handle)
    if status == 0:
        return
    problem = bwrap.setup_failure(log.text())
    summary = f"the build sandbox could not start: {problem}" if problem else f"{what} failed with exit status {status}"
    raise step_failed(name, summary, log, scratch)


def step_failed(name: str, summary: str, log: BuildLog, scratch: Path | None) -> BuildError:
    """The error for a failed build step: ``summary``, then what the log says (``failure_message``)."""
    text = log.text()
    return BuildError(name, failure_message(summary, text, log.path, scratch), log=log.path,
                      tail=text.splitlines()[-TAIL_LINES:], summary=summary)


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
def component_log(log_dir: Path, name: str) -> Iterator[BuildLog]:
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


def publish(source: Path, target: Path) -> Path:
    """Copy ``source`` beside ``target`` and rename it into place."""
    with source.open("rb") as reader, atomic_output(target, mode=0o644) as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)
    return target
