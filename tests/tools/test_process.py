"""tools.process, the one runner: clean environment, time limits that leave nothing running, the
program's last complaint in the error; and the rules that keep it the only one."""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import pkgutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tributary
import tributary.tools
from tributary.tools import process

SOURCE = Path(tributary.__file__).parent

# The one module that may import subprocess: the runner itself.
SUBPROCESS_ALLOWED = {"tools/process.py"}


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie waiting to be reaped is not running)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _gone_within(pid: int, *, seconds: float) -> bool:
    """Whether ``pid`` stops running before ``seconds`` pass (polled: a killed process has no event to wait on)."""
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_failure_names_the_program_and_quotes_its_last_complaint() -> None:
    with pytest.raises(process.ToolError) as caught:
        process.run(["sh", "-c", "echo working; echo 'first problem' >&2; echo 'the real reason' >&2; exit 3"])
    error = caught.value
    assert str(error) == "sh failed: the real reason"
    assert error.returncode == 3 and not error.timed_out
    assert error.stderr == "first problem\nthe real reason\n" and error.stdout == "working\n"


def test_the_complaint_picker_and_accepted_statuses_are_the_callers() -> None:
    proc = process.run(["sh", "-c", "exit 1"], ok=(0, 1))
    assert proc.returncode == 1
    with pytest.raises(process.ToolError, match="^git fetch failed: WANTED$"):
        process.run(["sh", "-c", "echo 'fatal: WANTED' >&2; echo noise >&2; exit 128"], name="git fetch",
                    complaint=lambda text: next(line[7:] for line in text.splitlines() if line.startswith("fatal:")))


def test_programs_see_a_clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIB_LEAKED_SECRET", "hunter2")
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    seen = dict(line.split("=", 1) for line in process.run(["env"], env={"EXTRA": "1"}).stdout.splitlines())
    assert "TRIB_LEAKED_SECRET" not in seen and "LANG" not in seen
    assert seen["LC_ALL"] == "C.UTF-8" and seen["EXTRA"] == "1" and "/usr/sbin" in seen["PATH"].split(":")
    whole = process.run(["env"], environ={"PATH": "/usr/bin:/bin", "ONLY": "this"}).stdout.splitlines()
    assert sorted(whole) == ["ONLY=this", "PATH=/usr/bin:/bin"]


def test_a_missing_program_is_a_tool_error_with_a_hint() -> None:
    with pytest.raises(process.ToolError, match="cannot run no-such-program-here: No such file or directory"):
        process.run(["no-such-program-here"])
    with pytest.raises(process.ToolError, match=r"no-such-program-here is not installed \(needed to test\)") as caught:
        process.require("no-such-program-here", package="nothing", purpose="to test")
    assert caught.value.hint == "apt-get install nothing"


def test_a_time_out_kills_the_program_and_everything_it_started(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"sleep 600 & echo $! > {pids}; echo started; echo 'still waiting' >&2; wait"
    with pytest.raises(process.ToolError, match=r"^sh did not finish within 1 s$") as caught:
        process.run(["sh", "-c", script], timeout=1)
    assert caught.value.timed_out and caught.value.returncode is None
    assert caught.value.stdout == "started\n" and caught.value.stderr == "still waiting\n"
    # The background sleep was in the program's process group: killed, not left to run for 10 minutes.
    # SIGKILL is delivered asynchronously, and on a loaded machine the kernel may take a moment to
    # finish the process: wait for it, with a deadline far below the sleep's 600 s.
    assert _gone_within(int(pids.read_text()), seconds=30)


def test_a_started_service_logs_stops_and_dies_with_its_parent(tmp_path: Path) -> None:
    with open(tmp_path / "service.log", "wb") as log:
        service = process.start(["sh", "-c", "echo up; exec sleep 600"], log=log)
    _wait_until(lambda: (tmp_path / "service.log").read_text() == "up\n")
    assert service.running()
    service.stop(grace=5)
    assert not service.running() and not _alive(service.pid)

    # A parent that is killed (SIGKILL: no clean-up runs) takes what it started with it.
    script = (f"import sys, time; from tributary.tools import process; "
              f"s = process.start(['sleep', '600'], log=open({str(tmp_path / 'child.log')!r}, 'wb')); "
              f"print(s.pid, flush=True); time.sleep(600)")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert _alive(child)
    finally:
        parent.kill()
        parent.wait()
    assert _gone_within(child, seconds=30), "the service outlived the process that started it"


def _wait_until(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.mark.parametrize("dies", [True, False], ids=["dies-with-caller", "outlives-caller"])
def test_a_program_started_to_die_with_its_caller_dies_with_a_killed_caller(tmp_path: Path, dies: bool) -> None:
    """A SIGKILL runs no ``finally``: only the kernel can stop what the killed tributary started."""
    pids = tmp_path / "pids"
    caller = subprocess.Popen([sys.executable, "-c", (
        "from tributary.tools import process\n"
        f"process.run(['sh', '-c', 'echo $$ > {pids}.new && mv {pids}.new {pids} && exec sleep 600'], "
        f"dies_with_caller={dies})\n")])
    try:
        deadline = time.monotonic() + 60
        while not pids.exists():
            assert time.monotonic() < deadline and caller.poll() is None, "the program never started"
            time.sleep(0.02)
        program = int(pids.read_text())
        caller.kill()
        caller.wait()
        # The sleep would last 600 s. The kernel signals the moment the caller dies, so a program that
        # outlives it by a second has outlived it (waiting longer only slows every test run).
        assert _gone_within(program, seconds=10 if dies else 1) is dies
    finally:
        if pids.exists() and _alive(int(pids.read_text())):
            os.kill(int(pids.read_text()), signal.SIGKILL)


def test_bytes_in_and_out_and_merged_output() -> None:
    data = bytes(range(256))
    assert process.run_bytes(["cat"], input=data).stdout == data
    merged = process.run(["sh", "-c", "echo one; echo two >&2; echo three"], merge_output=True)
    assert merged.stdout == "one\ntwo\nthree\n" and merged.stderr is None


def test_run_logged_streams_to_the_log_with_the_umask_asked_for(tmp_path: Path) -> None:
    with open(tmp_path / "log", "wb") as log:
        log.write(b"header\n")
        status = process.run_logged(["sh", "-c", "echo out; echo err >&2; touch made; exit 4"], log=log,
                                    cwd=tmp_path, umask=0o027)
    assert status == 4
    assert (tmp_path / "log").read_text() == "header\nout\nerr\n"
    assert (tmp_path / "made").stat().st_mode & 0o777 == 0o640
    with open(tmp_path / "log", "ab") as log, pytest.raises(process.ToolError, match="sleep did not finish within"):
        process.run_logged(["sleep", "600"], log=log, timeout=0.5)


def test_every_tool_error_derives_from_tool_error() -> None:
    errors = []
    for module_info in pkgutil.iter_modules(tributary.tools.__path__):
        module = importlib.import_module(f"tributary.tools.{module_info.name}")
        errors += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                   if issubclass(cls, Exception) and cls.__module__ == module.__name__]
    assert {cls.__name__ for cls in errors} >= {"GitError", "GpgError", "DnfError", "SkopeoError", "RpmbuildError",
                                                 "BwrapError", "RpmsignError", "CreaterepoError", "RpmautospecError"}
    assert [cls.__name__ for cls in errors if not issubclass(cls, process.ToolError)] == []


def test_only_the_runner_imports_subprocess() -> None:
    importers = []
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name.split(".")[0] == "subprocess" for name in names):
                importers.append(str(path.relative_to(SOURCE)))
    assert sorted(set(importers) - SUBPROCESS_ALLOWED) == []
    assert "tools/process.py" in importers
