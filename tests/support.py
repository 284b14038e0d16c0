"""Helpers shared by tests (not fixtures): a git with a fixed identity, the example distro copied."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tributary.config.project import Project
from tributary.tools import gpg

EXAMPLE_DISTRO = Path(__file__).resolve().parent.parent / "examples" / "distro"

def run_git(*args: str, cwd: Path, date: str = "2026-01-05T10:00:00+00:00", author: str = "Dev") -> str:
    """git with a fixed identity and date (so commits are reproducible), asserting it succeeds."""
    env = {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": f"{author.lower()}@tribex.invalid",
           "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": f"{author.lower()}@tribex.invalid",
           "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "HOME": str(cwd), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


UPLOAD_PACK_SERVICE = "service=git-upload-pack"


def answer_smart_http(handler: http.server.BaseHTTPRequestHandler, root: Path) -> bool:
    """Answer git's smart-HTTP requests for the repositories below ``root`` (``GET .../info/refs?service=
    git-upload-pack`` and ``POST .../git-upload-pack``) as ``git http-backend`` does: by running
    ``git upload-pack --stateless-rpc`` on the repository and framing its answer. One process fewer
    per request than http-backend behind CGI, so a benchmark's server costs the shared cores little.
    Returns False (answering nothing) for any other request; a 404 for a path that is no repository."""
    path, _, query = handler.path.partition("?")
    if handler.command == "GET" and path.endswith("/info/refs") and query == UPLOAD_PACK_SERVICE:
        repository, body = root / unquote(path[: -len("/info/refs")]).lstrip("/"), b""
        args, content = ["--advertise-refs"], "application/x-git-upload-pack-advertisement"
    elif handler.command == "POST" and path.endswith("/git-upload-pack"):
        repository = root / unquote(path[: -len("/git-upload-pack")]).lstrip("/")
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        args, content = [], "application/x-git-upload-pack-result"
    else:
        return False
    if not (repository / "HEAD").is_file():
        handler.send_error(404)
        return True
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_PROTOCOL": handler.headers.get("Git-Protocol", "")}
    proc = subprocess.run(["git", "upload-pack", "--stateless-rpc", *args, str(repository)], input=body,
                          capture_output=True, env=env, check=False)
    if proc.returncode != 0:
        handler.send_error(500)
        return True
    reply = proc.stdout
    if args:  # an advertisement starts with the service line, as http-backend writes it
        line = f"# {UPLOAD_PACK_SERVICE}\n".encode()
        reply = b"%04x" % (len(line) + 4) + line + b"0000" + reply
    handler.send_response(200)
    handler.send_header("Content-Type", content)
    handler.send_header("Cache-Control", "no-cache")
    handler.send_header("Content-Length", str(len(reply)))
    handler.end_headers()
    handler.wfile.write(reply)
    return True


@dataclass(frozen=True)
class ExampleDistro:
    """A copy of examples/distro whose dist-git points at a test's upstream through ``mirror``."""

    root: Path
    mirror: Path

    def args(self, *args: str) -> list[str]:
        """``trib`` arguments that select this copy and its upstream."""
        return ["-C", str(self.root), "--config-file", str(self.mirror), *args]

    def commit_all(self, message: str, **identity: str) -> None:
        run_git("add", "-A", cwd=self.root, **identity)
        run_git("commit", "-qm", message, cwd=self.root, **identity)


@dataclass(frozen=True)
class Published:
    """The example distribution built from clean and published unsigned to its ``channel`` (rpm-base)."""

    project: Project
    channel: Path


def copy_example_distro(directory: Path, upstream_root: Path, *, git_repository: bool = True,
                        lookaside: bool = False) -> ExampleDistro:
    """Copy the example distribution (without generated output or locks) next to a mirror override
    (dist-git, and with ``lookaside`` the lookaside store, read from ``upstream_root`` by file://)."""
    root = directory / "distro"
    shutil.copytree(EXAMPLE_DISTRO, root, ignore=shutil.ignore_patterns("specs", "out", "build", "locks"))
    mirror = directory / "mirror.toml"
    mirror.write_text(f'[distros.example-upstream]\ndist-git-base-uri = "file://{upstream_root}/git/$pkg.git"\n')
    if lookaside:
        with mirror.open("a") as handle:
            handle.write(f'lookaside-base-uri = "file://{upstream_root}/lookaside/$pkg/$filename/$hashtype/$hash/$filename"\n')
    distro = ExampleDistro(root, mirror)
    if git_repository:
        run_git("init", "-q", "-b", "main", cwd=root)
        distro.commit_all("Import the distribution", date="2026-01-01T09:00:00+00:00")
    return distro


@dataclass
class DistGitDistro:
    """The example distribution over a private copy of the Example Upstream, to which a test adds
    dist-git repositories (real git, read by file://) with the history it needs."""

    distro: ExampleDistro
    upstream: Path
    work: Path
    run: Callable[..., Any]

    def cli(self, *args: str) -> Any:
        return self.run(*self.distro.args(*args))

    def add_package(self, name: str, history: list[dict[str, str | None]], *, component: str = "",
                    messages: list[str] | None = None) -> list[str]:
        """A dist-git repository ``name`` (branch f43) whose commits write each dict of files in turn
        (None deletes a file), one a day from 2025-01-01 (before the distro's snapshot), and the
        component using it (``component`` is more TOML for its table); returns the commit ids."""
        work = self.work / f"dist-git-{name}"
        work.mkdir(parents=True)
        run_git("init", "-q", "-b", "f43", cwd=work)
        commits = []
        for day, files in enumerate(history, start=1):
            for relative, text in files.items():
                path = work / relative
                if text is None:
                    path.unlink()
                else:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text)
            run_git("add", "-A", cwd=work)
            message = messages[day - 1] if messages else f"Update {name} ({day})"
            run_git("commit", "-qm", message, cwd=work, date=f"2025-01-{day:02d}T12:00:00+00:00", author="Packager")
            commits.append(run_git("rev-parse", "HEAD", cwd=work))
        run_git("clone", "-q", "--bare", str(work), str(self.upstream / "git" / f"{name}.git"), cwd=self.work)
        with (self.distro.root / "base/comps/components.toml").open("a") as handle:
            handle.write(f"\n[components.{name}]\n{component}\n")
        return commits

    def lock_and_commit(self, *names: str, message: str = "Lock the components") -> None:
        """``comp update`` the components (all with none named) and commit the project."""
        result = self.cli("comp", "update", *(names or ("-a",)))
        assert result.code == 0, result.err
        self.distro.commit_all(message, date="2026-01-02T09:00:00+00:00", author="Ana")

    def rendered(self, name: str) -> Path:
        return self.distro.root / "specs" / name[0].lower() / name


@dataclass
class DnfRun:
    returncode: int
    output: str
    root: Path


def dnf_install_into(run: Path, repo_files: list[Path], *packages: str, options: tuple[str, ...] = ()) -> DnfRun:
    """``dnf install`` offline into the fresh root ``run/root``, with only the given ``.repo`` files configured.

    Returns once dnf is done and the gpg-agents it started are stopped. The host's dnf.conf and
    repositories are kept out (``--config``, ``reposdir``); HOME holds an ``.rpmmacros`` that puts the
    root's rpmdb where an RPM distribution keeps it. ``options`` go before ``install`` (``--setopt=...``).
    """
    home, root, reposdir = run / "home", run / "root", run / "repos.d"
    for directory in (home, root, reposdir):
        directory.mkdir(parents=True)
    (home / ".rpmmacros").write_text("%_dbpath /usr/lib/sysimage/rpm\n")
    for repo_file in repo_files:
        shutil.copy(repo_file, reposdir / repo_file.name)
    config = run / "dnf.conf"
    config.write_text("[main]\ninstall_weak_deps=False\ntsflags=nodocs\n")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(home), "LC_ALL": "C.UTF-8"}
    command = ["dnf", "-y", f"--config={config}", f"--installroot={root}", "--releasever=1",
               f"--setopt=reposdir={reposdir}", *options, "install", *packages]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          check=False, timeout=600)
    # repo_gpgcheck verifies through gpgme, which starts a gpg-agent for a key ring in the root's
    # cache and leaves it running.
    for keyring in root.glob("var/cache/dnf/*/pubring"):
        gpg.stop_agent(keyring)
    return DnfRun(proc.returncode, proc.stdout + proc.stderr, root)


# --- the CLI as a real child process, what it leaves behind, and an upstream that can hold requests ----

MARKER_VARIABLE = "TRIB_FAULT_TEST_MARKER"


def marker_tmpdir(marker: str) -> Path:
    """The TMPDIR a marked ``trib`` runs with: tributary runs other programs (dnf, rpmbuild, bwrap, gpg)
    in a clean environment that keeps only TMPDIR and HOME of its own, so the marker rides in TMPDIR too."""
    return Path(tempfile.gettempdir()) / f"trib-fault-{marker}"


def marked_processes(marker: str) -> dict[int, str]:
    """Every living process (zombies are dead) whose environment carries ``marker`` (as the marker
    variable, or as its TMPDIR): pid -> command name."""
    found: dict[int, str] = {}
    needles = {f"{MARKER_VARIABLE}={marker}".encode(), f"TMPDIR={marker_tmpdir(marker)}".encode()}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            status = Path(f"/proc/{entry}/status").read_text()
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
        except OSError:  # gone meanwhile, or a kernel thread
            continue
        if needles & set(environ.split(b"\0")) and "\nState:\tZ" not in status:
            found[int(entry)] = comm
    return found


def wait_until_gone(marker: str, timeout: float, *, which: Callable[[str], bool] = lambda comm: True) -> dict[int, str]:
    """Wait (on pidfds, no polling sleeps) until no process with ``marker`` chosen by ``which(comm)``
    is alive, or ``timeout`` seconds passed; return those still alive."""
    deadline = time.monotonic() + timeout
    while True:
        alive = {pid: comm for pid, comm in marked_processes(marker).items() if which(comm)}
        left = deadline - time.monotonic()
        if not alive or left <= 0:
            return alive
        descriptors = []
        for pid in alive:
            try:
                descriptors.append(os.pidfd_open(pid))
            except ProcessLookupError:
                continue
        try:
            if descriptors:  # readable when the process exits; a new scan follows either way
                select.select(descriptors, [], [], min(left, 1.0))
        finally:
            for descriptor in descriptors:
                os.close(descriptor)


@dataclass
class Child:
    """``trib`` as a child process with a marker in its environment."""

    process: subprocess.Popen[str]
    marker: str

    def wait(self, timeout: float = 120) -> tuple[int, str, str]:
        """Its exit status and output; past ``timeout`` it and everything it started are killed (by pid,
        found through the marker) and the test fails."""
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            for pid in marked_processes(self.marker):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            out, err = self.process.communicate()
            raise AssertionError(f"trib did not finish within {timeout:g} s; stderr so far:\n{err[-2000:]}") from None
        finally:
            shutil.rmtree(marker_tmpdir(self.marker), ignore_errors=True)
        return self.process.returncode, out, err


def trib_child(args: list[str], *, env: dict[str, str] | None = None, marker: str | None = None,
               prefix: tuple[str, ...] = ()) -> Child:
    """Start ``[PREFIX...] python -m tributary.cli.app ARGS`` (the real CLI in its own process), with a
    marker in its environment that every process it starts inherits."""
    marker = marker or uuid.uuid4().hex
    marker_tmpdir(marker).mkdir(exist_ok=True)
    environment = {**os.environ, "CI": "true", MARKER_VARIABLE: marker, "TMPDIR": str(marker_tmpdir(marker)),
                   **(env or {})}
    process = subprocess.Popen([*prefix, sys.executable, "-m", "tributary.cli.app", *args], env=environment, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return Child(process, marker)


STOPPED_BY_SIGTERM = "error: stopped by SIGTERM before the command finished; what it completed is kept"


def first_line(err: str) -> str:
    """The first line of what a command printed on stderr: the one the acceptance of a fault asserts."""
    return err.splitlines()[0] if err else ""


def stop_child(child: Child, stop: signal.Signals, *, which: Callable[[str], bool] = lambda comm: True) -> None:
    """Send ``stop`` (a real signal) to a running ``trib`` and assert it ends as a stopped command must:
    SIGTERM exits 143 with one line, SIGKILL kills it; and no process it started (chosen by ``which``
    from their command names) is alive after."""
    child.process.send_signal(stop)
    left = wait_until_gone(child.marker, 30, which=which)
    code, _, err = child.wait(60)
    assert left == {}, f"left running after {stop.name}: {left}"
    if stop == signal.SIGTERM:
        assert code == 143
        assert first_line(err) == STOPPED_BY_SIGTERM
    else:
        assert code == -signal.SIGKILL


def run_trib(args: list[str], *, env: dict[str, str] | None = None, timeout: float = 120,
             prefix: tuple[str, ...] = ()) -> tuple[int, str, str]:
    """Run the CLI to its end as a child process: (exit status, stdout, stderr)."""
    return trib_child(args, env=env, prefix=prefix).wait(timeout)


def components(distro: ExampleDistro) -> dict[str, dict[str, Any]]:
    """The distribution's components as ``trib -O json comp list -a`` lists them, by name: tests count
    and choose components from it rather than from a list that the example outgrows."""
    code, out, err = run_trib(distro.args("-O", "json", "comp", "list", "-a"))
    assert code == 0, err
    return {row["name"]: row for row in json.loads(out)}


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait until ``condition()`` (a look at files another process writes) holds; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:g} s for {what}"
        time.sleep(0.02)


def tree(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (symlinks as their target) by relative path, for before/after checks."""
    if not root.exists():
        return {}
    result = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            result[relative] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            result[relative] = path.read_bytes()
    return result


# --- an HTTP upstream that can hold requests ---------------------------------------------------------


@dataclass
class Hold:
    """Holds every request at the server until ``release()``; ``arrived`` counts the held ones."""

    released: threading.Event = field(default_factory=threading.Event)
    condition: threading.Condition = field(default_factory=threading.Condition)
    arrived: int = 0

    def __call__(self, path: str) -> None:
        with self.condition:
            self.arrived += 1
            self.condition.notify_all()
        self.released.wait(300)

    def wait_for(self, count: int, timeout: float = 60) -> bool:
        with self.condition:
            return self.condition.wait_for(lambda: self.arrived >= count, timeout)

    def release(self) -> None:
        self.released.set()


@dataclass(frozen=True)
class ServedDistro:
    """The example distribution whose dist-git and lookaside come from ``server`` over HTTP."""

    distro: ExampleDistro
    server: object

    @property
    def root(self) -> Path:
        return self.distro.root

    def args(self, *args: str) -> list[str]:
        return self.distro.args(*args)


def local_component(name: str, build_script: str, build_requires: str = "") -> dict[str, str]:
    """Files of a local-spec component whose %build runs ``build_script``."""
    spec = textwrap.dedent("""\
        Name:           {name}
        Version:        1.0
        Release:        1%{{?dist}}
        Summary:        Test package
        License:        MIT
        {requires}

        %description
        Test package.

        %build
        {script}

        %install
        mkdir -p %{{buildroot}}%{{_datadir}}/{name}
        echo built > %{{buildroot}}%{{_datadir}}/{name}/built

        %files
        %{{_datadir}}/{name}

        %changelog
        * Mon Jan 05 2026 Test <test@tribex.invalid> - 1.0-1
        - Test
        """).format(name=name, script=build_script, requires=build_requires)
    comp = (f'[components.{name}]\nspec = {{ type = "local", path = "{name}.spec", reason = "test" }}\n'
            'release = { calculation = "manual" }\n')
    return {f"base/comps/{name}/{name}.comp.toml": comp, f"base/comps/{name}/{name}.spec": spec}
