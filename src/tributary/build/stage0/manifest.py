"""``stage0.json``: what a stage-0 repository holds and where each RPM came from. Its one reader.

Written into the repository beside ``repodata/``; a cached repository is only used when its manifest
reads back whole and names the same cache key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tributary.errors import ConfigError
from tributary.fsutil import atomic_write

FILENAME = "stage0.json"
FORMAT = 1


@dataclass(frozen=True)
class Source:
    """A host package and its exact installed version."""

    name: str
    version: str


@dataclass(frozen=True)
class PackageRecord:
    """One RPM of the repository."""

    name: str
    evr: str
    arch: str
    location: str  # relative to the repository
    sources: tuple[Source, ...]
    dropped_requires: tuple[str, ...] = ()  # generated requirements nothing in the repository meets
    missing_paths: int = 0  # paths the host's package lists that are not on the host


@dataclass(frozen=True)
class Manifest:
    key: str
    arch: str
    host_arch: str
    hostmap_sha256: str
    source_date_epoch: int
    signed_by: str
    groups: dict[str, tuple[str, ...]]
    packages: tuple[PackageRecord, ...]
    unnamed: tuple[str, ...]  # host packages carried in the map's catch-all RPM
    host_only: tuple[str, ...]  # host packages of the closure left out, as the map says
    missing_optional: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.packages)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "key": self.key,
            "arch": self.arch,
            "hostArch": self.host_arch,
            "hostmapSha256": self.hostmap_sha256,
            "sourceDateEpoch": self.source_date_epoch,
            "signedBy": self.signed_by,
            "groups": {name: list(members) for name, members in sorted(self.groups.items())},
            "packages": [{
                "name": p.name, "evr": p.evr, "arch": p.arch, "location": p.location,
                "sources": [{"name": s.name, "version": s.version} for s in p.sources],
                "droppedRequires": list(p.dropped_requires), "missingPaths": p.missing_paths,
            } for p in self.packages],
            "unnamed": list(self.unnamed),
            "hostOnly": list(self.host_only),
            "missingOptional": list(self.missing_optional),
        }

    def write(self, directory: Path) -> Path:
        path = directory / FILENAME
        atomic_write(path, json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
        return path


def read(path: Path) -> Manifest:
    """The manifest at ``path``; a ConfigError naming the file when it is missing or malformed."""
    try:
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
        return Manifest(
            key=data["key"],
            arch=data["arch"],
            host_arch=data["hostArch"],
            hostmap_sha256=data["hostmapSha256"],
            source_date_epoch=int(data["sourceDateEpoch"]),
            signed_by=data["signedBy"],
            groups={name: tuple(members) for name, members in data["groups"].items()},
            packages=tuple(PackageRecord(
                name=p["name"], evr=p["evr"], arch=p["arch"], location=p["location"],
                sources=tuple(Source(s["name"], s["version"]) for s in p["sources"]),
                dropped_requires=tuple(p.get("droppedRequires", ())), missing_paths=int(p.get("missingPaths", 0)),
            ) for p in data["packages"]),
            unnamed=tuple(data["unnamed"]),
            host_only=tuple(data["hostOnly"]),
            missing_optional=tuple(data["missingOptional"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        reason = error.strerror if isinstance(error, OSError) else f"malformed ({error})"
        raise ConfigError(f"cannot read the stage-0 manifest: {reason}", where=str(path)) from None
