"""Builds on a real Dask cluster: a scheduler and two workers on 127.0.0.1, each worker in bubblewrap
with its own scratch directory and root cache and none of the tests' projects or caches in sight.

The example's stage 1 is built from an empty build cache on the cluster and compared byte for byte with
the session's local build; a worker is killed with SIGKILL in the middle of a build; a build that fails
fails once; a missing scheduler, a worker without bubblewrap, TLS. The kill test comes last: the
cluster has one worker left after it.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import dask.config
import pytest
from support import MARKER_VARIABLE, copy_example_distro, local_component, marked_processes

from tributary.build.cache import BuildCache
from tributary.build.distro import build_distribution
from tributary.build.executors.dask import DaskExecutor
from tributary.build.records import Outcome, read_record
from tributary.build.scheduler import State
from tributary.config import load_project


def digests(directory: Path) -> dict[str, str]:
    return {path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(directory.glob("*rpms/**/*.rpm"))}


def tree(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


def stage1(directory: Path, upstream: Path, extra: dict[str, str] | None = None):
    distro = copy_example_distro(directory, upstream, lookaside=True)
    for relative, text in (extra or {}).items():
        (distro.root / relative).parent.mkdir(parents=True, exist_ok=True)
        (distro.root / relative).write_text(text)
    return distro, [*distro.args(), "--config-file", str(distro.root / "stage1.toml")]


def wait_for(condition, *, seconds: float, what: str):
    """Poll ``condition`` until it returns something true (a file appearing, a process going: no event
    to wait on); fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out after {seconds} s waiting for {what}"
        time.sleep(0.05)
    return found


def test_the_example_builds_on_two_workers_byte_identical_to_a_local_build(
        dask_cluster, published, example_upstream, tmp_path, trib) -> None:
    distro, args = stage1(tmp_path, example_upstream.root)
    result = trib(*args, "-O", "json", "build", "-a", "--executor", "dask", "--scheduler", dask_cluster.address)
    assert result.code == 0, result.err
    project = load_project(distro.root, extra_files=[distro.mirror, distro.root / "stage1.toml"])
    local = published.project.output_dir / "stage1"
    assert digests(project.output_dir) == digests(local), "the workers' packages differ from the local build's"
    assert len(digests(local)) > 20

    records = {name: read_record(project.work_dir, name) for name in project.component_names}
    assert {record.outcome for record in records.values()} == {Outcome.BUILT}
    assert {record.worker for record in records.values()} == {"w1", "w2"}
    cache = BuildCache(project)
    assert {cache.worker(name) for name in project.component_names} == {"w1", "w2"}
    assert cache.buildroot("greet")["installed"], "the worker's root is recorded as a local build's is"
    log = (project.log_dir / "greet.log").read_text()
    assert f"on worker {records['greet'].worker}" in log

    with dask_cluster.client() as client:  # the workers never saw the project or the client's caches
        assert set(client.run(os.path.exists, str(distro.root)).values()) == {False}
        assert set(client.run(os.path.exists, str(published.project.root)).values()) == {False}
    assert not list((project.work_dir / "artifacts").iterdir()), "the run's artifact store is removed"

    again = trib(*args, "-O", "json", "build", "-a")  # the local executor finds what the workers built
    assert again.code == 0, again.err
    assert "cached" in again.out and '"done"' not in again.out


def test_an_unreachable_scheduler_is_one_line_exit_2_and_nothing_written(example_upstream, tmp_path, trib) -> None:
    distro, args = stage1(tmp_path, example_upstream.root)
    before = tree(distro.root)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the socket is closed
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        result = trib(*args, "build", "-a", "--executor", "dask", "--scheduler", f"tcp://127.0.0.1:{port}")
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    assert tree(distro.root) == before


def test_the_executor_options_are_checked(example_upstream, tmp_path, trib, monkeypatch) -> None:
    _, args = stage1(tmp_path, example_upstream.root)
    monkeypatch.delenv("TRIB_DASK_SCHEDULER", raising=False)
    assert "needs --scheduler" in trib(*args, "build", "-a", "--executor", "dask").err
    assert "unknown executor 'ray'" in trib(*args, "build", "-a", "--executor", "ray").err
    assert "needs --executor dask" in trib(*args, "build", "-a", "--workers", "2").err
    both = trib(*args, "build", "-a", "--executor", "dask", "--workers", "1", "--scheduler", "tcp://127.0.0.1:1")
    assert both.code == 2 and "exclude each other" in both.err


def test_a_build_that_fails_fails_once_with_its_log(dask_cluster, example_upstream, tmp_path, trib) -> None:
    distro, args = stage1(tmp_path, example_upstream.root, local_component("broken", "echo about to fail\nexit 3"))
    result = trib(*args, "build", "broken", "--executor", "dask", "--scheduler", dask_cluster.address)
    assert result.code == 1
    assert "error: component broken: rpmbuild --rebuild failed with exit status 1 on worker w" in result.err
    project = load_project(distro.root, extra_files=[distro.mirror, distro.root / "stage1.toml"])
    log = (project.log_dir / "broken.log").read_text()
    assert "about to fail" in log and "on worker w" in log
    assert f"full log: {project.log_dir / 'broken.log'}" in result.err, "the error points at the client's copy"
    kept = [path for worker in dask_cluster.workers.values() for path in worker.cache.glob("builds/broken.*")]
    assert len(kept) == 1, f"a real failure is not retried: {kept}"
    record = read_record(project.work_dir, "broken")
    assert record.outcome == Outcome.FAILED and record.worker in ("w1", "w2")


def test_a_worker_without_bubblewrap_is_named_before_anything_is_written(
        dask_cluster, example_upstream, tmp_path, trib) -> None:
    worker = dask_cluster.start_worker("nobwrap", env={"PATH": str(tmp_path / "empty")}, sandboxed=False)
    try:
        with dask_cluster.client() as client:
            client.wait_for_workers(3, timeout=60)
        distro, args = stage1(tmp_path, example_upstream.root)
        before = tree(distro.root)
        result = trib(*args, "build", "-a", "--executor", "dask", "--scheduler", dask_cluster.address)
        assert result.code == 2
        lines = result.err.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith("error: worker nobwrap (tcp://127.0.0.1:")
        assert "cannot build: bwrap is not installed" in lines[0] and "apt-get install bubblewrap" in lines[0]
        assert tree(distro.root) == before
    finally:
        worker.service.stop()
        del dask_cluster.workers["nobwrap"]
        with dask_cluster.client() as client:
            wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, seconds=60, what="the worker to go")


def in_pid_namespace(namespace: str, command: str | None = None) -> list[int]:
    """Processes in the PID namespace ``namespace`` (``pid:[...]``), those running ``command`` only if given."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "ns" / "pid") != namespace:
                    continue
                if command is None or (entry / "comm").read_text().strip() == command:
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def blocked_fifo(workers) -> tuple[str, Path] | None:
    for worker in workers:
        for fifo in worker.cache.glob("builds/blocker.*/build/block.fifo"):
            return worker.name, fifo
    return None


def release(fifo: Path) -> bool:
    """Write to the FIFO once its reader (the blocked %build) has it open; False while it has not."""
    try:
        descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return False
    with os.fdopen(descriptor, "w") as handle:
        handle.write("go\n")
    return True


def test_a_worker_killed_mid_build_costs_a_retry_on_the_other_worker(
        dask_cluster, example_upstream, tmp_path) -> None:
    """Last in the module: it leaves the cluster one worker."""
    marker = uuid.uuid4().hex
    script = f"export {MARKER_VARIABLE}={marker}\nmkfifo /build/block.fifo\ncat /build/block.fifo"
    distro, _ = stage1(tmp_path, example_upstream.root, local_component("blocker", script))
    project = load_project(distro.root, extra_files=[distro.mirror, distro.root / "stage1.toml"])
    outcome: dict = {}

    def build() -> None:
        with DaskExecutor.connect(dask_cluster.address) as executor:
            outcome["plan"], outcome["jobs"] = build_distribution(project, ["blocker"], executor=executor)

    thread = threading.Thread(target=build)
    thread.start()
    try:
        first, fifo = wait_for(lambda: blocked_fifo(dask_cluster.workers.values()), seconds=300,
                               what="the blocker's %build to wait on its FIFO")
        cat = next(iter(wait_for(lambda: marked_processes(marker), seconds=60, what="the %build's marked process")))
        namespace = os.readlink(f"/proc/{cat}/ns/pid")
        rpmbuilds = in_pid_namespace(namespace, "rpmbuild")
        assert rpmbuilds, "the blocked build runs rpmbuild"
        with dask_cluster.client() as client:
            names = {address: info["name"] for address, info in client.scheduler_info()["workers"].items()}
            pid = next(pid for address, pid in client.run(os.getpid).items() if names[address] == first)
        os.kill(pid, signal.SIGKILL)
        # The retried build on the other worker carries the same marker: the killed one is known by its
        # PID namespace, which goes with the last of its processes.
        wait_for(lambda: not in_pid_namespace(namespace), seconds=60, what="the killed worker's build processes to go")
        assert not any(Path(f"/proc/{process}").exists() for process in rpmbuilds)

        other = next(worker for worker in dask_cluster.workers.values() if worker.name != first)
        again = wait_for(lambda: blocked_fifo([other]), seconds=300, what="the build to start again on the other worker")
        wait_for(lambda: release(again[1]), seconds=60, what="the retried build to open its FIFO")
    finally:
        for worker in dask_cluster.workers.values():  # never leave the build thread waiting on a FIFO
            for fifo in worker.cache.glob("builds/blocker.*/build/block.fifo"):
                release(fifo)
        thread.join(timeout=600)
    jobs = outcome["jobs"]
    assert {name: job.state for name, job in jobs.items()} == {"tribex-rpm-config": State.DONE, "blocker": State.DONE}
    assert jobs["blocker"].worker == other.name != first
    assert read_record(project.work_dir, "blocker").worker == other.name
    rpms = list(project.output_dir.glob("rpms/*/blocker-1.0-1.tribex10.*.rpm"))
    recorded = BuildCache(project).recorded("blocker")  # every output there, with the sha256 recorded
    assert len(rpms) == 1 and recorded and rpms[0] in recorded, "the output is the one the cache recorded, whole"
    assert not list(project.output_dir.rglob(".*")), "no temporary file is left in the output directory"


@pytest.mark.serves  # the cluster's scheduler, workers and dashboard listen on 127.0.0.1
def test_a_cluster_started_for_one_run_serves_its_dashboard_and_dies_with_tributary(tmp_path) -> None:
    """``--workers N``: the dashboard (bokeh, installed by ``make setup``) is served at the address trib
    prints; the scheduler and workers trib starts do not outlive it, even killed with SIGKILL."""
    script = ("import sys, time; from pathlib import Path; from tributary.build.executors.dask import DaskExecutor; "
              f"e = DaskExecutor.start_local(1, cache=Path({str(tmp_path / 'cache')!r}), "
              f"log_dir=Path({str(tmp_path / 'logs')!r})); "
              "print(e.dashboard, *[s.pid for s in e.services], flush=True); time.sleep(600)")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        dashboard, *started = parent.stdout.readline().split()
        pids = [int(pid) for pid in started]
        assert len(pids) == 2 and all(Path(f"/proc/{pid}").exists() for pid in pids), "a scheduler and a worker"
        assert dashboard.startswith("http://127.0.0.1:") and dashboard.endswith("/status"), dashboard
        with urllib.request.urlopen(dashboard, timeout=60) as page:
            assert page.status == 200 and b"Dask" in page.read()
    finally:
        parent.kill()
        parent.wait()
    for pid in pids:
        wait_for(lambda pid=pid: not running(pid), seconds=60, what=f"process {pid} to die with its parent")
    assert (tmp_path / "logs" / "dask-scheduler.log").is_file() and (tmp_path / "logs" / "dask-worker-1.log").is_file()


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False
