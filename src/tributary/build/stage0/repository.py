"""The stage-0 repository: made once per host state, cached, signed, and handed to the build.

Layout of ``<cache_dir>/<key>/``::

    Packages/<first letter>/<name>-<version>-<release>.<arch>.rpm   signed RPMs
    repodata/repomd.xml, repomd.xml.asc, <sha>-comps.xml ...         metadata, signed; comps groups
    RPM-GPG-KEY-stage0                                               the public key that signed both
    stage0.json                                                      the manifest (``manifest``)

``key`` is a digest of the host map's content, the exact name, architecture and version of every host
package the repository takes, and this module's format: a host upgrade (or an edited map) gives a new
key, hence a new repository. A repository is made in ``.<key>.new-XXXX/`` and renamed into place
whole; concurrent callers take ``.lock`` (one builds, the others wait, up to a time-out, then find
it made); an interrupted build leaves only its staging directory, removed by the next build.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from xml.sax.saxutils import escape

from tributary.build.stage0 import hostmap as hostmap_module
from tributary.build.stage0 import manifest as manifest_module
from tributary.build.stage0 import plan as plan_module
from tributary.build.stage0 import rpms
from tributary.build.stage0.host import Closure, Host, closure
from tributary.build.stage0.hostmap import HostMap
from tributary.build.stage0.manifest import Manifest, PackageRecord, Source
from tributary.errors import ConfigError, TribError
from tributary.fsutil import atomic_write, exclusive_lock, replace_directory
from tributary.tools import dpkg, gpg, rpm, rpmsign
from tributary.tools.createrepo import write_repodata

FORMAT = 2
"""Bump when a change here makes different RPMs from the same host: it is part of the cache key."""
KEY_FILE = "RPM-GPG-KEY-stage0"
KEYRING = "gnupg"
THROWAWAY_UID = "tributary stage-0 repository (host-local) <stage0@tributary.invalid>"
LOCK_TIMEOUT = 900.0
"""Seconds a caller waits for another process making the same cache's repository."""

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``: a step's name and how far it is."""


class Stage0Error(TribError):
    """The stage-0 repository could not be made or used."""

    exit_code = 1


class Signer(Protocol):
    """A signing key as ``tributary.repo.sign.SigningKey`` describes one."""

    @property
    def gnupghome(self) -> Path: ...

    @property
    def fingerprint(self) -> str: ...

    @property
    def created(self) -> int: ...


@dataclass(frozen=True)
class _Key:
    gnupghome: Path
    fingerprint: str
    created: int


@dataclass(frozen=True)
class Stage0Repo:
    """A made stage-0 repository."""

    path: Path
    key: str
    gpg_key: Path
    manifest: Manifest

    @property
    def url(self) -> str:
        return self.path.absolute().as_uri()

    @property
    def packages(self) -> tuple[str, ...]:
        return self.manifest.names

    def to_json(self) -> dict[str, object]:
        return {"path": str(self.path), "url": self.url, "key": self.key, "gpgKey": str(self.gpg_key),
                "signedBy": self.manifest.signed_by, "packages": len(self.packages),
                "groups": sorted(self.manifest.groups)}


def default_cache_dir(work_dir: Path | None) -> Path:
    """Where the stage-0 repositories live: ``$TRIB_CACHE_DIR/stage0`` when set, else
    ``<work-dir>/cache/stage0`` of the project, else ``$XDG_CACHE_HOME/tributary/stage0``."""
    if os.environ.get("TRIB_CACHE_DIR"):
        return Path(os.environ["TRIB_CACHE_DIR"]) / "stage0"
    if work_dir is not None:
        return work_dir / "cache" / "stage0"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "tributary" / "stage0"


def cache_key(hostmap: HostMap, host: Host, taken: Closure, arch: str) -> str:
    """The digest naming the repository this host state gives."""
    state = {"format": FORMAT, "arch": arch, "hostmap": hostmap.digest,
             "packages": [[name, host.packages[name].architecture, host.packages[name].version]
                          for name in taken.packages]}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:32]


def ensure_stage0(cache_dir: Path, *, arch: str | None = None, signing: Signer | None = None,
                  progress: Progress | None = None, hostmap_path: Path | None = None,
                  lock_timeout: float = LOCK_TIMEOUT) -> Stage0Repo:
    """The stage-0 repository for this host, made when the cache has none for its current state.

    ``signing`` is the key that signs it; None uses a throwaway key kept in ``<cache_dir>/gnupg``.
    ``arch`` must be this host's (its files are what the RPMs carry). ``hostmap_path`` replaces the
    bundled map (for tests and experiments).
    """
    machine = platform.machine()
    if arch is not None and arch != machine:
        raise ConfigError(f"the stage-0 repository carries this host's files, so it is for {machine}, not {arch}")
    hostmap = hostmap_module.load(hostmap_path or hostmap_module.DEFAULT_PATH)
    host = Host.read()
    taken = closure(host, hostmap)
    key = cache_key(hostmap, host, taken, machine)
    cache_dir = Path(cache_dir).absolute()
    found = _cached(cache_dir, key, signing)
    if found is not None:
        return found
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _lock(cache_dir / ".lock", lock_timeout):
        found = _cached(cache_dir, key, signing)
        if found is not None:
            return found
        signer = signing if signing is not None else _throwaway_key(cache_dir / KEYRING)
        try:
            repo = _make(cache_dir, key, hostmap, host, taken, machine, signer, progress)
        finally:
            if signing is None:
                gpg.stop_agent(signer.gnupghome)
        for other in cache_dir.iterdir():
            if other.is_dir() and other.name != key and (other / manifest_module.FILENAME).is_file():
                shutil.rmtree(other, ignore_errors=True)  # an earlier host state's repository
        return repo


def _cached(cache_dir: Path, key: str, signing: Signer | None) -> Stage0Repo | None:
    path = cache_dir / key
    if not (path / manifest_module.FILENAME).is_file():
        return None
    try:
        made = manifest_module.read(path / manifest_module.FILENAME)
    except ConfigError:
        return None
    wanted = signing.fingerprint if signing is not None else _throwaway_fingerprint(cache_dir / KEYRING)
    if made.key != key or made.signed_by != wanted:
        return None
    return Stage0Repo(path, key, path / KEY_FILE, made)


def _throwaway_fingerprint(home: Path) -> str | None:
    try:
        return (home / "fingerprint").read_text().strip()
    except OSError:
        return None


def _throwaway_key(home: Path) -> _Key:
    info = gpg.throwaway_key(home, THROWAWAY_UID)
    atomic_write(home / "fingerprint", info.fingerprint + "\n")
    return _Key(home.absolute(), info.fingerprint, info.created)


def _lock(path: Path, timeout: float) -> contextlib.AbstractContextManager[None]:
    """An exclusive lock on ``path``, waited for up to ``timeout`` seconds."""
    return exclusive_lock(path, timeout=timeout, busy=lambda: Stage0Error(
        f"another process has been making the stage-0 repository for over {timeout:g} s", where=str(path),
        hint="wait for it, or stop it"))


def _make(cache_dir: Path, key: str, hostmap: HostMap, host: Host, taken: Closure, arch: str, signer: Signer,
          progress: Progress | None) -> Stage0Repo:
    for stale in cache_dir.glob(".*.new-*"):
        shutil.rmtree(stale, ignore_errors=True)  # an interrupted build's; we hold the lock
    stage = Path(tempfile.mkdtemp(prefix=f".{key}.new-", dir=cache_dir))
    try:
        made = _build(stage, key, hostmap, host, taken, arch, signer, progress)
        replace_directory(stage, cache_dir / key)  # one signed by another key may be there
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return Stage0Repo(cache_dir / key, key, cache_dir / key / KEY_FILE, made)


def _build(stage: Path, key: str, hostmap: HostMap, host: Host, taken: Closure, arch: str, signer: Signer,
           progress: Progress | None) -> Manifest:
    report = progress or (lambda step, done, total: None)
    report("reading the host's packages", 0, 1)
    plan, dropped = host_plan(hostmap, host, taken)
    work = stage / ".work"
    buildroot, out = work / "root", work / "rpms"
    rpms.stage(plan, buildroot)

    total = len(plan.rpms)
    counter = iter(range(1, 10 * total))

    def built_one(name: str) -> None:
        report("building RPMs", next(counter), total)

    built = rpms.build(plan, buildroot, work / "build", out, exclude_requires=dropped, progress=built_one)
    for name, more in _make_consistent(plan, built, buildroot, work, out, dropped).items():
        dropped[name] = sorted({*dropped.get(name, ()), *more})

    report("signing", 0, 1)
    epoch = max(b.epoch_time for b in built.values())
    when = max(epoch, signer.created)
    hrefs = []
    for name in sorted(built):
        path = built[name].path
        href = f"Packages/{path.name[0].lower()}/{path.name}"
        (stage / href).parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, stage / href)
        hrefs.append(href)
    rpmsign.addsign([stage / href for href in hrefs], gnupghome=signer.gnupghome, fingerprint=signer.fingerprint,
                    timestamp=when)
    comps = work / "comps.xml"
    comps.write_text(comps_xml(hostmap))
    write_repodata(stage, hrefs, revision=epoch, groupfile=comps)
    repomd = stage / "repodata" / "repomd.xml"
    atomic_write(repomd.with_name("repomd.xml.asc"), gpg.detach_sign(signer.gnupghome, signer.fingerprint, repomd,
                                                                     timestamp=when))
    atomic_write(stage / KEY_FILE, gpg.export_public(signer.gnupghome, signer.fingerprint))
    shutil.rmtree(work)

    made = Manifest(
        key=key, arch=arch, host_arch=host.architecture, hostmap_sha256=hostmap.digest, source_date_epoch=epoch,
        signed_by=signer.fingerprint,
        groups={group_id: group.packages for group_id, group in hostmap.groups.items()},
        packages=tuple(PackageRecord(
            name=r.name, evr=r.evr, arch=arch,
            location=next(h for h in hrefs if Path(h).name == built[r.name].path.name),
            sources=tuple(Source(n, v) for n, v in r.sources),
            dropped_requires=tuple(dropped.get(r.name, ())), missing_paths=len(r.missing),
        ) for r in sorted(plan.rpms, key=lambda r: r.name)),
        unnamed=plan.unnamed, host_only=taken.host_only, missing_optional=taken.missing_optional,
    )
    made.write(stage)
    report("done", 1, 1)
    return made


def host_plan(hostmap: HostMap, host: Host, taken: Closure) -> tuple[plan_module.Plan, dict[str, list[str]]]:
    """The plan for this host's closure, with the script interpreters settled: the plan and, per RPM,
    the generated requirements to leave out."""
    files = dpkg.file_lists(list(taken.packages))
    listed = sorted({path for paths in files.values() for path in paths})
    alternatives = dpkg.alternatives(sorted(set(listed) | {plan_module.usr_merged(p) for p in listed}))
    plan = plan_module.make_plan(hostmap, host, taken, files, diversions=dpkg.diversions(), alternatives=alternatives)
    return _settle_interpreters(plan)


def _settle_interpreters(plan: plan_module.Plan) -> tuple[plan_module.Plan, dict[str, list[str]]]:
    """Script interpreters: one no RPM holds is left out of the requirements of the RPM whose script
    names it; one held only under its /usr path (``/bin/dash`` as ``/usr/bin/dash``) becomes a
    provide of the RPM holding it."""
    paths = _paths(plan)
    drop: dict[str, list[str]] = {}
    provide: dict[str, set[str]] = {}
    for name, wanted in sorted(rpms.interpreters(plan).items()):
        for interpreter in sorted(wanted):
            owner = paths.get(plan_module.usr_merged(interpreter))
            if owner is None:
                drop.setdefault(name, []).append(interpreter)
            elif interpreter not in paths:
                provide.setdefault(owner, set()).add(interpreter)
    return _with_provides(plan, provide), drop


def _paths(plan: plan_module.Plan) -> dict[str, str]:
    return {e.path: r.name for r in plan.rpms for e in r.entries if e.kind != plan_module.Kind.DIR}


def _with_provides(plan: plan_module.Plan, extra: dict[str, set[str]] | dict[str, list[str]]) -> plan_module.Plan:
    return dataclasses.replace(plan, rpms=tuple(
        dataclasses.replace(r, provides=tuple(sorted({*r.provides, *extra[r.name]}))) if r.name in extra else r
        for r in plan.rpms))


def _make_consistent(plan: plan_module.Plan, built: dict[str, rpms.BuiltRpm], buildroot: Path, work: Path,
                     out: Path, dropped: dict[str, list[str]]) -> dict[str, list[str]]:
    """Check that the RPMs install together; rebuild once to settle what rpm's generators asked for
    that nothing offers. Returns the requirements dropped, per RPM.

    A file requirement (``/bin/dash``, ``/usr/local/bin/python``: a script's ``#!`` line) whose
    /usr-merged path an RPM holds becomes a provide of that RPM; any other unmet generated requirement
    is left out of the RPM that has it, and listed in the manifest. An unmet requirement the map or
    the Debian dependencies put there is an error: the map is wrong. So is a file owner no RPM's
    /etc/passwd or /etc/group defines (``group(shadow)``, required by rpm 4.19 and later), which no
    macro can leave out.
    """
    unmet, conflicts = rpm.test_install([b.path for b in built.values()], scratch=work / "check")
    if conflicts:
        raise Stage0Error(f"stage-0 RPMs conflict: {conflicts[0]}" + (f" (and {len(conflicts) - 1} more)"
                                                                        if len(conflicts) > 1 else ""))
    if not unmet:
        return {}
    paths = _paths(plan)
    drop: dict[str, list[str]] = {}
    extra_provides: dict[str, list[str]] = {}
    for problem in unmet:
        requirer = _name_of(problem.package, built)
        capability = problem.capability.split(" ")[0]
        if capability.startswith(("user(", "group(")):
            raise Stage0Error(f"stage-0 package {requirer} has files owned by {capability}, which no stage-0 "
                              "package's /etc/passwd or /etc/group defines", where=str(hostmap_module.DEFAULT_PATH),
                              hint="add it to the setup package's files in the host map")
        if capability in plan.rpm(requirer).requires:
            raise Stage0Error(f"stage-0 package {requirer} requires {capability}, which no stage-0 package provides",
                              where=str(hostmap_module.DEFAULT_PATH), hint="fix the host map")
        owner = paths.get(plan_module.usr_merged(capability)) if capability.startswith("/") else None
        if owner is not None:
            extra_provides.setdefault(owner, []).append(capability)
        else:
            drop.setdefault(requirer, []).append(capability)
    patched = _with_provides(plan, extra_provides)
    again = sorted(set(drop) | set(extra_provides))
    for name in again:
        built[name].path.unlink()
    excluded = {name: [*dropped.get(name, ()), *drop.get(name, ())] for name in again}
    built.update(rpms.build(patched, buildroot, work / "build", out, names=again, exclude_requires=excluded))
    unmet, conflicts = rpm.test_install([b.path for b in built.values()], scratch=work / "check-again")
    if unmet or conflicts:
        first = f"{unmet[0].package} needs {unmet[0].capability}" if unmet else conflicts[0]
        raise Stage0Error(f"stage-0 RPMs do not install together: {first}")
    return {name: sorted(set(caps)) for name, caps in drop.items()}


def _name_of(nevra: str, built: dict[str, rpms.BuiltRpm]) -> str:
    """The RPM name of a NEVRA as rpm prints it (``perl-libs-4:5.36.0-0.stage0.7.x86_64``)."""
    for name in sorted(built, key=len, reverse=True):
        if nevra.startswith(name + "-"):
            return name
    raise Stage0Error(f"rpm named a package not in the stage-0 set: {nevra}")


def comps_xml(hostmap: HostMap) -> str:
    """The comps document of the map's groups (every member mandatory), as dnf reads ``@group``."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">', "<comps>"]
    for group_id, group in sorted(hostmap.groups.items()):
        lines += ["  <group>", f"    <id>{escape(group_id)}</id>", f"    <name>{escape(group.name)}</name>",
                  f"    <description>{escape(group.description)}</description>",
                  "    <default>false</default>", "    <uservisible>false</uservisible>", "    <packagelist>"]
        lines += [f'      <packagereq type="mandatory">{escape(name)}</packagereq>' for name in group.packages]
        lines += ["    </packagelist>", "  </group>"]
    lines.append("</comps>")
    return "\n".join(lines) + "\n"
