"""The local executor: builds in threads of this process, ``jobs`` at a time (the default)."""

from __future__ import annotations

from types import TracebackType

from tributary.build.component import BuildResult, build_component
from tributary.build.executors import BuildRequest, ExecutorKind
from tributary.build.scheduler import Ticket


class LocalExecutor:
    """Runs ``build_component`` here: nothing is packed or sent anywhere."""

    kind = ExecutorKind.LOCAL
    dashboard: str | None = None

    def __init__(self, jobs: int):
        self.jobs = max(1, jobs)

    def slots(self) -> int:
        return self.jobs

    def build(self, request: BuildRequest, ticket: Ticket) -> BuildResult:
        ticket.started(None)
        return build_component(request.project, request.component, request.roots, dest=request.dest,
                               check=request.check, keep=request.keep)

    def cancel(self) -> None:
        """Nothing to give up: a build here ends with its rpmbuild (or its time limit)."""

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
