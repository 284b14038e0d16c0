"""Where builds run: on this machine (``local``, the default) or on the workers of a Dask cluster (``dask``).

The scheduler (``tributary.build.scheduler``) decides what is ready and in which order; the executor
runs one component's build, given everything the client decided for it (``BuildRequest``: the
component, its roots' plan, where its packages go). Both give the same ``BuildResult``, both publish
the packages atomically into the output directory, and the build cache, which the client keeps,
cannot tell them apart: what a worker built is not built again locally, and the other way round.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from tributary.build.component import BuildOutputs, BuildResult, KeepTree, RootPlan
from tributary.build.scheduler import Ticket
from tributary.config import Project, ResolvedComponent


class ExecutorKind(enum.StrEnum):
    LOCAL = "local"
    DASK = "dask"


@dataclass(frozen=True)
class BuildRequest:
    """One component's build as the client planned it; ``check`` says whether ``%check`` runs, ``keep``
    when the scratch tree stays (here; a worker keeps a failed build's tree in its own cache)."""

    project: Project
    component: ResolvedComponent
    roots: RootPlan
    dest: BuildOutputs
    check: bool
    keep: KeepTree = KeepTree.ON_FAILURE


class Executor(Protocol):
    kind: ExecutorKind
    dashboard: str | None
    """Where to watch the builds (Dask's dashboard), if anywhere."""

    def slots(self) -> int:
        """How many builds to hand over at once (asked again at every scheduling decision)."""

    def build(self, request: BuildRequest, ticket: Ticket) -> BuildResult:
        """Build and publish; BuildError (with the log) or another TribError when it fails."""

    def cancel(self) -> None:
        """Give up the builds handed over and not finished (the run stops early)."""

    def close(self) -> None:
        """Release what the executor holds (connections, processes it started, its artifact store)."""

    def __enter__(self) -> Executor: ...

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None: ...
