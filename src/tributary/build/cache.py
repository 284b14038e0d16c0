"""Skip builds whose inputs have not changed since the outputs were made.

A build is keyed by everything that decides its bytes: the rendered component (spec, patches, the
build-options macros file, the ``sources`` manifest that pins every tarball by hash), the component's
lock fingerprint, tributary's build code version, and its buildroot: the base root's recipe (the
package set and the repositories it comes from, pinned by their metadata checksums), the repositories
its BuildRequires come from (the packages of this run it needs among them, by checksum) and the
definition's macros. The same inputs on another machine give the same key. The record also names the
exact packages installed in the root (for provenance). The outputs are remembered with their sha256,
so a deleted or altered RPM makes the build run again rather than trusting a stale stamp.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tributary.config import Project
from tributary.fsutil import atomic_write
from tributary.upstream.fingerprint import file_sha256, local_identity

BUILD_VERSION = "2"  # bump when a change of the build code changes what a build produces


class BuildCache:
    """Outputs are recorded by their path below the output directory, so a project moved or copied
    (a CI workspace restored elsewhere) finds its own packages, not those of where it was built."""

    def __init__(self, project: Project) -> None:
        self.directory = project.work_dir / "build-cache"
        self.output_dir = project.output_dir

    def key(self, rendered_dir: Path, *, fingerprint: str, buildroot: Mapping[str, object]) -> str:
        inputs = {
            "version": BUILD_VERSION,
            "rendered": local_identity(rendered_dir),
            "fingerprint": fingerprint,
            "buildroot": buildroot,
        }
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()

    def lookup(self, name: str, key: str) -> list[Path] | None:
        """The outputs of an earlier build with the same key, if they are all still there, unchanged."""
        return self.recorded(name, key=key)

    def recorded(self, name: str, *, key: str | None = None) -> list[Path] | None:
        """The outputs of the component's last recorded build (with ``key``, when given), if all are unchanged.

        Later stages (the SBOM) use it to know exactly which files the current build of a component is,
        among older builds' files left in the output directory.
        """
        stamp = self._stamp(name)
        if stamp is None:
            return None
        if key is not None and stamp.get("key") != key:
            return None
        outputs = [self.output_dir / entry["path"] for entry in stamp.get("outputs", [])]  # an absolute path stays one
        for entry, path in zip(stamp["outputs"], outputs, strict=True):
            if not path.is_file() or file_sha256(path) != entry["sha256"]:
                return None
        return outputs

    def _relative(self, path: Path) -> str:
        try:
            return Path(path).resolve().relative_to(self.output_dir.resolve()).as_posix()
        except ValueError:  # not below the output directory: named as it is
            return str(path)

    def record(self, name: str, key: str, outputs: Iterable[Path], *, toolchain: Mapping[str, str] | None = None,
               buildroot: Mapping[str, object] | None = None, worker: str | None = None) -> None:
        """Remember a build's outputs; ``toolchain`` is the host programs' versions it was built with,
        ``buildroot`` the root it was built in (repositories pinned, packages installed), ``worker``
        the Dask worker that built it (None: this machine).

        They are what provenance names later; none is part of the key (the key holds their inputs), so
        what a worker built is found in the cache by a local build, and the other way round.
        """
        entries = [{"path": self._relative(path), "sha256": file_sha256(path)} for path in sorted(outputs)]
        stamp: dict[str, object] = {"key": key, "outputs": entries, "worker": worker}
        if toolchain is not None:
            stamp["toolchain"] = dict(sorted(toolchain.items()))
        if buildroot is not None:
            stamp["buildroot"] = dict(buildroot)
        atomic_write(self.directory / f"{name}.json", json.dumps(stamp, indent=1))

    def toolchain(self, name: str) -> dict[str, str] | None:
        """The toolchain versions the component's last recorded build ran with; None if it recorded none."""
        stamp = self._stamp(name) or {}
        toolchain = stamp.get("toolchain")
        if not isinstance(toolchain, dict):
            return None
        return {str(program): str(version) for program, version in toolchain.items()}

    def worker(self, name: str) -> str | None:
        """The Dask worker that made the component's last recorded build; None when it was built here."""
        stamp = self._stamp(name) or {}
        worker = stamp.get("worker")
        return worker if isinstance(worker, str) else None

    def buildroot(self, name: str) -> dict[str, object] | None:
        """The root the component's last recorded build ran in (repositories pinned, packages installed)."""
        stamp = self._stamp(name) or {}
        buildroot = stamp.get("buildroot")
        return buildroot if isinstance(buildroot, dict) else None

    def _stamp(self, name: str) -> dict[str, Any] | None:
        try:
            stamp = json.loads((self.directory / f"{name}.json").read_text())
        except (FileNotFoundError, ValueError):
            return None
        return stamp if isinstance(stamp, dict) else None

    def forget(self, name: str) -> None:
        (self.directory / f"{name}.json").unlink(missing_ok=True)
