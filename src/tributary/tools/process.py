"""The one way tributary runs another program: a clean environment, no stdin, a time limit, output
captured, and a failure turned into a one-line ``ToolError`` naming the program and quoting its last
complaint (everything it printed stays on the error for ``-v`` and logs).

Every module in ``tributary.tools`` knows one program's arguments and messages; this one knows how to
start, wait for and stop a program, and it is the only module that imports ``subprocess``. A program
runs in a session of its own, so when it hangs past its time limit, or tributary is interrupted,
the whole process group it started is killed: nothing is left running. A service (``start``) is
also killed when tributary dies, SIGKILL included; so is a long program that writes a tree tributary
would throw away if it died (dnf filling a root), started with ``dies_with_caller``.

Four entry points, by what the caller wants back:

* ``run``: text out (and optionally in), for programs that print text;
* ``run_bytes``: bytes in and out (signatures, keys, git objects, a serial console);
* ``run_logged``: output streamed to an open log file, the exit status back (long builds);
* ``start``: a service left running in the background (a Dask scheduler or worker), as a ``Service``
  whose ``stop`` ends it; it also dies with the thread that started it, so a killed tributary leaves
  none behind.

``ok`` is the set of exit statuses that count as success (``None``: any, the caller looks at
``returncode``); ``name`` is how messages call the program (``git fetch``), ``complaint`` picks the
line of its output that says what went wrong, and ``error`` the ``ToolError`` subclass to raise.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from tributary.errors import Location, TribError

DEFAULT_TIMEOUT = 600.0
"""Seconds a program may run unless its caller says otherwise: far more than any quick tool needs."""

_DRAIN_TIMEOUT = 5.0
"""Seconds to collect the rest of a killed program's output (a daemon it started may hold the pipe)."""


class ToolError(TribError):
    """A program is missing, failed or ran out of time. Every tool module's error derives from this.

    ``stderr`` (and ``stdout``) keep everything the program printed; ``returncode`` is None when it
    never started or was stopped; ``timed_out`` says it was stopped at its time limit.
    """

    def __init__(self, message: str, *, command: Sequence[str] = (), stderr: str = "", stdout: str = "",
                 returncode: int | None = None, timed_out: bool = False, hint: str | None = None,
                 where: Location | str | None = None):
        super().__init__(message, where=where, hint=hint)
        self.command = list(command)
        self.stderr = stderr
        self.stdout = stdout
        self.returncode = returncode
        self.timed_out = timed_out


CompletedProcess = subprocess.CompletedProcess
"""What ``run`` and ``run_bytes`` return (re-exported: no other module imports ``subprocess``)."""

Complaint = Callable[[str], str]
"""Picks, from a program's output, the line that says what went wrong."""


def require(program: str, *, package: str, purpose: str, error: type[ToolError] = ToolError) -> str:
    """The path of ``program``; ``error`` saying which Debian package provides it when missing."""
    path = shutil.which(program, path=_path())
    if path is None:
        raise error(f"{program} is not installed (needed {purpose})", hint=f"apt-get install {package}")
    return path


def run(command: Sequence[str], *, env: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None,
        input: str | None = None, cwd: Path | None = None, timeout: float | None = DEFAULT_TIMEOUT,
        ok: Collection[int] | None = (0,), merge_output: bool = False, name: str | None = None,
        complaint: Complaint | None = None, error: type[ToolError] = ToolError,
        hint: str | None = None, dies_with_caller: bool = False) -> CompletedProcess[str]:
    """Run ``command`` with text in and out; a status outside ``ok`` raises ``error``.

    The environment is ``environment(env)``; ``environ`` replaces it whole, for the few programs that
    must see the user's own settings (git's proxies and credentials, gpg's agent). ``merge_output``
    sends stderr into stdout, in the order the program wrote them. ``dies_with_caller``: the kernel
    kills the program if tributary dies first (see the module's notes).
    """
    proc = run_bytes(command, env=env, environ=environ, input=None if input is None else input.encode(), cwd=cwd,
                     timeout=timeout, ok=ok, merge_output=merge_output, name=name, complaint=complaint, error=error,
                     hint=hint, dies_with_caller=dies_with_caller)
    return subprocess.CompletedProcess(proc.args, proc.returncode, text_of(proc.stdout),
                                       None if merge_output else text_of(proc.stderr))


def run_bytes(command: Sequence[str], *, env: Mapping[str, str] | None = None,
              environ: Mapping[str, str] | None = None, input: bytes | None = None, cwd: Path | None = None,
              timeout: float | None = DEFAULT_TIMEOUT, ok: Collection[int] | None = (0,),
              merge_output: bool = False, name: str | None = None, complaint: Complaint | None = None,
              error: type[ToolError] = ToolError, hint: str | None = None,
              dies_with_caller: bool = False) -> CompletedProcess[bytes]:
    """``run`` with bytes in and out."""
    argv = list(command)
    shown = name or os.path.basename(argv[0])
    returncode, out, err = _wait(argv, shown, stdin=input, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
                                 env=_environ(env, environ), cwd=cwd, timeout=timeout, umask=None, error=error,
                                 hint=hint, dies_with_caller=dies_with_caller)
    proc = subprocess.CompletedProcess(argv, returncode, out, None if merge_output else err)
    if ok is not None and returncode not in ok:
        err_text, out_text = decoded(err), decoded(out)
        said = (complaint or last_line)(err_text or out_text)
        raise error(f"{shown} failed: {said or f'exit status {returncode}'}", command=argv, stderr=err_text,
                    stdout=out_text, returncode=returncode, hint=hint)
    return proc


def run_logged(command: Sequence[str], *, log: BinaryIO, env: Mapping[str, str] | None = None,
               environ: Mapping[str, str] | None = None, cwd: Path | None = None,
               timeout: float | None = DEFAULT_TIMEOUT, umask: int | None = None, name: str | None = None,
               error: type[ToolError] = ToolError, hint: str | None = None) -> int:
    """Run ``command`` with stdout and stderr appended to ``log`` (an open file); return its exit status.

    For long work whose whole output is the record (a build): nothing is held in memory, and the
    caller reads the log to say what failed. ``umask`` applies to the files the program creates. Only
    a program that cannot start or outlives ``timeout`` raises.
    """
    argv = list(command)
    log.flush()
    returncode, _, _ = _wait(argv, name or os.path.basename(argv[0]), stdin=None, stdout=log,
                             stderr=subprocess.STDOUT, env=_environ(env, environ), cwd=cwd, timeout=timeout,
                             umask=umask, error=error, hint=hint, dies_with_caller=False)
    return returncode


class Service:
    """A program ``start`` left running: ``pid``, ``running()``, and ``stop()``, which ends its whole
    process group (SIGTERM, then SIGKILL after ``grace`` seconds) and waits for it."""

    def __init__(self, proc: subprocess.Popen[bytes], name: str):
        self._proc = proc
        self.name = name
        self.pid = proc.pid

    def running(self) -> bool:
        return self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll()

    def stop(self, grace: float = 5.0) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        _kill_group(self._proc)  # what the program itself started may outlive it
        self._proc.wait()


def start(command: Sequence[str], *, log: BinaryIO, env: Mapping[str, str] | None = None,
          environ: Mapping[str, str] | None = None, cwd: Path | None = None, name: str | None = None,
          error: type[ToolError] = ToolError, hint: str | None = None) -> Service:
    """Start ``command`` in the background, in a session of its own, output appended to ``log``.

    The program is killed (SIGKILL) when the thread that started it ends, tributary included
    (``PR_SET_PDEATHSIG``): start services from a thread that lives as long as they should, and
    ``stop`` them when done. ``error`` when it cannot start.
    """
    argv = list(command)
    shown = name or os.path.basename(argv[0])
    log.flush()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=_environ(env, environ), cwd=cwd, start_new_session=True,
                                preexec_fn=_die_with(os.getpid()))
    except OSError as cause:
        raise error(f"cannot run {shown}: {cause.strerror or cause}", command=argv, hint=hint) from cause
    return Service(proc, shown)


_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up now: the child must not load anything


def _die_with(parent: int) -> Callable[[], None]:
    """What a service's child runs before exec: SIGKILL when the thread that started it dies (Linux
    ``prctl``), so a service does not outlive a tributary killed without warning (it runs in a session
    of its own, out of reach of its parent's process group)."""

    def arm() -> None:
        if _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != parent:
            os._exit(127)  # prctl failed, or the parent died before it took effect

    return arm


def _wait(argv: list[str], shown: str, *, stdin: bytes | None, stdout: int | BinaryIO, stderr: int,
          env: dict[str, str], cwd: Path | None, timeout: float | None, umask: int | None,
          error: type[ToolError], hint: str | None, dies_with_caller: bool) -> tuple[int, bytes, bytes]:
    """Start ``argv`` in its own session, feed it ``stdin``, wait up to ``timeout`` seconds; its exit
    status and what it printed on the pipes (empty for a stream not captured).

    On a time-out or an interrupt (KeyboardInterrupt included) the program's whole process group is
    killed before the exception goes on.
    """
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                stdout=stdout, stderr=stderr, env=env, cwd=cwd, start_new_session=True,
                                umask=-1 if umask is None else umask,
                                preexec_fn=_die_with(os.getpid()) if dies_with_caller else None)
    except OSError as cause:
        raise error(f"cannot run {shown}: {cause.strerror or cause}", command=argv, hint=hint) from cause
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        _kill_group(proc)
        partial_out, partial_err = _drain(proc)
        raise error(f"{shown} did not finish within {timeout:g} s", command=argv, stderr=decoded(partial_err),
                    stdout=decoded(partial_out), timed_out=True, hint=hint) from expired
    except BaseException:
        _kill_group(proc)
        _drain(proc)
        raise
    return proc.returncode, out or b"", err or b""


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _drain(proc: subprocess.Popen[bytes]) -> tuple[bytes | None, bytes | None]:
    """Whatever a killed program had still to say, without waiting on a daemon that kept its pipe."""
    try:
        return proc.communicate(timeout=_DRAIN_TIMEOUT)
    except subprocess.TimeoutExpired:
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        proc.wait()
        return None, None


def _environ(env: Mapping[str, str] | None, environ: Mapping[str, str] | None) -> dict[str, str]:
    if environ is not None:
        if env is not None:
            raise ValueError("give env (added to the clean environment) or environ (the whole one), not both")
        return dict(environ)
    return environment(env)


def json_object(proc: CompletedProcess[str], *, error: type[ToolError] = ToolError) -> dict[str, Any]:
    """A program's stdout read as one JSON object; ``error`` when it printed something else."""
    name = os.path.basename(str(proc.args[0]))
    try:
        value = json.loads(proc.stdout)
    except json.JSONDecodeError as cause:
        raise error(f"{name} printed no JSON: {cause}", command=proc.args, stdout=proc.stdout,
                    stderr=proc.stderr or "") from cause
    if not isinstance(value, dict):
        raise error(f"{name} printed JSON that is not an object", command=proc.args, stdout=proc.stdout)
    return value


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment tools run in: a PATH with sbin, a C locale, the caller's TMPDIR and HOME only."""
    return {"PATH": _path(), "LC_ALL": "C.UTF-8", "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
            "HOME": os.environ.get("HOME", "/"), **(extra or {})}


def last_line(text: str) -> str:
    """The last non-blank line a program printed, which is where most of them say what went wrong."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _path() -> str:
    # The disk tools live in sbin, which a non-root PATH often leaves out.
    return os.pathsep.join(dict.fromkeys([*os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep),
                                          "/usr/sbin", "/sbin"]))


def decoded(value: bytes | str | None) -> str:
    """A program's output as text, whether it was captured as bytes or str (or not at all)."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value or ""


def text_of(value: bytes | None) -> str:
    """Captured output as text with universal newlines, as Python's text mode would read it."""
    return decoded(value).replace("\r\n", "\n").replace("\r", "\n")
