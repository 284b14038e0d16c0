"""What a buildroot is: repositories, a package set, macros, a release version and an architecture.

This is mock's and Koji's model. A buildroot is data, read from the distro version's mock config
(``tributary.build.buildroot.mockcfg``), from tributary's TOML form (``...native``), or made up by
default (``...choose``); tributary's code holds no distribution policy of its own. The distribution's
macros and compiler flags come from its rpm-config package, installed like any other package.
"""

from __future__ import annotations

import enum
import platform
from dataclasses import dataclass, field

from tributary.errors import Location

# The repository id tributary gives the packages the current build run has produced (mock's chain
# build and azldev's --local-repo-with-publish play the same part).
PRODUCED_REPO_ID = "tributary-produced"


class RepoSource(enum.StrEnum):
    """Where a repository's packages come from."""

    URL = "url"  # file://, http:// or https://, with repodata (a file:// directory without it is indexed)
    PRODUCED = "produced"  # the packages this build run has produced that the component needs


@dataclass(frozen=True)
class Repo:
    """One repository of a buildroot, as dnf would be told about it."""

    id: str
    baseurl: str = ""
    source: RepoSource = RepoSource.URL
    name: str = ""
    gpgcheck: bool = False
    gpgkeys: tuple[str, ...] = ()
    priority: int = 99
    excludes: tuple[str, ...] = ()
    where: Location | None = None


@dataclass(frozen=True)
class Unsupported:
    """An option of the definition that tributary does not carry out, and where it was set."""

    option: str
    where: Location | None
    why: str = "not supported"

    def __str__(self) -> str:
        place = f"{self.where}: " if self.where else ""
        return f"{place}{self.option}: {self.why}"


@dataclass(frozen=True)
class Buildroot:
    """A buildroot definition. ``packages`` may hold ``@group`` names, as mock's chroot_setup_cmd does.

    ``packages_if_built`` join the set only once a component of the project provides them (the
    default buildroot's ``system-rpm-config``). ``macros`` are written to the build user's
    ``~/.rpmmacros`` in the root (``%dist``, ``%vendor``...), exactly as mock does with
    ``config_opts['macros']``; ``source`` is the file the definition was read from.
    """

    name: str
    repos: tuple[Repo, ...]
    packages: tuple[str, ...]
    packages_if_built: tuple[str, ...] = ()
    macros: dict[str, str] = field(default_factory=dict)
    releasever: str = ""
    arch: str = field(default_factory=platform.machine)
    package_manager: str = "dnf"
    source: Location | None = None
    unsupported: tuple[Unsupported, ...] = ()
    description: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "source": str(self.source) if self.source else None,
            "arch": self.arch,
            "releasever": self.releasever,
            "packageManager": self.package_manager,
            "packages": list(self.packages),
            "packagesIfBuilt": list(self.packages_if_built),
            "macros": dict(sorted(self.macros.items())),
            "repos": [{"id": repo.id, "baseurl": repo.baseurl, "source": repo.source.value, "gpgcheck": repo.gpgcheck,
                       "gpgkeys": list(repo.gpgkeys), "priority": repo.priority} for repo in self.repos],
            "unsupported": [str(item) for item in self.unsupported],
        }


def macros_text(macros: dict[str, str]) -> str:
    """A macros file (``%name value`` lines, sorted) holding ``macros``, as mock writes ``~/.rpmmacros``.

    Names are given with or without their ``%``; a multi-line value keeps its lines joined by rpm's
    ``\\`` continuation.
    """
    lines = []
    for name in sorted(macros, key=lambda key: key.lstrip("%")):
        value = "\\\n".join(str(macros[name]).splitlines()) or "%{nil}"
        lines.append(f"%{name.lstrip('%')} {value}")
    return "\n".join(lines) + ("\n" if lines else "")
