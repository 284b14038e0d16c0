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

A component that failed for a *lasting* reason (its overlay does not apply, its upstream repository
does not exist, its lock file is damaged) is stamped too, with the error: while its inputs and its
``RENDER_FAILED`` output are unchanged, the failure is reported again without rendering, which would
only fail the same way and, for an upstream component, ask the network again. This holds for unlocked
components as well (their inputs are then the resolution settings and the dist-git location). A
*temporary* failure (network, time-out) is never stamped, so the next run tries again; ``--force``
retries everything.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from tributary.config import Project, ResolvedComponent
from tributary.fsutil import atomic_write
from tributary.tools import git
from tributary.upstream.fingerprint import resolution_hash

# Bump when rendering changes in a way that alters output for the same inputs, or the stamp's meaning.
RENDER_VERSION = "2"

Signature = list[tuple[str, int, int]]


@dataclass(frozen=True)
class Stamp:
    """A render that still holds: ``error`` is None for a success, else the remembered failure."""

    error: str | None


def tree_signature(directory: Path, *, skip_dirs: frozenset[str] = frozenset({".git"})) -> Signature:
    """(relative path, size, mtime_ns) of every file below ``directory``, sorted; [] if absent."""
    result: Signature = []
    pending = [(str(directory), "")]
    while pending:
        path, prefix = pending.pop()
        try:
            entries = os.scandir(path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in skip_dirs:
                        pending.append((entry.path, f"{prefix}{entry.name}/"))
                    continue
                stat = entry.stat(follow_symlinks=False)
                result.append((prefix + entry.name, stat.st_size, stat.st_mtime_ns))
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

    def fingerprint(self, component: ResolvedComponent) -> tuple[str, bool]:
        """The input fingerprint, and whether a successful render may be trusted to stay valid with it.

        A success is trusted for local specs and locked upstream components, whose inputs are all on
        this machine; not for an unlocked upstream component (its commit is only known after asking
        upstream). Their fingerprint still serves to remember a lasting failure. The lock enters as its
        bytes, not parsed: a render that succeeded with exactly these bytes and this configuration (its
        resolution inputs included, so a stale lock cannot pass) found the lock good then.
        """
        spec = component.local_spec
        lock_file = os.path.join(self.project.lock_dir, f"{component.name}.lock")
        try:
            with open(lock_file, "rb") as handle:
                lock = hashlib.sha256(handle.read()).hexdigest()
        except FileNotFoundError:
            lock = None
        sources: list[object]
        if spec is not None:
            sources = list(tree_signature(spec.parent))
            trusted = True
        else:
            upstream = component.upstream
            base = (upstream.distro_settings.dist_git_base_uri or "") if upstream else ""
            sources = [resolution_hash(component) or "", base]
            trusted = lock is not None
        config_hash = self._config_hashes.get(id(component.config))
        if config_hash is None:
            # pydantic's own serialisation: deterministic (field order) and much cheaper than to_json.
            config_hash = hashlib.sha256(component.config.model_dump_json().encode()).hexdigest()
            self._config_hashes[id(component.config)] = config_hash
        inputs = {
            "render": RENDER_VERSION,
            "name": component.name,
            "config": config_hash,
            "sources": sources,
            "overlaySources": [_file_signature(copied[1]) for o in component.config.overlays
                               if (copied := o.copied_file()) is not None],
            "lock": [lock, self._last_lock_commit(component.name)],
        }
        return hashlib.sha256(json.dumps(inputs, separators=(",", ":")).encode()).hexdigest(), trusted

    def recall(self, component: ResolvedComponent, rendered_dir: Path | None = None) -> Stamp | None:
        """The last render's stamp, if it still holds: same inputs, rendered output (``rendered_dir``,
        when the caller has it at hand) untouched since.

        A stamp with an ``error`` is a remembered lasting failure; without one, a trusted success.
        """
        fingerprint, trusted = self.fingerprint(component)
        try:
            stamp = json.loads((self.directory / f"{component.name}.json").read_text())
        except (FileNotFoundError, ValueError):
            return None
        if not isinstance(stamp, dict) or stamp.get("fingerprint") != fingerprint:
            return None
        error = stamp.get("error")
        if error is None and not trusted:
            return None
        output = [tuple(entry) for entry in stamp.get("output", [])]
        if output != tree_signature(rendered_dir or component.rendered_dir):
            return None
        return Stamp(str(error) if error is not None else None)

    def is_fresh(self, component: ResolvedComponent) -> bool:
        """Whether the component rendered successfully from exactly these inputs, output untouched."""
        stamp = self.recall(component)
        return stamp is not None and stamp.error is None

    def record(self, component: ResolvedComponent, *, error: str | None = None) -> None:
        """Remember a render (call after the output is in place): a success, or a lasting failure."""
        fingerprint, trusted = self.fingerprint(component)
        if error is None and not trusted:
            self.forget(component.name)
            return
        stamp: dict[str, object] = {"fingerprint": fingerprint, "output": tree_signature(component.rendered_dir)}
        if error is not None:
            stamp["error"] = error
        atomic_write(self.directory / f"{component.name}.json", json.dumps(stamp, separators=(",", ":")))

    def forget(self, name: str) -> None:
        (self.directory / f"{name}.json").unlink(missing_ok=True)
