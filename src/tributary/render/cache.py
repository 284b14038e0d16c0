"""Skip components whose render inputs and output are both unchanged since the last render.

A full render of a 7,600-component distribution takes a minute; re-rendering when nothing changed
should take seconds. For each rendered component we keep, in ``<work-dir>/render-cache/<name>.json``:

* the **input fingerprint**: a hash of the resolved configuration (canonical JSON), the render code's
  version, and the *signature* (path, size, mtime) of every input file: the component's source
  directory and every overlay's ``source`` file;
* the **output signature** of the rendered directory as it was written.

A component is skipped only when both still match, so a hand edit of the rendered tree, a touched
source, or a changed setting renders it again. An upstream (dist-git) component's source identity is the
commit its lock file names; an unlocked upstream component always renders.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tributary.config import Project, ResolvedComponent
from tributary.errors import TribError
from tributary.fsutil import atomic_write
from tributary.tools import git
from tributary.upstream.sources import current_lock

# Bump when rendering changes in a way that alters output for the same inputs.
RENDER_VERSION = "1"

Signature = list[tuple[str, int, int]]


def tree_signature(directory: Path, *, skip_dirs: frozenset[str] = frozenset({".git"})) -> Signature:
    """(relative path, size, mtime_ns) of every file below ``directory``, sorted; [] if absent."""
    result: Signature = []
    if not directory.is_dir():
        return result
    prefix = len(str(directory)) + 1
    for root, dirnames, filenames in os.walk(directory):
        dirnames[:] = [d for d in dirnames if d not in skip_dirs]
        for name in filenames:
            path = os.path.join(root, name)
            stat = os.lstat(path)
            result.append((path[prefix:], stat.st_size, stat.st_mtime_ns))
    result.sort()
    return result


def _file_signature(path: Path) -> tuple[str, int, int]:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return (str(path), -1, -1)
    return (str(path), stat.st_size, stat.st_mtime_ns)


class RenderCache:
    """Render stamps of one project; config hashes are shared by components with the same config."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.directory = project.work_dir / "render-cache"
        self._config_hashes: dict[int, str] = {}
        self._lock_commits: dict[str, str] | None = None

    def _last_lock_commit(self, name: str) -> str:
        """The project commit that last touched the component's lock: release numbers and changelogs
        depend on the lock's history, so a new commit of it must render again (one git call per run)."""
        if self._lock_commits is None:
            top = git.toplevel(self.project.root) if self.project.lock_dir.is_dir() else None
            if top is None:
                self._lock_commits = {}
            else:
                relative = os.path.relpath(self.project.lock_dir.resolve(), top)
                self._lock_commits = {os.path.basename(k)[: -len(".lock")]: v
                                      for k, v in git.last_commits(top, relative).items() if k.endswith(".lock")}
        return self._lock_commits.get(name, "")

    def fingerprint(self, component: ResolvedComponent) -> str | None:
        """The input fingerprint, or None when the component cannot be cached (upstream sources)."""
        spec = component.local_spec
        try:
            lock = current_lock(self.project, component) if spec is None else None
        except TribError:
            return None  # a stale lock: rendering reports it for this component alone
        if spec is None and (lock is None or not lock.upstream_commit):
            return None  # an unlocked upstream component: its commit is only known after asking upstream
        upstream = None if lock is None else [lock.upstream_commit, lock.input_fingerprint]
        config_hash = self._config_hashes.get(id(component.config))
        if config_hash is None:
            # pydantic's own serialisation: deterministic (field order) and much cheaper than to_json.
            config_hash = hashlib.sha256(component.config.model_dump_json().encode()).hexdigest()
            self._config_hashes[id(component.config)] = config_hash
        inputs = {
            "render": RENDER_VERSION,
            "name": component.name,
            "config": config_hash,
            "sources": tree_signature(spec.parent) if spec is not None else upstream,
            "overlaySources": [_file_signature(copied[1]) for o in component.config.overlays
                               if (copied := o.copied_file()) is not None],
            "lock": [
                _file_signature(self.project.lock_dir / f"{component.name}.lock"),
                self._last_lock_commit(component.name),
            ],
        }
        return hashlib.sha256(json.dumps(inputs, separators=(",", ":")).encode()).hexdigest()

    def is_fresh(self, component: ResolvedComponent) -> bool:
        fingerprint = self.fingerprint(component)
        if fingerprint is None:
            return False
        try:
            stamp = json.loads((self.directory / f"{component.name}.json").read_text())
        except (FileNotFoundError, ValueError):
            return False
        if stamp.get("fingerprint") != fingerprint:
            return False
        output = [tuple(entry) for entry in stamp.get("output", [])]
        return output == tree_signature(component.rendered_dir)

    def record(self, component: ResolvedComponent) -> None:
        """Remember a successful render (call after the output is in place)."""
        fingerprint = self.fingerprint(component)
        if fingerprint is None:
            return
        stamp = {"fingerprint": fingerprint, "output": tree_signature(component.rendered_dir)}
        atomic_write(self.directory / f"{component.name}.json", json.dumps(stamp, separators=(",", ":")))

    def forget(self, name: str) -> None:
        (self.directory / f"{name}.json").unlink(missing_ok=True)
