"""What the build host has: its installed packages, the runtime closure of the stage-0 seeds, and the
files, diversions and alternatives of that closure. The I/O side of stage 0, read through
``tools.dpkg``; ``plan`` turns it into RPMs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tributary.build.stage0.hostmap import HostMap
from tributary.errors import ConfigError
from tributary.tools import dpkg


@dataclass(frozen=True)
class Host:
    """The installed packages of the host's own architecture (and ``all``), by name."""

    architecture: str
    packages: dict[str, dpkg.InstalledPackage]
    providers: dict[str, tuple[str, ...]]  # a name (real or virtual) -> installed packages offering it

    @classmethod
    def read(cls) -> Host:
        arch = dpkg.architecture()
        packages = {p.name: p for p in dpkg.installed() if p.architecture in (arch, "all")}
        providers: dict[str, list[str]] = {}
        for package in packages.values():
            for name in (package.name, *package.provides):
                providers.setdefault(name, []).append(package.name)
        # A real package satisfies its own name before any package that merely provides it.
        ordered = {name: tuple(sorted(found, key=lambda p: (p != name, p))) for name, found in providers.items()}
        return cls(arch, packages, ordered)

    def satisfier(self, clause: Iterable[str]) -> str | None:
        """The installed package that satisfies a dependency clause: its first alternative that is installed."""
        for name in clause:
            found = self.providers.get(name)
            if found:
                return found[0]
        return None


@dataclass(frozen=True)
class Closure:
    """The host packages stage 0 carries, each with the packages its dependencies resolved to."""

    packages: tuple[str, ...]
    depends: dict[str, tuple[str, ...]]
    missing_optional: tuple[str, ...] = ()
    host_only: tuple[str, ...] = ()


def closure(host: Host, hostmap: HostMap) -> Closure:
    """Follow Pre-Depends and Depends from every seed the map names; host-only packages stop the walk.

    A required seed that is not installed is a ConfigError naming it (and the Debian package to
    install); a missing optional seed is noted.
    """
    seeds: list[str] = []
    missing: list[str] = []
    absent: list[str] = []
    for entry in hostmap.packages.values():
        for seed in entry.seeds:
            (seeds if seed in host.packages else missing).append(seed)
        for seed in entry.optional_seeds:
            (seeds if seed in host.packages else absent).append(seed)
    if missing:
        raise ConfigError(f"the build host lacks {', '.join(sorted(missing))}, which the stage-0 repository "
                          "repackages", where=str(hostmap.path),
                          hint=f"apt-get install {' '.join(sorted(missing))}")
    taken: dict[str, tuple[str, ...]] = {}
    skipped: set[str] = set()
    todo = sorted(set(seeds), reverse=True)
    while todo:
        name = todo.pop()
        if name in taken or name in skipped:
            continue
        if hostmap.owner(name) is None:
            skipped.add(name)
            continue
        # A clause no installed package satisfies can only come from a forced install; dpkg's own
        # consistency is the host's business, so it is passed over here.
        resolved = [found for clause in host.packages[name].depends if (found := host.satisfier(clause))]
        todo.extend(resolved)
        taken[name] = tuple(sorted(set(resolved) - {name}))
    return Closure(tuple(sorted(taken)), taken, tuple(sorted(absent)), tuple(sorted(skipped)))
