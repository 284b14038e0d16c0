"""Shared fixtures: small real projects written to a temporary directory, and the CLI run in-process."""

from __future__ import annotations

import functools
import http.server
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import settings as hypothesis_settings
from support import (
    DistGitDistro,
    DnfRun,
    Published,
    ServedDistro,
    answer_smart_http,
    copy_example_distro,
    dnf_install_into,
)

import tributary
from tributary.build.stage0 import Stage0Repo, ensure_stage0
from tributary.cli.app import main
from tributary.repo.sign import SigningKey, make_throwaway_key

# CI replays the same examples every run (a red CI must be reproducible); developers explore at random
# and turn what they find into plain regression tests.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"

# The kinds of slow test (markers registered in pyproject.toml): ``make test-fast`` leaves them out.
# A test is marked by the fixtures it uses and by where it lives, so a new test is sorted without
# anyone remembering to mark it; a test that builds, boots or serves some other way carries the marker
# itself.
MARKS_BY_FIXTURE = {
    "published": "builds",  # the example distribution built with rpmbuild and published
    "rpms": "builds",  # tests/repo: packages made with rpmbuild
    "dnf_install": "builds",  # a root installed by dnf
    "built": "builds",  # tests/examples: every example package built
    "smoke_root": "builds",  # tests/examples: a root installed from them
    "disks": "builds",  # tests/image: the example VM's disks
    "stage0_repo": "builds",  # tests/build: the bootstrap repository made from the host's packages
    "test_kernel": "boots",  # qemu boots an image
    "http_server": "serves",  # an HTTP server on 127.0.0.1
    "example_upstream": "git",  # the Example Upstream's dist-git repositories
    "upstream": "git",  # a copy of them
    "chromium": "browser",  # pages opened in headless Chromium
}
MARKS_BY_PATH = {
    "tests/build/test_component_build.py": "builds",  # these run the build stage itself
    "tests/build/test_distro_build.py": "builds",
    "tests/examples/test_upstream.py": "git",  # each test makes the Example Upstream's repositories
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        relative = Path(str(item.path)).relative_to(REPO).as_posix()
        wanted = {mark for fixture, mark in MARKS_BY_FIXTURE.items() if fixture in getattr(item, "fixturenames", ())}
        wanted |= {mark for prefix, mark in MARKS_BY_PATH.items() if relative.startswith(prefix)}
        for mark in sorted(wanted):
            item.add_marker(mark)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``{relative path: text}`` below ``root`` (text is dedented) and return root."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write a project from a dict of files; the directory is also the current directory."""

    def make(files: dict[str, str]) -> Path:
        return write_tree(tmp_path / "proj", files)

    return make


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def trib(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run ``trib ARGS`` in-process from ``cwd`` and capture its exit status and output."""

    def run(*args: str, cwd: Path | None = None) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


# --- Upstream fixtures: a web server on loopback, and the Example Upstream built once per session ----


class LoopbackServer:
    """A static web server on 127.0.0.1 (port 0) serving ``root``, which can fail on purpose.

    With ``smart``, it also speaks git's smart HTTP protocol for the repositories below ``root`` (as
    real dist-git does); without it, git's clients fall back to the "dumb" protocol over the files.

    ``requests`` lists every path asked for (query strings kept, as git's dumb HTTP client sends
    ``info/refs?service=...``). ``fail`` answers a path with an HTTP status, ``truncate`` announces a
    longer Content-Length than it sends and closes the connection, and ``on_request`` is called with
    each path before it is served (from the server's thread), e.g. to hold requests at a barrier.
    """

    def __init__(self, root: Path, *, smart: bool = False):
        self.root = root
        self.smart = smart
        self.requests: list[str] = []
        self.failures: dict[str, tuple[int, int | None]] = {}  # path -> (status, requests left or None)
        self.truncated: set[str] = set()
        self.on_request: Callable[[str], None] | None = None
        self._lock = threading.Lock()
        handler = functools.partial(_LoopbackHandler, self, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # A short poll interval: shutdown() waits for the serving loop to notice, once per test.
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="loopback-http", daemon=True)
        self._thread.start()

    def fail(self, path: str, status: int, *, times: int | None = None) -> None:
        """Answer ``path`` with ``status``: always, or the next ``times`` requests only."""
        self.failures[path] = (status, times)

    def truncate(self, path: str) -> None:
        self.truncated.add(path)

    def count(self, prefix: str = "/") -> int:
        """How many requests asked for a path starting with ``prefix``."""
        return sum(1 for path in self.requests if path.startswith(prefix))

    def _failure_for(self, path: str) -> int | None:
        with self._lock:
            if path not in self.failures:
                return None
            status, left = self.failures[path]
            if left is not None:
                if left <= 0:
                    return None
                self.failures[path] = (status, left - 1)
            return status

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()


class _LoopbackHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, server_state: LoopbackServer, *args, **kwargs):
        self.state = server_state
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        if self._failed():
            return
        path = urlsplit(self.path).path
        if self.state.smart and answer_smart_http(self, self.state.root):
            return
        if path in self.state.truncated:
            body = (self.state.root / path.lstrip("/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def do_POST(self) -> None:
        if self._failed():
            return
        if not (self.state.smart and answer_smart_http(self, self.state.root)):
            self.send_error(405)

    def _failed(self) -> bool:
        """Record the request; answer it with the failure set for its path, if any (True)."""
        self.state.requests.append(self.path)
        if self.state.on_request is not None:
            self.state.on_request(self.path)
        status = self.state._failure_for(urlsplit(self.path).path)
        if status is not None:
            self.send_error(status)
        return status is not None


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[LoopbackServer]:
    """A LoopbackServer serving ``tmp_path/www`` (created empty), stopped after the test."""
    root = tmp_path / "www"
    root.mkdir()
    server = LoopbackServer(root)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(params=["dumb", "smart"])
def git_http_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoopbackServer]:
    """A LoopbackServer serving ``tmp_path/www`` with git's "dumb" HTTP protocol, then its smart one."""
    root = tmp_path / "www"
    root.mkdir()
    server = LoopbackServer(root, smart=request.param == "smart")
    try:
        yield server
    finally:
        server.close()


@dataclass(frozen=True)
class ExampleUpstream:
    """examples/upstream built by make_upstream.py: ``root/git/<pkg>.git``, ``root/lookaside/...``."""

    root: Path
    summary: dict

    def git_dir(self, package: str) -> Path:
        return self.root / "git" / f"{package}.git"

    def package(self, name: str) -> dict:
        return next(p for p in self.summary["packages"] if p["name"] == name)

    def commits(self, package: str) -> list[str]:
        """The package's commit ids, oldest first."""
        return [c["commit"] for c in self.package(package)["commits"]]


@pytest.fixture(scope="session")
def example_upstream(tmp_path_factory: pytest.TempPathFactory) -> ExampleUpstream:
    """The Example Upstream, generated once per session. Treat it as read-only; copy it to change it."""
    out = tmp_path_factory.mktemp("example-upstream") / "upstream"
    proc = subprocess.run([sys.executable, str(EXAMPLES / "upstream" / "make_upstream.py"), str(out), "--json"],
                          capture_output=True, text=True, check=True)
    summary = json.loads(proc.stdout)
    return ExampleUpstream(out, summary)


@pytest.fixture
def served_distro(tmp_path: Path, example_upstream, http_server) -> Iterator[ServedDistro]:
    """A git copy of examples/distro reading a copy of the Example Upstream from ``http_server``."""
    shutil.copytree(example_upstream.root / "git", http_server.root / "git", symlinks=True)
    shutil.copytree(example_upstream.root / "lookaside", http_server.root / "lookaside", symlinks=True)
    distro = copy_example_distro(tmp_path, example_upstream.root)
    distro.mirror.write_text(
        "[distros.example-upstream]\n"
        f'dist-git-base-uri = "{http_server.url}/git/$pkg.git"\n'
        f'lookaside-base-uri = "{http_server.url}/lookaside/$pkg/$filename/$hashtype/$hash/$filename"\n')
    yield ServedDistro(distro, http_server)
    http_server.on_request = None


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory, example_upstream: ExampleUpstream,
              trib_cache: Path) -> Published:
    """The example distribution bootstrapped once per session as ``make demo`` does (stage 1, then
    stage 2, the default) in real buildroots, then published unsigned.

    Read-only: image, SBOM and audit tests all look at the same build. Copy it to change it.
    """
    from tributary.build.distro import build_distribution
    from tributary.build.scheduler import State
    from tributary.config import load_project
    from tributary.repo.publish import built_rpms, publish, repo_root

    distro = copy_example_distro(tmp_path_factory.mktemp("published-distro"), example_upstream.root, lookaside=True)
    for extra in ([distro.root / "stage1.toml"], []):
        project = load_project(distro.root, extra_files=[distro.mirror, *extra])
        plan, jobs = build_distribution(project, project.component_names, jobs=2)
        assert {job.state for job in jobs.values()} == {State.DONE}, {n: j.error for n, j in jobs.items() if j.error}
        assert plan.import_error is None, plan.import_error
    publish(project, built_rpms(project), signing=None)
    return Published(project, repo_root(project) / "rpm-base")


@pytest.fixture(scope="session")
def test_kernel() -> Path:
    """Debian's cloud kernel unpacked by ``make setup`` (packaging/fetch-test-kernel.sh), for boot tests."""
    path = Path(os.environ.get("TRIB_TEST_KERNEL") or REPO / ".cache" / "test-kernel" / "current")
    assert (path / "PACKAGE").is_file(), f"no test kernel at {path}: run 'make setup' (it fetches one)"
    return path


# Debian's Chromium as root on this machine: no sandbox (root), no GPU, and none of the background
# connections a closed network refuses. Playwright adds --headless and a fresh --user-data-dir.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """A real headless Chromium (Debian's package, installed by ``make setup``) driven by Playwright's
    Python package; Playwright's own browser download is never used. Tests open their own contexts."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), f"no {CHROMIUM}: run 'make setup' (packaging/apt-packages.txt names chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS), headless=True,
                                             timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def dnf_install(tmp_path: Path) -> Callable[..., DnfRun]:
    """``dnf_install_into`` a new directory under the test's ``tmp_path`` per call."""
    counter = iter(range(1000))

    def install(repo_files: list[Path], *packages: str) -> DnfRun:
        return dnf_install_into(tmp_path / f"dnf{next(counter)}", repo_files, *packages)

    return install


@pytest.fixture(scope="session")
def stage0_repo(tmp_path_factory: pytest.TempPathFactory) -> Stage0Repo:
    """This host's stage-0 repository, made once per session in a TRIB_CACHE_DIR-style directory
    (``<dir>/stage0/``), signed with its default host-local throwaway key. Read-only: copy to change it."""
    cache_root = tmp_path_factory.mktemp("trib-cache")
    repo = ensure_stage0(cache_root / "stage0")
    for path in repo.path.rglob("*"):
        if path.is_file():
            path.chmod(0o444)
    return repo


@pytest.fixture(scope="session")
def trib_cache(stage0_repo: Stage0Repo) -> Iterator[Path]:
    """``TRIB_CACHE_DIR`` for the session: every build of every test that asks for it shares the
    stage-0 repository and the buildroots, made once per session (never kept across CI runs)."""
    root = stage0_repo.path.parent.parent
    previous = os.environ.get("TRIB_CACHE_DIR")
    os.environ["TRIB_CACHE_DIR"] = str(root)
    try:
        yield root
    finally:
        if previous is None:
            os.environ.pop("TRIB_CACHE_DIR", None)
        else:
            os.environ["TRIB_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def signing_key() -> Iterator[SigningKey]:
    """A throwaway ed25519 key in a short GNUPGHOME under /tmp (gpg-agent's socket lives there).

    Shared by the repository and SBOM tests.
    """
    home = Path(tempfile.mkdtemp(prefix="trib-gpg-", dir="/tmp"))
    key = make_throwaway_key(home / "g", "Tributary Test Signing", "signing@tribex.invalid")
    try:
        yield key
    finally:
        key.stop_agent()
        shutil.rmtree(home, ignore_errors=True)


# Dask distributed's logging writes to the sys.stderr of the moment it is first imported: under pytest,
# a capture stream that is closed when its test (or the session) ends, and a later message (a connection
# closing in the client's background thread) would write to a closed file. Imported once here, the
# handlers it gives its loggers (distributed's, and tornado's and bokeh's too) are pointed at the
# process's own stderr; its configuration is then loaded before any test changes it.
import distributed  # noqa: E402, F401

for _logger in [logging.root, *logging.root.manager.loggerDict.values()]:
    for _handler in getattr(_logger, "handlers", []):
        if isinstance(_handler, logging.StreamHandler) and _handler.stream is sys.stderr:
            _handler.setStream(sys.__stderr__)


# --- A Dask cluster on 127.0.0.1: a real scheduler and workers, each worker in its own sandbox -------


@dataclass
class DaskWorker:
    name: str
    scratch: Path  # the only directory of this machine's /tmp the worker sees; its cache is scratch/cache
    service: Any  # tributary.tools.process.Service: bwrap, with the worker process inside

    @property
    def cache(self) -> Path:
        return self.scratch / "cache"


@dataclass
class DaskCluster:
    address: str
    scheduler: Any
    workers: dict[str, DaskWorker]
    directory: Path

    def start_worker(self, name: str, *, env: dict[str, str] | None = None, sandboxed: bool = True,
                     cache: Path | None = None) -> DaskWorker:
        """A ``dask worker`` named ``name``; ``sandboxed``: inside bubblewrap (the host's file system read-only,
        /tmp empty but for its own scratch directory, so no project or client cache of the tests is there)."""
        from tributary.tools import dask as dask_tool

        scratch = self.directory / name
        scratch.mkdir()
        argv = dask_tool.worker_args(self.address, name=name, host="127.0.0.1", local_directory=scratch / "dask")
        if sandboxed:
            # tributary's own code and its venv stay visible when the checkout lives under /tmp (a CI clone)
            code = [arg for path in sorted({Path(sys.prefix), Path(tributary.__file__).resolve().parents[2]})
                    for arg in ("--ro-bind", str(path), str(path))]
            argv = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--bind", "/proc", "/proc", "--tmpfs", "/tmp",
                    *code, "--bind", str(scratch), str(scratch), "--cap-add", "ALL", "--die-with-parent", "--", *argv]
        environment = {"TRIB_CACHE_DIR": str(cache or scratch / "cache"), **(env or {})}
        with open(scratch / "worker.log", "ab") as log:
            service = dask_tool.start(argv, log=log, env=environment)
        worker = DaskWorker(name, scratch, service)
        self.workers[name] = worker
        return worker

    def client(self):
        from distributed import Client

        return Client(self.address, timeout=60, set_as_default=False)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory, trib_cache: Path) -> Iterator[DaskCluster]:
    """A real ``dask scheduler`` and two single-threaded ``dask worker`` processes (``w1``, ``w2``) on
    127.0.0.1, each worker inside bubblewrap with its own scratch directory and root cache, the tests'
    projects and caches out of its sight. One per module: a test may kill a worker."""
    from tributary.tools import dask as dask_tool

    directory = tmp_path_factory.mktemp("dask")
    scheduler_file = directory / "scheduler.json"
    with open(directory / "scheduler.log", "ab") as log:
        scheduler = dask_tool.start(dask_tool.scheduler_args(host="127.0.0.1", dashboard=None,
                                                             scheduler_file=scheduler_file), log=log)
    cluster = DaskCluster("", scheduler, {}, directory)
    try:
        cluster.address = dask_tool.wait_for_address(scheduler_file, scheduler, directory / "scheduler.log",
                                                     timeout=120)
        for name in ("w1", "w2"):
            cluster.start_worker(name)
        with cluster.client() as client:
            client.wait_for_workers(2, timeout=120)
        yield cluster
    finally:
        for worker in cluster.workers.values():
            worker.service.stop()
        scheduler.stop()


# --- A distribution over Fedora-shaped dist-git repositories a test writes, history included ----------


@pytest.fixture
def dist_git_distro(tmp_path: Path, example_upstream: ExampleUpstream, trib) -> DistGitDistro:
    upstream = tmp_path / "upstream"
    shutil.copytree(example_upstream.root, upstream, symlinks=True)
    return DistGitDistro(copy_example_distro(tmp_path, upstream), upstream, tmp_path, trib)
