"""The stage-0 plan: which RPMs to make, and what each holds, requires and provides.

Built from the host map, the closure and the host's file lists. Paths are put in Fedora's merged-/usr
form (``/bin/bash`` becomes ``/usr/bin/bash``); a path dpkg diverted is taken from where it really is;
an alternatives link (``/usr/bin/awk`` -> ``/etc/alternatives/awk`` -> ``/usr/bin/gawk``) becomes a
direct link in the RPM holding its target. Files the map writes (``links``, ``files``, ``dirs``) win
over a host file at the same path, in every RPM. Requires come from the Debian dependencies, each
mapped to the RPM that carries the package satisfying it, plus the map's own; rpm's generators add
the soname, script-interpreter, perl(...) and pkgconfig(...) ones when the RPMs are built.
"""

from __future__ import annotations

import enum
import fnmatch
import os
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from tributary.build.stage0.host import Closure, Host
from tributary.build.stage0.hostmap import HostMap
from tributary.errors import ConfigError
from tributary.tools import dpkg

# Top-level directories that are links into /usr on a merged-/usr system (Debian 12 and 13, Fedora).
MERGED = ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
# An SPDX reference (valid in SBOMs) to the licence text Debian keeps for every package it ships,
# /usr/share/doc/<package>/copyright: stage-0 packages carry the host's files under their terms.
LICENSE = "LicenseRef-Debian-copyright"
_RPM_VERSION_UNSAFE = re.compile(r"[^A-Za-z0-9._+~^]")


class Kind(enum.Enum):
    FILE = "file"  # a host file, hard-linked (or copied) into the build root
    DIR = "dir"
    LINK = "link"
    TEXT = "text"  # written from the map


@dataclass(frozen=True)
class Entry:
    """One path of an RPM."""

    path: str
    kind: Kind
    source: str | None = None  # the host path (FILE, and DIR/LINK taken from the host)
    target: str | None = None  # LINK
    text: str | None = None  # TEXT
    mode: int | None = None  # DIR and TEXT from the map; others keep the host's
    config: bool = False


@dataclass(frozen=True)
class RpmPlan:
    """One RPM to build."""

    name: str
    epoch: int | None
    version: str
    release: str
    summary: str
    sources: tuple[tuple[str, str], ...]  # (Debian package, version)
    entries: tuple[Entry, ...]
    requires: tuple[str, ...]
    provides: tuple[str, ...]
    scriptlets: tuple[tuple[str, str], ...]
    missing: tuple[str, ...] = ()  # paths dpkg lists that are not on the host (path-excluded, deleted)

    @property
    def evr(self) -> str:
        return f"{self.epoch}:{self.version}-{self.release}" if self.epoch else f"{self.version}-{self.release}"


@dataclass(frozen=True)
class Plan:
    rpms: tuple[RpmPlan, ...]
    closure: Closure
    unnamed: tuple[str, ...] = field(default=())  # Debian packages that went into hostmap.unnamed

    def rpm(self, name: str) -> RpmPlan:
        return next(r for r in self.rpms if r.name == name)


def usr_merged(path: str) -> str:
    """``/bin/x`` -> ``/usr/bin/x``: where Fedora's layout puts a path Debian lists under a top-level link."""
    for top in MERGED:
        if path == top or path.startswith(top + "/"):
            return "/usr" + path
    return path


def rpm_version(debian_version: str) -> tuple[str, str]:
    """A Debian version as RPM (version, Debian revision): the epoch dropped, unsafe characters as ``_``."""
    upstream = debian_version.split(":", 1)[-1]
    upstream, _, revision = upstream.rpartition("-") if "-" in upstream else (upstream, "", "")
    return _RPM_VERSION_UNSAFE.sub("_", upstream), _RPM_VERSION_UNSAFE.sub("_", revision)


Lstat = Callable[[str], os.stat_result | None]


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None


def make_plan(hostmap: HostMap, host: Host, closure: Closure, files: Mapping[str, Sequence[str]], *,
              diversions: Sequence[dpkg.Diversion] = (), alternatives: Sequence[dpkg.Alternative] = (),
              lstat: Lstat = _lstat, readlink: Callable[[str], str] = os.readlink) -> Plan:
    """The RPMs for ``closure``; ``files`` are dpkg's lists of the closure's packages."""
    members: dict[str, list[str]] = {}
    for name in closure.packages:
        owner = hostmap.owner(name)
        assert owner is not None  # host-only packages are not in the closure
        members.setdefault(owner, []).append(name)
    generated = _generated_paths(hostmap, members)
    layout = _filesystem_paths(hostmap)
    diverted = {d.path: d for d in diversions}

    entries: dict[str, dict[str, Entry]] = {}
    missing: dict[str, list[str]] = {}
    merged_from: dict[str, set[str]] = {}
    for rpm_name, debs in members.items():
        found = entries.setdefault(rpm_name, {})
        for deb in debs:
            conffiles = set(host.packages[deb].conffiles)
            for listed in files.get(deb, ()):
                diversion = diverted.get(listed)
                source = diversion.to if diversion is not None and diversion.by != deb else listed
                path = usr_merged(source)
                if path in generated or path in found or _excluded(hostmap, path) or path == "/usr":
                    continue
                info = lstat(source)
                if info is None:
                    missing.setdefault(rpm_name, []).append(path)
                    continue
                if stat.S_ISDIR(info.st_mode):
                    if path in layout:
                        continue
                    found[path] = Entry(path, Kind.DIR, source=source)
                elif stat.S_ISLNK(info.st_mode):
                    found[path] = Entry(path, Kind.LINK, source=source, target=readlink(source))
                else:
                    found[path] = Entry(path, Kind.FILE, source=source, config=listed in conffiles)
                if source != path and not stat.S_ISDIR(info.st_mode):
                    merged_from.setdefault(rpm_name, set()).add(source)

    # Alternatives: the link goes where its current target is packaged.
    owner_of = {path: rpm for rpm, found in entries.items() for path, entry in found.items() if entry.kind != Kind.DIR}
    for alternative in alternatives:
        for link, target in alternative.links:
            path, target_path = usr_merged(link), usr_merged(target)
            holder = owner_of.get(target_path)
            if holder is None or path in generated or _excluded(hostmap, path) or path in owner_of:
                continue
            entries[holder][path] = Entry(path, Kind.LINK, target=target)
            owner_of[path] = holder

    rpms = [_rpm(hostmap, host, closure, name, members, entries.get(name, {}),
                 sorted(merged_from.get(name, ())), missing.get(name, []))
            for name in [*hostmap.packages, hostmap.unnamed] if name in members or _standalone(hostmap, name)]
    _check_expected(hostmap, rpms)
    return Plan(tuple(rpms), closure, tuple(members.get(hostmap.unnamed, ())))


def _check_expected(hostmap: HostMap, rpms: Sequence[RpmPlan]) -> None:
    """Every path the map expects an RPM to hold is there: a ConfigError naming the missing ones."""
    held = {rpm.name: {entry.path for entry in rpm.entries} for rpm in rpms}
    missing = [f"{path} ({name})" for name, entry in hostmap.packages.items()
               for path in entry.expect if path not in held.get(name, set())]
    if missing:
        raise ConfigError(f"the build host's packages lack {', '.join(missing)}, which the stage-0 repository "
                          "must carry", where=str(hostmap.path),
                          hint="install the Debian package that has it, or correct the host map")


def _standalone(hostmap: HostMap, name: str) -> bool:
    """An RPM of the map's data alone (its own version, or another RPM's)."""
    entry = hostmap.packages.get(name)
    return entry is not None and (entry.version is not None or entry.same_version_as is not None)


def _filesystem_paths(hostmap: HostMap) -> set[str]:
    """The directories and links of the layout package: no other RPM owns them."""
    entry = hostmap.packages.get("filesystem")
    return {path for path, _mode in entry.directories} | set(entry.links) if entry else set()


def _excluded(hostmap: HostMap, path: str) -> bool:
    if any(fnmatch.fnmatchcase(path, pattern) for pattern in hostmap.keep):
        return False
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in hostmap.exclude)


def _generated_paths(hostmap: HostMap, members: Mapping[str, list[str]]) -> set[str]:
    paths: set[str] = set()
    for name, entry in hostmap.packages.items():
        if name in members or _standalone(hostmap, name):
            paths |= set(entry.links) | set(entry.files) | {path for path, _mode in entry.directories}
    return paths


def _version(hostmap: HostMap, host: Host, name: str, members: Mapping[str, list[str]]) -> tuple[str, str]:
    """(version, Debian revision) of the RPM ``name``, as the map says where it comes from."""
    entry = hostmap.packages.get(name)
    if entry is not None and entry.version is not None:
        return entry.version, ""
    if entry is not None and entry.same_version_as is not None:
        return _version(hostmap, host, entry.same_version_as, members)
    pattern = entry.version_from if entry is not None and entry.version_from else (entry.debian[0] if entry else "")
    chosen = next((host.packages[deb].version for deb in sorted(members.get(name, ()))
                   if pattern and re.fullmatch(pattern, deb)), None)
    return rpm_version(chosen) if chosen is not None else ("1", "")


def _rpm(hostmap: HostMap, host: Host, closure: Closure, name: str, members: Mapping[str, list[str]],
         found: dict[str, Entry], merged_from: list[str], missing: list[str]) -> RpmPlan:
    entry = hostmap.packages.get(name)
    debs = members.get(name, [])
    sources = tuple((deb, host.packages[deb].version) for deb in sorted(debs))
    version, revision = _version(hostmap, host, name, members)
    release = f"{hostmap.release_prefix}.{revision}" if revision else hostmap.release_prefix

    items = dict(found)
    if entry is not None:
        for path, mode in entry.directories:
            items[path] = Entry(path, Kind.DIR, mode=mode)
        for path, target in entry.links.items():
            items[path] = Entry(path, Kind.LINK, target=target)
        for path, text in entry.files.items():
            body = text.lstrip("\n")
            items[path] = Entry(path, Kind.TEXT, text=body, mode=0o755 if body.startswith("#!") else 0o644)

    requires: set[str] = set(entry.requires if entry else ())
    for deb in debs:
        for dependency in closure.depends.get(deb, ()):
            owner = hostmap.owner(dependency)
            if owner is not None and owner != name:
                requires.add(owner)
    provides = set(entry.provides if entry else ())
    provides |= set(merged_from)  # /bin/x where Debian put x, for scripts naming that path
    provides = {p.replace("{version}", version) for p in provides}
    summary = (entry.summary if entry and entry.summary else
               f"{name}: {', '.join(debs)} from the build host" if debs else name)
    return RpmPlan(
        name=name,
        epoch=entry.epoch if entry else None,
        version=version,
        release=release,
        summary=summary,
        sources=sources,
        entries=tuple(sorted(items.values(), key=lambda e: e.path)),
        requires=tuple(sorted(requires - {name})),
        provides=tuple(sorted(provides)),
        scriptlets=tuple(sorted(entry.scriptlets.items())) if entry else (),
        missing=tuple(sorted(missing)),
    )
