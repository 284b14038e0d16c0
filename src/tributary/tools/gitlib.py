"""git as a library (libgit2, through pygit2): the questions render and update ask of a repository
thousands of times, answered in this process.

A distribution's render asks every component's mirror whether the locked commit is on its branch,
for the files of that commit and, for ``%autorelease`` specs, for its first-parent history; each
answer from the ``git`` program costs a process (several milliseconds of CPU, more than the answer),
so 7,600 components cost tens of thousands of processes. libgit2 reads the same object store
directly. ``tools.git`` keeps what only the program does well (the user's transports and
configuration for fetching, the project's own work tree); ``upstream.distgit`` fetches through
libgit2 where it can (see ``fetch``).

Every failure is a ``GitError`` (``tools.git``'s), so callers handle the program and the library
alike; libgit2's message stands where git's stderr would.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import FileMode, ObjectType

from tributary.tools.git import GitError, git_dir_of

_GITLINK = 0o160000
_TREE = 0o040000


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a commit's tree (as ``git ls-tree -r`` lists it): ``mode`` as git writes it
    (``100644``, ``120000``...)."""

    mode: str
    kind: str  # blob | commit (a submodule link)
    oid: str
    path: str


def open_repository(git_dir: Path) -> pygit2.Repository:
    """The repository whose git directory is ``git_dir`` (bare, or a work tree's ``.git``)."""
    try:
        return pygit2.Repository(str(git_dir), flags=pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except (pygit2.GitError, KeyError) as error:
        raise GitError(f"cannot open git repository {git_dir}: {error}", stderr=str(error)) from error


def _commit(repo: pygit2.Repository, oid: str) -> pygit2.Commit | None:
    """The commit ``oid`` names (a full id), or None when the repository has no such commit."""
    try:
        found = repo.get(oid)
    except (ValueError, pygit2.GitError):
        return None
    return found if isinstance(found, pygit2.Commit) else None


def _ref(repo: pygit2.Repository, ref: str) -> pygit2.Commit:
    try:
        target = repo.references[ref].resolve().target
    except (KeyError, pygit2.GitError) as error:
        raise GitError(f"no ref {ref} in {repo.path}", stderr=f"unknown revision {ref}") from error
    commit = _commit(repo, str(target))
    if commit is None:
        raise GitError(f"{ref} in {repo.path} does not name a commit", stderr=f"unknown revision {ref}")
    return commit


def ancestry(git_dir: Path, commit: str, ref: str) -> bool | None:
    """Whether the full commit id ``commit`` is reachable from ``ref``; None when the repository has
    no such commit at all (``tools.git.ancestry``'s answer, without a process)."""
    repo = open_repository(git_dir)
    found = _commit(repo, commit)
    if found is None:
        return None
    tip = _ref(repo, ref)
    return tip.id == found.id or repo.descendant_of(tip.id, found.id)


def commit_time(git_dir: Path, commit: str) -> int:
    """The committer time (seconds since the epoch) of the full commit id ``commit``."""
    found = _commit(open_repository(git_dir), commit)
    if found is None:
        raise GitError(f"no commit {commit} in {git_dir}", stderr=f"unknown revision {commit}")
    return int(found.commit_time)


def first_parent_line(git_dir: Path, revision: str) -> Iterator[pygit2.Commit]:
    """The commits of ``revision``'s first-parent line, newest first (``revision``: a ref or full id)."""
    repo = open_repository(git_dir)
    commit = _ref(repo, revision) if revision.startswith("refs/") else _commit(repo, revision)
    if commit is None:
        raise GitError(f"no commit {revision} in {git_dir}", stderr=f"unknown revision {revision}")
    while True:
        yield commit
        if not commit.parent_ids:
            return
        commit = commit.parents[0]


def first_parent_history(git_dir: Path, commit: str) -> list[str]:
    """The first-parent line ending at ``commit``, oldest first."""
    return [str(c.id) for c in first_parent_line(git_dir, commit)][::-1]


def newest_before(git_dir: Path, ref: str, when: int) -> str | None:
    """The newest commit on ``ref``'s first-parent line whose committer time is at or before ``when``
    (``git rev-list --first-parent --before=@when --max-count=1``); None when every one is newer."""
    for commit in first_parent_line(git_dir, ref):
        if commit.commit_time <= when:
            return str(commit.id)
    return None


def reachable(git_dir: Path, ref: str) -> Iterator[str]:
    """Every commit reachable from ``ref`` (all parents), each once."""
    repo = open_repository(git_dir)
    for commit in repo.walk(_ref(repo, ref).id):
        yield str(commit.id)


def has_object(git_dir: Path, prefix: str) -> bool:
    """Whether ``prefix`` (4-40 hex digits) names exactly one commit of the repository."""
    repo = open_repository(git_dir)
    try:
        return isinstance(repo.revparse_single(prefix), pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        return False


@dataclass(frozen=True)
class TreeFile:
    """One entry of a commit's tree with its content (``None`` for a submodule link)."""

    entry: TreeEntry
    data: bytes | None


def tree_files(git_dir: Path, revision: str, directory: str = "") -> list[TreeFile]:
    """Every file of the tree of ``revision`` (a commit id, or a branch), recursively, in git's order
    (``ls-tree -r`` and the blobs); with ``directory``, only those below it, paths relative to it (none
    when it is no directory there)."""
    repo = open_repository(git_dir)
    try:
        found = repo.revparse_single(revision).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError) as error:
        raise GitError(f"no commit {revision} in {git_dir}", stderr=f"unknown revision {revision}") from error
    tree = found.tree
    if directory:
        try:
            below = tree[directory]
        except KeyError:
            return []
        if not isinstance(below, pygit2.Tree):
            return []
        tree = below
    files: list[TreeFile] = []
    _walk_tree(repo, tree, "", files)
    return files


def _walk_tree(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str, out: list[TreeFile]) -> None:
    for item in tree:
        path = prefix + (item.name or "")
        mode = item.filemode
        if mode == _TREE:
            subtree = repo[item.id]
            assert isinstance(subtree, pygit2.Tree)
            _walk_tree(repo, subtree, path + "/", out)
        elif mode == _GITLINK:
            out.append(TreeFile(TreeEntry(f"{mode:06o}", "commit", str(item.id), path), None))
        else:
            blob = repo[item.id]
            assert isinstance(blob, pygit2.Blob)
            out.append(TreeFile(TreeEntry(f"{mode:06o}", "blob", str(item.id), path), blob.data))


def export_tree(work_tree: Path, revision: str, directory: str, dest: Path) -> None:
    """Write the files below ``directory`` (relative to the work tree's root, "" for all) as they were at
    ``revision`` into ``dest``: regular and executable files only (no symlinks or submodules), so
    nothing written can point out of ``dest``."""
    for item in tree_files(git_dir_of(work_tree), revision, directory.strip("/.") and directory.strip("/")):
        entry = item.entry
        if item.data is None or entry.mode not in ("100644", "100755") or ".." in entry.path.split("/"):
            continue
        path = dest / entry.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.data)
        if entry.mode == "100755":
            path.chmod(0o755)


# --- mirrors: creating and fetching ------------------------------------------------------------------


def init_bare(path: Path, *, head: str, config: Mapping[str, str]) -> None:
    """An empty bare repository at ``path`` (which may exist, empty), HEAD on branch ``head``, with
    ``config`` written into it."""
    try:
        repo = pygit2.init_repository(str(path), bare=True, initial_head=head)
        for key, value in config.items():
            repo.config[key] = value
    except pygit2.GitError as error:
        raise GitError(f"cannot create git repository {path}: {error}", stderr=str(error)) from error


def config_value(git_dir: Path, key: str) -> str | None:
    """The repository's own setting ``key`` (its config file; not the user's), or None when unset."""
    try:
        config = pygit2.Config(str(git_dir / "config"))
        if key not in config:
            return None
        return str(config[key])
    except pygit2.GitError as error:
        raise GitError(f"cannot read {git_dir / 'config'}: {error}", stderr=str(error)) from error


def fetch(git_dir: Path, remote: str, refspecs: Sequence[str], *, connect_timeout: float,
          read_timeout: float) -> set[str]:
    """Fetch ``refspecs`` from the repository's configured ``remote`` over libgit2's transports
    (smart HTTP(S) and local ``file://``); return the ref names the remote offered.

    ``connect_timeout`` bounds opening a connection and ``read_timeout`` each wait for data (libgit2's
    socket time-outs, process-wide settings, so every fetch of a process should pass the same). A
    refspec whose source the remote does not offer fetches nothing: the caller checks the result.
    Proxies come from git's configuration and the environment, as libgit2 finds them.
    """
    pygit2.settings.server_connect_timeout = max(1, round(connect_timeout * 1000))
    pygit2.settings.server_timeout = max(1, round(read_timeout * 1000))
    try:
        handle = open_repository(git_dir).remotes[remote]
        handle.fetch(list(refspecs), proxy=True)
        return {str(head.name) for head in handle.list_heads(connect=False)}
    except (pygit2.GitError, KeyError, OSError) as error:
        raise GitError(f"git fetch failed: {error}", command=["libgit2", "fetch", remote],
                       stderr=str(error)) from error


# --- a scratch history for rpmautospec ----------------------------------------------------------------


class _MemoryObjects(pygit2.OdbBackend):
    """An object store in memory: what a scratch history writes never touches the disk."""

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[str, tuple[int, bytes]] = {}

    def read_cb(self, oid: pygit2.Oid) -> tuple[int, bytes]:
        return self.objects[str(oid)]

    def read_prefix_cb(self, oid: pygit2.Oid) -> tuple[int, bytes, pygit2.Oid]:
        found = self._match(oid)
        kind, data = self.objects[found]
        return kind, data, pygit2.Oid(hex=found)

    def read_header_cb(self, oid: pygit2.Oid) -> tuple[int, int]:
        kind, data = self.objects[str(oid)]
        return kind, len(data)

    def exists_cb(self, oid: pygit2.Oid) -> bool:
        return str(oid) in self.objects

    def exists_prefix_cb(self, oid: pygit2.Oid) -> pygit2.Oid:
        return pygit2.Oid(hex=self._match(oid))

    def _match(self, oid: pygit2.Oid) -> str:
        """The one object whose id starts with the prefix ``oid`` holds (pygit2 passes a short id padded
        with zeros, without its length: the prefix is read as the id without its trailing zeros)."""
        full = str(oid)
        if full in self.objects:
            return full
        prefix = full.rstrip("0")
        found = [key for key in self.objects if key.startswith(prefix)]
        if not found:
            raise KeyError(full)
        if len(found) > 1:
            raise ValueError(f"{prefix} is ambiguous")
        return found[0]

    def write_cb(self, oid: pygit2.Oid, data: bytes, kind: int) -> None:
        self.objects[str(oid)] = (kind, bytes(data))

    def refresh_cb(self) -> None:
        pass

    def __iter__(self) -> Iterator[pygit2.Oid]:
        return (pygit2.Oid(hex=oid) for oid in list(self.objects))


def scratch_repository(alternates: Path | None = None) -> pygit2.Repository:
    """A repository with no directory: objects written to it stay in memory, and it reads those of
    ``alternates`` (another repository's ``objects`` directory) as its own.

    A history rebuilt for one component's release numbers lives as long as one rpmautospec call;
    a repository on disk would cost a directory per object fan-out, created and removed again.
    """
    odb = pygit2.Odb()
    odb.add_backend(_MemoryObjects(), 1000)  # the highest priority: writes go here
    if alternates is not None:
        odb.add_disk_alternate(str(alternates))
    repo = pygit2.Repository()
    repo.set_odb(odb)
    return repo


def write_work_tree(repo: pygit2.Repository, directory: Path) -> str:
    """The tree object of every file below ``directory`` but ``.git`` (what ``git add -A --force`` and
    ``write-tree`` make): regular files (executable by the owner's bit), symlinks and directories,
    empty directories left out. Returns the tree's id."""
    return _write_tree(repo, directory, skip=".git") or empty_tree(repo)


def _write_tree(repo: pygit2.Repository, directory: Path, *, skip: str | None = None) -> str | None:
    builder = repo.TreeBuilder()
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name == skip:
                continue
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                builder.insert(entry.name, repo.create_blob(os.fsencode(os.readlink(entry.path))), FileMode.LINK)
            elif stat.S_ISDIR(info.st_mode):
                subtree = _write_tree(repo, Path(entry.path))
                if subtree is not None:
                    builder.insert(entry.name, subtree, FileMode.TREE)
            elif stat.S_ISREG(info.st_mode):
                mode = FileMode.BLOB_EXECUTABLE if info.st_mode & stat.S_IXUSR else FileMode.BLOB
                builder.insert(entry.name, repo.create_blob_fromdisk(entry.path), mode)
    return str(builder.write()) if len(builder) else None


def read_commit(repo: pygit2.Repository, commit: str) -> bytes:
    """The raw commit object ``commit`` (from the repository or its alternates)."""
    kind, data = repo.odb.read(commit)
    if kind != ObjectType.COMMIT:
        raise GitError(f"{commit} is not a commit", stderr=f"unknown revision {commit}")
    return bytes(data)


def write_commit(repo: pygit2.Repository, raw: bytes) -> str:
    """Store a raw commit object; return its id."""
    return str(repo.odb.write(ObjectType.COMMIT, raw))


def empty_tree(repo: pygit2.Repository) -> str:
    return str(repo.odb.write(ObjectType.TREE, b""))
