"""git, the program: argument lists for the few commands tributary runs, and their failures as GitError.

Every command names its repository with ``--git-dir`` and runs with a cleaned environment, so a
``GIT_DIR`` left by a surrounding hook or a translated error message can never change what we read.
Which commit to use, where mirrors live and when to fetch are decided by ``tributary.upstream``.
Reading mirrors, and fetching over smart HTTP, happen in process (``tools.gitlib``); this module
keeps what needs git's program: cloning and fetching over the transports and with the settings only
it has (dumb HTTP, ssh, credentials), and the project's own work tree.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from tributary.tools import process

# Variables that would redirect a command to another repository, index or object store.
_REDIRECTING = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE", "GIT_COMMON_DIR", "GIT_PREFIX", "GIT_QUARANTINE_PATH",
)

# Failure kinds callers act on; the rest is "other".
NOT_FOUND = "not-found"  # the repository does not exist at that URL
MISSING_REF = "missing-ref"  # the repository exists, the branch does not
NETWORK = "network"  # host unreachable, refused, timed out, or a server error
OTHER = "other"

# git's messages, and libgit2's (``tools.gitlib``) for the same failures.
_KINDS = (
    (MISSING_REF, re.compile(r"couldn't find remote ref|unknown revision|no such ref|remote branch .* not found",
                             re.IGNORECASE)),
    (NOT_FOUND, re.compile(r"repository '.*' not found|does not appear to be a git repository|"
                           r"returned error: 404|not found: did you run git update-server-info|"
                           r"unexpected http status code: 404|failed to resolve path", re.IGNORECASE)),
    (NETWORK, re.compile(r"could not resolve host|failed to connect|connection refused|timed out|"
                         r"returned error: 5\d\d|connection reset|empty reply|unable to access|"
                         r"unexpected http status code: 5\d\d|failed to resolve address|could not read from socket",
                         re.IGNORECASE)),
)


TIMEOUT = 3600.0
"""Seconds one git command may take: a first fetch of a large dist-git repository over a slow link."""


class GitError(process.ToolError):
    """A git command failed; ``kind`` says whether it was a missing repository, branch or network."""

    @property
    def kind(self) -> str:
        return classify(self.stderr)


def environment() -> dict[str, str]:
    """The caller's environment minus repository redirections, with English messages and no prompts.

    User and system configuration stay: proxies, credentials and ``url.*.insteadOf`` mirrors are the
    user's to set. Prompting for a password would hang a batch run, so it is turned off.
    """
    env = {key: value for key, value in os.environ.items() if key not in _REDIRECTING}
    env.update({"LC_ALL": "C", "LANGUAGE": "C", "GIT_TERMINAL_PROMPT": "0"})
    return env


def run(args: Sequence[str], *, git_dir: Path | None = None, input: bytes | None = None,
        ok: Collection[int] = (0,), cwd: Path | None = None,
        settings: Mapping[str, str] | None = None) -> process.CompletedProcess[bytes]:
    """Run ``git [-c KEY=VALUE...] [--git-dir=DIR] ARGS`` (in ``cwd`` for a work tree); a status outside
    ``ok`` raises GitError. ``settings`` apply to this command only (``git -c``)."""
    program = process.require("git", package="git", purpose="to read dist-git repositories", error=GitError)
    command = [program, *(part for key, value in (settings or {}).items() for part in ("-c", f"{key}={value}")),
               *([f"--git-dir={git_dir}"] if git_dir is not None else []), *args]
    return process.run_bytes(command, environ=environment(), input=input, cwd=cwd, ok=ok, timeout=TIMEOUT,
                             name=f"git {args[0]}", complaint=_last_message, error=GitError)


# Failures worth trying again: the server or the connection broke mid-way, not a wrong URL or host.
_TRANSIENT = re.compile(r"returned error: 5\d\d|connection reset|empty reply|timed out|early eof|rpc failed|"
                        r"unexpected disconnect|unexpected http status code: 5\d\d|could not read from socket",
                        re.IGNORECASE)


def is_transient(stderr: str) -> bool:
    """Whether git's message describes a failure that may not happen again (a 5xx, a dropped connection)."""
    return bool(_TRANSIENT.search(stderr))


def classify(stderr: str) -> str:
    """Which kind of failure git's message describes (see the module constants)."""
    for kind, pattern in _KINDS:
        if pattern.search(stderr):
            return kind
    return OTHER


def _last_message(stderr: str) -> str:
    """The line that says what went wrong: the last ``fatal:``/``error:`` line, else the last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith(("fatal:", "error:")):
            return line.split(":", 1)[1].strip()
    return lines[-1] if lines else ""


# --- commands ------------------------------------------------------------------------------------


def clone_bare(url: str, dest: Path, branch: str, *, config: Mapping[str, str],
               settings: Mapping[str, str] | None = None) -> None:
    """A bare clone of one branch of ``url`` into the new directory ``dest``, ``config`` written into it.

    One process does what init, config and a first fetch would; a failed clone leaves no ``dest``.
    """
    run(["clone", "--bare", "--quiet", "--no-tags", "--single-branch", "--branch", branch, "--template=",
         *(part for key, value in config.items() for part in ("-c", f"{key}={value}")), "--", url, str(dest)],
        settings=settings)


def fetch(git_dir: Path, remote: str, refspecs: Sequence[str], *, settings: Mapping[str, str] | None = None) -> None:
    """Fetch exactly ``refspecs`` from ``remote`` (a name or URL), no tags, quietly."""
    run(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, *refspecs], git_dir=git_dir,
        settings=settings)


# What git's HTTP transport (curl) says when a connection stayed below http.lowSpeedLimit too long, and
# libgit2 when a socket stayed silent past its server time-out.
STALLED = re.compile(r"operation too slow|could not read from socket: timed out", re.IGNORECASE)
# libgit2, when it opened no connection (``reason`` as the system says it: "Connection refused",
# "Operation timed out" for its connect time-out, "Name or service not known").
NO_CONNECTION = re.compile(r"failed to (?:connect to|resolve address for) [^\s:]+: (?P<reason>[^\n]+)", re.IGNORECASE)


def resolve(git_dir: Path, revision: str) -> str | None:
    """The full commit id ``revision`` names, or None when it names no commit in this repository."""
    proc = run(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"],
               git_dir=git_dir, ok=(0, 1, 128))
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


_FULL_ID = re.compile(r"^[0-9a-f]{40}$")


def read_ref(git_dir: Path, ref: str) -> str | None:
    """The commit a branch ref (``refs/heads/x``) names in a bare repository, or None when it has none.

    Read from the ref files (a loose ref, else ``packed-refs``) without starting git: a mirror's tip is
    asked for on every lookup, and a process costs more than the lookup. Anything unusual (a symbolic
    ref, a peeled or malformed line) is left to ``git rev-parse``.
    """
    try:
        loose = (git_dir / ref).read_text().strip()
    except FileNotFoundError:
        loose = None
    except (IsADirectoryError, NotADirectoryError, UnicodeDecodeError):
        return resolve(git_dir, ref)
    if loose is not None:
        return loose if _FULL_ID.match(loose) else resolve(git_dir, ref)
    try:
        packed = (git_dir / "packed-refs").read_text()
    except FileNotFoundError:
        return None
    for line in packed.splitlines():
        oid, _, name = line.partition(" ")
        if name == ref:
            return oid if _FULL_ID.match(oid) else resolve(git_dir, ref)
    return None


# --- the project's own repository (a work tree) ----------------------------------------------------


def toplevel(directory: Path) -> Path | None:
    """The root of the work tree holding ``directory``, or None when it is not in a git repository."""
    proc = run(["rev-parse", "--show-toplevel"], cwd=directory, ok=(0, 128))
    return Path(proc.stdout.decode().strip()) if proc.returncode == 0 else None


def show_file(work_tree: Path, revision: str, path: str) -> bytes | None:
    """The content of ``path`` (relative to the work tree's root) at ``revision``; None if absent there."""
    proc = run(["cat-file", "blob", f"{revision}:{path}"], cwd=work_tree, ok=(0, 128))
    return proc.stdout if proc.returncode == 0 else None


def verify_revision(work_tree: Path, revision: str) -> str:
    """The commit ``revision`` names in the work tree's repository (GitError when it names none)."""
    return run(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], cwd=work_tree).stdout.decode().strip()


def is_shallow(work_tree: Path) -> bool:
    return run(["rev-parse", "--is-shallow-repository"], cwd=work_tree).stdout.decode().strip() == "true"


def log_patches(work_tree: Path, path: str) -> str:
    """Every commit on HEAD's history touching ``path``, oldest first, each as a NUL, a header line
    ``hash<US>author<US>email<US>time<US>subject`` and its patch of ``path`` with no context lines."""
    proc = run(
        [
            "log",
            "--reverse",
            "--no-color",
            "--no-renames",
            "-p",
            "-U0",
            "--format=%x00%H%x1f%an%x1f%ae%x1f%at%x1f%s",
            "HEAD",
            "--",
            path,
        ],
        cwd=work_tree,
        ok=(0, 128),
    )
    return proc.stdout.decode(errors="replace")


def last_commits(work_tree: Path, directory: str) -> dict[str, str]:
    """For every file under ``directory`` (relative to the work tree's root), the last commit touching it."""
    return {path: commits[0][0] for path, commits in file_commits(work_tree, [directory]).items()}


def file_commits(work_tree: Path, paths: Sequence[str]) -> dict[str, list[tuple[str, int]]]:
    """For every file under ``paths`` (relative to the work tree's root), the commits on HEAD's history that
    touched it, newest first, each as (id, commit time); one ``git log`` for all of them."""
    proc = run(["log", "--format=%x00%H %ct", "--name-only", "HEAD", "--", *paths], cwd=work_tree, ok=(0, 128))
    result: dict[str, list[tuple[str, int]]] = {}
    commit: tuple[str, int] = ("", 0)
    for line in proc.stdout.decode(errors="replace").splitlines():
        if line.startswith("\x00"):
            ident, _, when = line[1:].partition(" ")
            commit = (ident, int(when))
        elif line:
            result.setdefault(line, []).append(commit)
    return result


def git_dir_of(work_tree: Path) -> Path:
    """The repository directory of a work tree (a linked work tree's own, which reads the shared objects)."""
    return Path(run(["rev-parse", "--absolute-git-dir"], cwd=work_tree).stdout.decode().strip())


def head_commit(work_tree: Path) -> tuple[str, int] | None:
    """The commit checked out in the work tree holding ``work_tree`` and its committer time; None outside
    a git repository or before its first commit."""
    proc = run(["show", "-s", "--format=%H %ct", "HEAD", "--"], cwd=work_tree, ok=(0, 128))
    fields = proc.stdout.decode().split()
    return (fields[0], int(fields[1])) if proc.returncode == 0 and len(fields) == 2 else None
