"""The input fingerprint of a component, and the hash of what decides its upstream commit.

azldev's fingerprint hashes Go structures with a reflection library no other language reproduces. Ours
is a documented canonical hash instead (version 1):

    fingerprint = "sha256:" + sha256( field_1 field_2 ... )
    field       = "<len(label)>:<label>=<len(value)>:<value>\\n"

over these fields, in this order:

1. ``config``: sha256 of the canonical JSON (sorted keys, no spaces) of the resolved component
   configuration, without the fields that do not change what is built (listed in ``EXCLUDED``);
2. ``source``: the upstream commit, or for a local spec the sha256 over sorted ``path=sha256`` lines
   of every file in the spec's directory;
3. ``manual-bump``: the lock's counter;
4. ``release-ver``: the release-ver of the component's distro version (the upstream distro's for an
   upstream component, the project target's for a local one);
5. ``overlay:<n>``: for each overlay that reads a file, ``<file name>:<sha256 of the file>``.

The *resolution* hash covers only what chooses the upstream commit (snapshot, distro, version, branch,
pin, upstream name): when it is unchanged, ``comp update`` can reuse the locked commit without asking
upstream. The snapshot enters it as the instant it names, in UTC (``2025-04-01T00:00:00Z``), so the
same moment written quoted or as a bare TOML date-time, with ``Z`` or ``+00:00`` or another offset,
hashes alike. Unlike azldev's, it leaves out the dist-git URL: that says *where* the repository is, not
*what* it holds (the locked commit id proves that), so pointing at a mirror with ``--config-file`` does
not make every lock stale.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from datetime import UTC
from pathlib import Path
from typing import Any

from tributary.config import Project, ResolvedComponent
from tributary.config.model import parse_snapshot

FINGERPRINT_VERSION = "1"

# Resolved-config fields that document or place things but do not change what is built.
EXCLUDED = {
    ("overlays", "*", "description"),
    ("overlays", "*", "metadata"),
    ("overlays", "*", "source"),
    ("spec", "path"),
    ("spec", "reason"),
    ("spec", "upstreamDistro", "snapshot"),
    ("publish",),
    ("packages", "*", "publish"),
    ("overlayFiles",),
    ("build", "failure"),
    ("build", "hints"),
    ("build", "check", "skipReason"),
    ("sourceFiles", "*", "origin", "type"),
    ("sourceFiles", "*", "origin", "uri"),
    ("sourceFiles", "*", "replaceReason"),
}


def _field(label: str, value: str) -> str:
    return f"{len(label)}:{label}={len(value)}:{value}\n"


def _digest(fields: list[tuple[str, str]]) -> str:
    return "sha256:" + hashlib.sha256("".join(_field(k, v) for k, v in fields).encode()).hexdigest()


def _prune(value: Any, path: tuple[str, ...] = ()) -> Any:
    if isinstance(value, dict):
        return {
            key: _prune(item, (*path, key))
            for key, item in value.items()
            if not _excluded((*path, key))
        }
    if isinstance(value, list):
        return [_prune(item, (*path, "*")) for item in value]
    return value


def _excluded(path: tuple[str, ...]) -> bool:
    return path in EXCLUDED


def hashed_config(component: ResolvedComponent) -> Any:
    """The resolved configuration as the fingerprint hashes it (without the ``EXCLUDED`` fields)."""
    return _prune(component.config.to_json())


def config_hash(component: ResolvedComponent) -> str:
    canonical = json.dumps(hashed_config(component), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def local_identity(directory: Path) -> str:
    """sha256 over sorted ``relative path=sha256`` lines of every file below ``directory``."""
    lines = []
    for root, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in filenames:
            path = Path(root, name)
            lines.append(f"{path.relative_to(directory).as_posix()}={file_sha256(path)}\n")
    return hashlib.sha256("".join(sorted(lines)).encode()).hexdigest()


def release_ver(project: Project, component: ResolvedComponent) -> str:
    if component.upstream is not None:
        return component.upstream.settings.release_ver
    target = project.default_distro
    return target[2].release_ver if target else ""


def input_fingerprint(
    project: Project, component: ResolvedComponent, *, upstream_commit: str | None, manual_bump: int
) -> str:
    """The fingerprint of everything that decides the component's rendered and built output."""
    spec = component.local_spec
    source = local_identity(spec.parent) if spec is not None else (upstream_commit or "")
    fields = [
        ("version", FINGERPRINT_VERSION),
        ("config", config_hash(component)),
        ("source", source),
        ("manual-bump", str(manual_bump)),
        ("release-ver", release_ver(project, component)),
    ]
    for index, overlay in enumerate(component.config.overlays):
        copied = overlay.copied_file()
        if copied is not None:
            name, path = copied
            fields.append((f"overlay:{index}", f"{name}:{file_sha256(path)}"))
    return _digest(fields)


def resolution_hash(component: ResolvedComponent) -> str | None:
    """Hash of what selects the upstream commit; None for components that are not upstream."""
    upstream = component.upstream
    if upstream is None:
        return None
    spec = component.config.spec
    return _resolution_digest(upstream.snapshot or "", upstream.distro, upstream.version,
                              upstream.settings.dist_git_branch or "", (spec.upstream_commit if spec else None) or "",
                              (spec.upstream_name if spec else None) or "")


@functools.lru_cache(maxsize=4096)
def _resolution_digest(snapshot: str, distro: str, version: str, branch: str, pin: str, upstream_name: str) -> str:
    """Thousands of components share their resolution inputs: each distinct set is hashed once."""
    return _digest([("snapshot", canonical_snapshot(snapshot) if snapshot else ""), ("distro", distro),
                    ("version", version), ("branch", branch), ("pin", pin), ("upstream-name", upstream_name)])


@functools.lru_cache(maxsize=64)
def canonical_snapshot(snapshot: str) -> str:
    """The instant a snapshot names, as RFC 3339 in UTC with ``Z`` (fractions only when present)."""
    moment = parse_snapshot(snapshot).astimezone(UTC)
    fraction = f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def tracks_head(component: ResolvedComponent) -> bool:
    """No snapshot and no pin: the component follows its branch head and must always re-resolve."""
    spec = component.config.spec
    return component.upstream is not None and not component.upstream.snapshot and not (spec and spec.upstream_commit)
