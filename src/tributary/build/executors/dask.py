"""The Dask executor: each build a self-contained task run by a worker of a Dask distributed cluster.

For every component the scheduler hands over, the client prepares everything the build reads (the
sources, packed; the roots' ``file://`` repositories, described by manifests) in its artifact store
(``tributary.build.artifacts``), which it serves on its own address for the run, and submits a task
(``tributary.build.task``) that names them by sha256, with the component's chain length as Dask's
priority. A worker builds it (``run_task``, then ``tributary.build.worker.build_task``) in its own warm
root cache and sends the packages and log back by hash; the client checks them and writes them
atomically into the output directory.

Faults: when a worker dies mid-build, Dask runs the task again on another one (up to
``distributed.scheduler.allowed-failures`` times); nothing reaches the output directory but a
finished, verified build. A build that fails for real is a result, not an exception, so Dask never
retries it: it fails once, with its log. An unreachable scheduler is an error before anything is
written, and so is a worker that lacks bubblewrap or dnf (checked on every worker when the client
connects, and again by every task).

TLS: Dask's own security configuration (``distributed.comm.tls.*`` in a Dask configuration file or
``DASK_DISTRIBUTED__COMM__TLS__...`` variables; docs/SCALE.md) secures client, scheduler and workers;
the artifact store then serves HTTPS with the client's certificate and accepts only workers whose
certificate the cluster's CA signed.

``--workers N`` starts a cluster for one run on this machine (``dask scheduler`` and N single-threaded
``dask worker`` processes, ``tributary.tools.dask``), sharing the project's root cache, and stops it
afterwards; they die with tributary if it is killed.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import platform
import shutil
import socket
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from tributary.build.artifacts import ArtifactError, ArtifactStore, StoreClient, StoreServer, digest_of
from tributary.build.buildroot.roots import ROOT_FORMAT
from tributary.build.cache import BUILD_VERSION
from tributary.build.component import BuildError, BuildResult, component_log, failure_message
from tributary.build.executors import BuildRequest, ExecutorKind
from tributary.build.requires import built_provides
from tributary.build.scheduler import Ticket
from tributary.build.task import BuildTask, FailureKind, Status, TaskResult
from tributary.build.worker import build_task, check_tools, worker_cache
from tributary.errors import TribError
from tributary.fsutil import check_relative
from tributary.render.prepare import prepare_sources
from tributary.tools import dask as dask_tool
from tributary.tools import process

SCHEDULER_ENV = "TRIB_DASK_SCHEDULER"
STORE_HOST_ENV = "TRIB_ARTIFACT_HOST"
TOPIC = "tributary-build"
"""The Dask event topic on which a worker says it has started a build."""
START_TIMEOUT = 120.0
"""Seconds a cluster started for one run may take to come up."""


class DaskExecutorError(TribError):
    """The cluster cannot be reached or used (exit status 2: nothing was built)."""


def run_task(task_text: str) -> str:
    """On a Dask worker: build the task (JSON) and return the result (JSON)."""
    from distributed import get_worker

    worker = get_worker()
    task = BuildTask.from_json(task_text)
    name = str(worker.name)
    worker.log_event(TOPIC, {"key": task.key, "worker": name})
    tls = None
    if urllib.parse.urlsplit(task.store_url).scheme == "https":
        tls = worker.security.get_connection_args("worker")["ssl_context"]
    store = StoreClient(task.store_url, task.store_token, tls=tls)
    return build_task(task, worker=name, cache=worker_cache(), store=store).to_json()


def preflight() -> dict[str, Any]:
    """On every worker when the client connects: can it build what this client asks?"""
    problem = None
    try:
        check_tools()
    except TribError as error:
        problem = str(error)
    return {"buildVersion": BUILD_VERSION, "rootFormat": ROOT_FORMAT, "arch": platform.machine(), "problem": problem}


class DaskExecutor:
    """Builds on the workers of the Dask cluster ``client`` is connected to."""

    kind = ExecutorKind.DASK

    def __init__(self, client: Any, *, jobs: int | None = None, services: Iterable[process.Service] = (),
                 scratch: Path | None = None):
        self.client = client
        self.jobs = jobs
        self.services = list(services)
        self._scratch = scratch
        self._store: ArtifactStore | None = None
        self._server: StoreServer | None = None
        self._store_lock = threading.Lock()
        self._tickets: dict[str, Ticket] = {}
        self._futures: dict[str, Any] = {}
        self.timings: dict[str, dict[str, float]] = {}
        """Per component, seconds: ``prepare`` and ``publish`` on the client, ``fetch``, ``build`` and
        ``upload`` on the worker, ``queued`` from submission to the worker's start."""
        self._submitted: dict[str, float] = {}
        client.subscribe_topic(TOPIC, self._on_event)
        services_info = client.scheduler_info().get("services", {})
        self.dashboard: str | None = client.dashboard_link if "dashboard" in services_info else None

    # --- Making one -----------------------------------------------------------------------------

    @classmethod
    def connect(cls, address: str, *, jobs: int | None = None, timeout: float | None = None) -> DaskExecutor:
        """Connect to the scheduler at ``address`` (``tcp://HOST:8786``, ``tls://...``) and check its workers."""
        return cls(_client(address, timeout=timeout), jobs=jobs)._checked()

    @classmethod
    def start_local(cls, workers: int, *, cache: Path, log_dir: Path, jobs: int | None = None,
                    threads: int = 1) -> DaskExecutor:
        """Start ``dask scheduler`` and ``workers`` ``dask worker`` processes on 127.0.0.1 for this run.

        Their logs go to ``log_dir/dask-*.log``; the workers use ``cache`` (the project's cache: their
        roots are the ones local builds use). Everything started is stopped by ``close``.
        """
        if workers < 1:
            raise DaskExecutorError(f"--workers {workers}: at least one worker is needed")
        dask_tool.require()
        scratch = Path(tempfile.mkdtemp(prefix="trib-dask-"))
        services: list[process.Service] = []
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            scheduler_file = scratch / "scheduler.json"
            argv = dask_tool.scheduler_args(host="127.0.0.1", dashboard="127.0.0.1:0", scheduler_file=scheduler_file)
            services.append(_start(argv, log_dir / "dask-scheduler.log"))
            address = dask_tool.wait_for_address(scheduler_file, services[0], log_dir / "dask-scheduler.log",
                                                 timeout=START_TIMEOUT)
            environment = {process_env: value for process_env, value in os.environ.items()
                           if process_env.startswith("DASK_")} | {"TRIB_CACHE_DIR": str(cache)}
            for number in range(1, workers + 1):
                argv = dask_tool.worker_args(address, name=f"local-{number}", threads=threads, host="127.0.0.1",
                                             local_directory=scratch / f"worker-{number}")
                services.append(_start(argv, log_dir / f"dask-worker-{number}.log", env=environment))
            client = _client(address, timeout=START_TIMEOUT)
            try:
                client.wait_for_workers(workers, timeout=START_TIMEOUT)
            except (TimeoutError, OSError) as error:
                client.close()
                raise DaskExecutorError(f"{workers} Dask worker(s) did not start within {START_TIMEOUT:g} s: "
                                        f"{error}", where=str(log_dir / "dask-worker-1.log")) from None
            executor = cls(client, jobs=jobs, services=services, scratch=scratch)
        except BaseException:
            for service in reversed(services):
                service.stop()
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        return executor._checked()

    def _checked(self) -> DaskExecutor:
        """This executor once ``check_workers`` passed; closed (and the error raised) when it does not."""
        try:
            self.check_workers()
        except BaseException:
            self.close()
            raise
        return self

    def check_workers(self) -> None:
        """DaskExecutorError naming the first worker that cannot build for this client, and why."""
        try:
            answers = self.client.run(preflight)
        except Exception as error:  # a worker that cannot even run the check (another tributary, none)
            raise DaskExecutorError(f"cannot check the Dask workers: {type(error).__name__}: {error}",
                                    hint="install tributary and its dask extra on every worker") from None
        names = {address: str(info.get("name", address))
                 for address, info in self.client.scheduler_info().get("workers", {}).items()}
        for address, answer in sorted(answers.items()):
            shown = f"worker {names.get(address, address)} ({address})"
            if (answer["buildVersion"], answer["rootFormat"]) != (BUILD_VERSION, ROOT_FORMAT):
                raise DaskExecutorError(f"{shown} runs another tributary (build code {answer['buildVersion']}, "
                                        f"here {BUILD_VERSION})", hint="install the same tributary on every worker")
            if answer["problem"]:
                raise DaskExecutorError(f"{shown} cannot build: {answer['problem']}")

    # --- The executor -----------------------------------------------------------------------------

    def slots(self) -> int:
        """The cluster's threads (asked again at every decision: workers come and go), or ``-j``.

        Not more: a build handed over while every worker is busy waits in Dask's queue, and the first
        worker to free up would take it before the client could hand over the next build of the critical
        path (ready only once the client has published its dependency). Among the builds handed over,
        Dask starts the highest priority first.
        """
        if self.jobs:
            return self.jobs
        try:
            threads = sum(self.client.nthreads().values())
        except (OSError, TimeoutError):
            threads = 1
        return max(1, threads)

    def build(self, request: BuildRequest, ticket: Ticket) -> BuildResult:
        name = request.component.name
        started = time.monotonic()
        store = self._ensure_store(request)
        with component_log(request.project.log_dir, name) as log:
            log.note(f"tributary: preparing {name} for a Dask worker")
            task = self._task(request, store)
        timings = self.timings.setdefault(name, {})
        timings["prepare"] = time.monotonic() - started
        ticket.waiting()
        self._tickets[task.key] = ticket
        self._submitted[task.key] = time.monotonic()
        try:
            future = self.client.submit(run_task, task.to_json(), key=task.key, priority=ticket.priority,
                                        pure=False, retries=0)
            self._futures[task.key] = future
            text = _result(future, name)
        finally:
            self._tickets.pop(task.key, None)
            self._futures.pop(task.key, None)
            self._submitted.pop(task.key, None)
        result = TaskResult.from_json(text)
        ticket.started(result.worker)
        timings.update(result.timings)
        publishing = time.monotonic()
        built = self._publish(request, result, store, started)
        timings["publish"] = time.monotonic() - publishing
        return built

    def cancel(self) -> None:
        futures = list(self._futures.values())
        if futures:
            with contextlib.suppress(Exception):
                self.client.cancel(futures)

    def close(self) -> None:
        self.cancel()
        with contextlib.suppress(Exception):
            self.client.close(timeout=10)
        for service in reversed(self.services):  # the workers, then the scheduler
            service.stop()
        if self._server is not None:
            self._server.close()
        if self._store is not None:
            self._store.remove()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    @property
    def store_url(self) -> str | None:
        """Where the run's artifact store is served (``https://`` with TLS), once the first build made it."""
        return self._server.url if self._server is not None else None

    # --- Inside ---------------------------------------------------------------------------------

    def _on_event(self, event: Any) -> None:
        """From the client's event loop: a worker says it has started a build (again, after a retry)."""
        _, message = event
        key = message.get("key") if isinstance(message, Mapping) else None
        ticket = self._tickets.get(key) if isinstance(key, str) else None
        if ticket is None:
            return
        submitted = self._submitted.get(key)  # type: ignore[arg-type]
        component = key.removeprefix("build-").rsplit("-", 1)[0]  # type: ignore[union-attr]
        if submitted is not None:
            self.timings.setdefault(component, {})["queued"] = time.monotonic() - submitted
        ticket.started(str(message.get("worker")))

    def _ensure_store(self, request: BuildRequest) -> ArtifactStore:
        """The run's artifact store, made at the first build, served on this client's address."""
        with self._store_lock:
            if self._store is None:
                directory = request.project.work_dir / "artifacts"
                directory.mkdir(parents=True, exist_ok=True)
                store = ArtifactStore(Path(tempfile.mkdtemp(prefix="run-", dir=directory)))
                security = self.client.security
                tls = None
                if security.tls_ca_file and security.tls_client_cert:
                    tls = security.get_listen_args("client")["ssl_context"]
                self._server = StoreServer(store, host=_client_host(self.client.scheduler.address), tls=tls)
                self._store = store
            return self._store

    def _task(self, request: BuildRequest, store: ArtifactStore) -> BuildTask:
        """Put what the build reads into the store; the task that names it."""
        assert self._server is not None
        project, component, roots = request.project, request.component, request.roots
        builds = project.work_dir / "builds"
        builds.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f"{component.name}.", dir=builds))
        try:
            prepare_sources(project, component, scratch / "sources")
            sources = store.add_tree(scratch / "sources")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        repositories: dict[str, str] = {}
        files: dict[str, str] = {}
        repos = (*roots.base.repos, *roots.requires_repos)
        for repo in repos:
            if repo.url not in repositories and (path := _file_path(repo.url)) is not None:
                repositories[repo.url] = store.add_repository(path, repo.checksum)
        for key in (key for repo in repos for key in repo.gpgkeys):
            inside = any(key.startswith(url.rstrip("/") + "/") for url in repositories)
            if not inside and key not in files and (path := _file_path(key)) is not None:
                files[key] = store.add_file(path)
        return BuildTask(id=uuid.uuid4().hex[:12], component=component.name, sources=sources,
                         macros=store.add_bytes(roots.macros.encode()), check=request.check, base=roots.base,
                         requires_repos=roots.requires_repos, store_url=self._server.url,
                         store_token=self._server.token,
                         optional=roots.optional, repositories=repositories, files=files)

    def _publish(self, request: BuildRequest, result: TaskResult, store: ArtifactStore, started: float) -> BuildResult:
        """The worker's log and packages, checked, into the log and output directories."""
        name = request.component.name
        log_path = request.project.log_dir / f"{name}.log"
        if result.log is not None:
            store.take(result.log, log_path, what=f"the log of {name} from worker {result.worker}")
        if result.status == Status.FAILED:
            if result.failure == FailureKind.BUILD:
                text = log_path.read_text(errors="replace") if log_path.is_file() else ""
                summary = f"{result.error} on worker {result.worker}"
                raise BuildError(name, failure_message(summary, text, log_path), log=log_path,
                                 tail=text.splitlines()[-30:], summary=summary)
            error = DaskExecutorError(f"on worker {result.worker}: {result.error}")
            error.exit_code = result.exit_code
            raise error
        targets = [(output, _output_path(request, output.path)) for output in result.outputs]
        for output, _ in targets:  # every package checked before any is published
            blob = store.path(output.sha256)
            if blob is None or digest_of(blob) != output.sha256:
                raise ArtifactError(f"hash mismatch: {output.path} from worker {result.worker} is not the file "
                                    f"named {output.sha256}; nothing of {name} was published")
        published = [store.take(output.sha256, target, what=output.path) for output, target in targets]
        srpm = next(path for path in published if path.name.endswith(".src.rpm"))
        rpms = tuple(path for path in published if path != srpm)
        return BuildResult(name, srpm, rpms, log_path, result.build_requires, result.buildroot,
                           time.monotonic() - started, built_provides(rpms), worker=result.worker)


def _client(address: str, *, timeout: float | None) -> Any:
    """A Dask client connected to ``address``; DaskExecutorError when nothing answers there."""
    dask_tool.require()
    from distributed import Client

    try:
        return Client(address, timeout=timeout if timeout is not None else _connect_timeout(), set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise DaskExecutorError(f"cannot reach the Dask scheduler at {address}: {_reason(error)}",
                                hint=f"start it (dask scheduler), or check --scheduler / {SCHEDULER_ENV}") from None


def _connect_timeout() -> float:
    import dask.config
    from dask.utils import parse_timedelta

    return float(parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), default="seconds"))


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _result(future: Any, name: str) -> str:
    """The task's result; DaskExecutorError for what went wrong outside the build itself."""
    from distributed import KilledWorker

    try:
        return str(future.result())
    except KilledWorker as error:
        raise DaskExecutorError(f"{name}: the workers building it died {error.allowed_failures + 1} times; "
                                f"last on {error.last_worker.address}",
                                hint="see the workers' logs (out of memory?)") from None
    except concurrent.futures.CancelledError:
        raise DaskExecutorError(f"{name}: the build was cancelled (the scheduler is gone, or the run stopped)") \
            from None
    except TribError as error:
        raise DaskExecutorError(f"{name}: on a Dask worker: {error}") from None
    except Exception as error:
        raise DaskExecutorError(f"{name}: a Dask worker failed: {type(error).__name__}: {error}") from None


def _client_host(scheduler: str) -> str:
    """The address of this machine the scheduler (and so, most likely, the workers) reaches it by."""
    configured = os.environ.get(STORE_HOST_ENV)
    if configured:
        return configured
    parsed = urllib.parse.urlsplit(scheduler)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 8786
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((host, port))  # UDP: no packet is sent, the kernel only picks the route
            return str(probe.getsockname()[0])
    except OSError as error:
        raise DaskExecutorError(f"cannot tell this machine's address towards {scheduler}: {error}",
                                hint=f"set {STORE_HOST_ENV} to an address the workers reach") from None


def _file_path(url: str) -> Path | None:
    parsed = urllib.parse.urlsplit(url)
    return Path(urllib.parse.unquote(parsed.path)) if parsed.scheme == "file" else None


def _output_path(request: BuildRequest, relative: str) -> Path:
    """Where a worker's ``srpms/<file>`` or ``rpms/<arch>/<file>`` goes; ArtifactError for anything else."""
    parts = check_relative(relative, what="a worker's output path").parts
    if len(parts) == 2 and parts[0] == "srpms" and parts[1].endswith(".src.rpm"):
        return request.dest.srpm_dir / parts[1]
    if len(parts) == 3 and parts[0] == "rpms" and parts[2].endswith(".rpm") and not parts[2].endswith(".src.rpm"):
        return request.dest.rpm_dir / parts[1] / parts[2]
    raise ArtifactError(f"a worker sent an output named {relative!r}; only srpms/<file> and rpms/<arch>/<file> go "
                        "to the output directory")


def _start(argv: list[str], log_path: Path, env: Mapping[str, str] | None = None) -> process.Service:
    with open(log_path, "ab") as log:
        return dask_tool.start(argv, log=log, env=env)
