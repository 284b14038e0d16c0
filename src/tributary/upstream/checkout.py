"""Put an upstream component's dist-git files, at the chosen commit, into a directory.

The tree is written from git's objects (read in process, ``tools.gitlib``), not through a checkout: no
``.git`` is left behind, no index is shared between processes using one mirror, and no
``.gitattributes`` filter (eol conversion, LFS smudge, ``export-subst``) alters a byte, so the files
are exactly what upstream committed. Lookaside tarballs are not fetched here: render never needs them
(see ``lookaside.fetch_lookaside`` for the build).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tributary.config import Project, ResolvedComponent
from tributary.errors import PathEscapeError
from tributary.fsutil import check_relative, resolve_inside
from tributary.tools import gitlib
from tributary.upstream.commit import LOCKED, PINNED, ChosenCommit, choose_commit
from tributary.upstream.distgit import DistGitSource, Mirror, cache_dir, dist_git_source
from tributary.upstream.errors import UpstreamError
from tributary.upstream.uri import redact

_FILE_MODES = {"100644": 0o644, "100755": 0o755}
_SYMLINK = "120000"
_GITLINK = "160000"


@dataclass(frozen=True)
class Resolution:
    """A component's upstream, resolved: where, which commit and why, and the branch head seen."""

    source: DistGitSource
    mirror: Mirror
    commit: str
    reason: str  # locked | pinned | snapshot | head
    head: str

    def to_json(self) -> dict[str, str]:
        return {"component": self.source.component, "package": self.source.package, "url": redact(self.source.url),
                "branch": self.source.branch, "commit": self.commit, "reason": self.reason, "head": self.head}


def resolve_upstream(project: Project, component: ResolvedComponent, *, locked: str | None = None,
                     refresh: bool | None = None) -> Resolution:
    """Choose the component's upstream commit, updating its mirror as needed.

    ``refresh``: True always fetches (``comp update``, ``upstream check``), False never does (offline;
    the mirror must exist), None fetches unless a full 40-digit locked or pinned commit is already on
    the mirrored branch, since such a commit pins the content and needs nothing new from upstream.
    """
    source = dist_git_source(component)
    mirror = Mirror.for_url(source.url, cache_dir(project))
    spec = component.config.spec
    pinned = spec.upstream_commit if spec else None
    snapshot = component.upstream.snapshot if component.upstream else None
    tip = _present(mirror, source.branch, locked or pinned) if refresh is not True else None
    if refresh is None:
        refresh = tip is None
    if refresh:
        tip = mirror.update(source.branch).after
    elif not mirror.exists:
        raise UpstreamError(f"component {component.name!r}: no local mirror of {redact(source.url)}",
                            hint="run again with network access to create it")
    elif tip is not None:  # the locked or pinned commit is on the mirrored branch: nothing more to ask
        wanted = (locked or pinned or "").lower()
        return Resolution(source, mirror, wanted, LOCKED if locked else PINNED, tip)
    with mirror.locked(exclusive=False):
        chosen = _choose(component, mirror, source.branch, locked=locked, pinned=pinned, snapshot=snapshot, tip=tip)
        head = tip or mirror.tip(source.branch) or chosen.commit
    return Resolution(source, mirror, chosen.commit, chosen.reason, head)


def checkout_upstream(project: Project, component: ResolvedComponent, dest: Path, *, locked: str | None = None,
                      refresh: bool | None = None) -> Resolution:
    """Write the component's upstream files into ``dest``, spec renamed to ``<component>.spec``."""
    resolution = resolve_upstream(project, component, locked=locked, refresh=refresh)
    with resolution.mirror.locked(exclusive=False):
        export_tree(resolution.mirror.path, resolution.commit, dest)
    package = resolution.source.package
    spec = dest / f"{package}.spec"
    if not spec.is_file() or spec.is_symlink():
        raise UpstreamError(
            f"component {component.name!r}: commit {resolution.commit[:12]} of {redact(resolution.source.url)} "
            f"has no {package}.spec", hint="check spec.upstream-name")
    if package != component.name:
        os.replace(spec, dest / f"{component.name}.spec")
    return resolution


def export_tree(repo: Path, commit: str, dest: Path) -> list[str]:
    """Write every file of ``commit`` below ``dest`` with its mode; return the paths written.

    Submodule links are skipped (dist-git has none worth keeping; azldev strips them). A path or
    symlink that would land outside ``dest`` is an error: a repository's tree is input, not trusted.
    """
    written = []
    for item in gitlib.tree_files(repo, commit):
        entry, data = item.entry, item.data
        if entry.mode == _GITLINK or data is None:
            continue
        relative = check_relative(entry.path, what="dist-git path")
        parent = resolve_inside(dest, str(relative.parent), what="dist-git path")
        parent.mkdir(parents=True, exist_ok=True)
        target = parent / relative.name
        if entry.mode == _SYMLINK:
            _symlink_inside(dest, target, os.fsdecode(data), entry.path)
        elif entry.mode in _FILE_MODES:
            try:
                _write_new(target, data, _FILE_MODES[entry.mode])
            except FileExistsError as error:
                raise UpstreamError(f"dist-git path {entry.path!r} is already in {dest}") from error
        else:
            raise UpstreamError(f"dist-git path {entry.path!r} has unsupported mode {entry.mode}")
        written.append(entry.path)
    return written


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path``; refuse to write through an existing file or symlink of the same name."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)  # the umask must not change what upstream committed


def _symlink_inside(root: Path, link: Path, target: str, shown: str) -> None:
    """A symlink whose target, read relative to its directory, stays inside ``root``."""
    resolved = os.path.normpath(os.path.join(link.parent, target))
    root_real = os.path.realpath(root)
    if os.path.isabs(target) or not (resolved == root_real or resolved.startswith(root_real + os.sep)):
        raise PathEscapeError(f"dist-git symlink {shown!r} -> {target!r} leads outside the component's files")
    os.symlink(target, link)


def _present(mirror: Mirror, branch: str, commit: str | None) -> str | None:
    """The mirrored branch's tip when the full commit id ``commit`` is on it (so no fetch is needed)."""
    if not commit or len(commit) != 40 or not mirror.exists:
        return None
    with mirror.locked(exclusive=False):
        tip = mirror.tip(branch)
        if tip is None or not gitlib.ancestry(mirror.path, commit.lower(), f"refs/heads/{branch}"):
            return None
        return tip


def _choose(component: ResolvedComponent, mirror: Mirror, branch: str, **how: str | None) -> ChosenCommit:
    """``choose_commit``, its errors naming the component (and, for a pin, where the pin is written)."""
    try:
        return choose_commit(mirror, branch, **how)
    except UpstreamError as error:
        if how.get("pinned") and not how.get("locked") and component.origin is not None:
            error.at(component.origin.location("spec"))  # a locked commit's place is its lock file
        error.message = f"component {component.name!r}: {error.message}"
        if error.hint:
            error.hint = error.hint.replace("trib comp update NAME", f"trib comp update {component.name}")
        raise

