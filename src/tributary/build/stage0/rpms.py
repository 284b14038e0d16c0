"""Building the stage-0 RPMs: one build root staged from the host, one spec per RPM, rpmbuild in a pool.

The build root is staged once for all RPMs: host files are hard-linked into it (copied where the
file system or permissions refuse a link), the map's files written, directories made. rpmbuild then
reads it with every ``brp-*`` step turned off, so nothing in it (a hard link to a host file!) is ever
changed, and packages the listed paths with the host's modes and owners. rpm's own generators run:
elfdeps (sonames), script.req (interpreters), pkgconfigdeps, python(abi); ``perl(...)`` provides come
from the perl.prov the map's perl-generators RPM carries (staged with the rest), since Debian 13's
rpm has no Perl generators and one generator gives the same answers on both. No Perl requires are made:
the Debian dependencies already say which packages the Perl code needs.

Deterministic: each RPM's build time and clamped mtimes are the newest mtime of its host files
(set by Debian's packaging, so the same package versions give the same time on every machine),
the build host is fixed, and every list is sorted.
"""

from __future__ import annotations

import concurrent.futures
import grp
import os
import pwd
import re
import shutil
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tributary.build.stage0.plan import LICENSE, Entry, Kind, Plan, RpmPlan
from tributary.errors import TribError
from tributary.tools import process, rpmbuild

BUILDHOST = "stage0.tributary.invalid"
PERL_PROVIDES = "/usr/lib/rpm/perl.prov"
"""Where the map's perl-generators RPM puts its provides generator (in the build root, as in an installed root)."""
PAYLOAD = "w1.zstdio"
"""Payload compression: zstd at level 1 (see docs/PERFORMANCE.md: the repository is local, so speed wins)."""
TIMEOUT = 900.0
"""Seconds one rpmbuild may take; the largest stage-0 RPM takes a few."""

Progress = Callable[[str], None]


class Stage0BuildError(TribError):
    """A stage-0 RPM could not be staged or built."""

    exit_code = 1


@dataclass(frozen=True)
class BuiltRpm:
    name: str
    path: Path
    epoch_time: int


def stage(plan: Plan, root: Path) -> None:
    """Make the build root every RPM of ``plan`` reads its files from."""
    for rpm in plan.rpms:
        for entry in rpm.entries:
            target = root / entry.path.lstrip("/")
            if target.is_symlink() or target.exists():
                continue
            _stage_entry(entry, target)


def _stage_entry(entry: Entry, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if entry.kind == Kind.DIR:
        target.mkdir()
    elif entry.kind == Kind.LINK:
        os.symlink(entry.target or "", target)
    elif entry.kind == Kind.TEXT:
        target.write_text(entry.text or "")
    else:
        assert entry.source is not None
        try:
            os.link(entry.source, target)
        except OSError:
            try:
                shutil.copy2(entry.source, target)
            except OSError as error:
                raise Stage0BuildError(f"cannot read {entry.source} for the stage-0 repository: {error.strerror}",
                                       hint="run as root, or make the file readable") from None


def interpreters(plan: Plan) -> dict[str, set[str]]:
    """The ``#!`` interpreter of every executable host file, per RPM: what rpm's script.req will ask for.

    Known before rpmbuild runs, so a script naming an interpreter no RPM holds (``#!/usr/local/bin/python``
    in a library module) is settled in the first build instead of a second one.
    """
    found: dict[str, set[str]] = {}
    for rpm in plan.rpms:
        for entry in rpm.entries:
            if entry.kind != Kind.FILE or not entry.source:
                continue
            try:
                if not os.lstat(entry.source).st_mode & 0o111:
                    continue
                with open(entry.source, "rb") as handle:
                    head = handle.readline(256)
            except OSError:
                continue
            if head.startswith(b"#!") and head[2:].split():
                found.setdefault(rpm.name, set()).add(head[2:].split()[0].decode(errors="replace"))
    return found


def source_date_epoch(rpm: RpmPlan, default: int) -> int:
    """The newest mtime among the RPM's host files (``default`` when it has none)."""
    times = [os.lstat(e.source).st_mtime for e in rpm.entries if e.kind == Kind.FILE and e.source]
    return int(max(times)) if times else default


def spec_text(rpm: RpmPlan) -> str:
    """The spec of one stage-0 RPM: tags, description, scriptlets and a %files list with every attribute."""
    lines = [f"Name: {rpm.name}"]
    if rpm.epoch:
        lines.append(f"Epoch: {rpm.epoch}")
    lines += [f"Version: {rpm.version}", f"Release: {rpm.release}", f"Summary: {_escape(rpm.summary)}",
              f"License: {LICENSE}"]
    lines += [f"Provides: {_escape(p)}" for p in rpm.provides]
    lines += [f"Requires: {_escape(r)}" for r in rpm.requires]
    lines += ["", "%description", _escape(_description(rpm)), ""]
    for header, body in rpm.scriptlets:
        lines += [f"%{header}", _escape(body.strip()), ""] if body.strip() else [f"%{header}", ""]
    lines.append("%files")
    lines += [_files_line(entry) for entry in rpm.entries]
    return "\n".join(lines) + "\n"


def _description(rpm: RpmPlan) -> str:
    if not rpm.sources:
        return "Written by tributary for the stage-0 bootstrap repository."
    made_of = ", ".join(f"{name} {version}" for name, version in rpm.sources)
    return f"The build host's files of {made_of}, for the stage-0 bootstrap repository."


def _files_line(entry: Entry) -> str:
    if entry.kind == Kind.LINK:
        attr = "%attr(-,root,root)"
    else:
        info = os.lstat(entry.source) if entry.source else None
        mode = entry.mode if entry.mode is not None else stat.S_IMODE(info.st_mode) if info else 0o644
        user = _user(info.st_uid) if info and entry.mode is None else "root"
        group = _group(info.st_gid) if info and entry.mode is None else "root"
        attr = f"%attr({mode:04o},{user},{group})"
    prefix = "%dir " if entry.kind == Kind.DIR else "%config(noreplace) " if entry.config else ""
    return f"{prefix}{attr} {files_path(entry.path)}"


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "root"


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return "root"


_GLOB = re.compile(r"([][*?])")
_ERE_SPECIAL = re.compile(r"([.[\]()*+?{}|^$\\])")


def files_path(path: str) -> str:
    """``path`` as a %files line names it: read as exactly this path by rpm 4.18 (Debian 12) and 4.20 (Debian 13).

    The two read a %files path differently. rpm 4.20 takes a quoted path literally and a backslash outside
    quotes as an escape. rpm 4.18 expands a quoted path as a glob too, splits a glob pattern at white space,
    expands braces even in a quoted path and has no escape at all. What both read alike: a quoted path
    without the glob characters ``[]*?`` (white space and backslashes allowed), and an unquoted one whose
    glob characters are each put in brackets (``/usr/bin/[[]`` for ``/usr/bin/[``); ``%`` is doubled in
    either, against macro expansion. Other paths have no form both read alike and are refused by name;
    no package of Debian 12 or 13 has one.
    """
    if '"' in path or "\n" in path:
        raise Stage0BuildError(f"cannot package {path!r}: rpm's %files cannot name it")
    if "{" in path or "}" in path:
        raise Stage0BuildError(f"cannot package {path!r}: rpm 4.18 expands braces in a %files path, "
                               "with no escape")
    if not _GLOB.search(path):
        return '"' + path.replace("%", "%%") + '"'
    if any(c.isspace() or c == "\\" for c in path):
        raise Stage0BuildError(f"cannot package {path!r}: rpm 4.18 and 4.20 read a %files path with glob characters "
                               "and white space or a backslash differently")
    return _GLOB.sub(lambda m: f"[{m.group(1)}]", path).replace("%", "%%")


def _escape(text: str) -> str:
    return text.replace("%", "%%")


def rpmbuild_defines(buildroot: Path, epoch_time: int, *, exclude_requires: Sequence[str] = ()) -> dict[str, str]:
    """What rpmbuild is told for every stage-0 RPM (see the module docstring for why each)."""
    defines = {
        "buildroot": str(buildroot),
        "_build_name_fmt": "%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
        "__spec_install_pre": "%{___build_pre}",
        "__spec_install_post": "%{nil}",
        "__os_install_post": "%{nil}",
        "__check_files": "%{nil}",
        "_unpackaged_files_terminate_build": "0",
        "_missing_build_ids_terminate_build": "0",
        "_build_id_links": "none",
        "debug_package": "%{nil}",
        "__perl_requires": "%{nil}",
        "__perllib_requires": "%{nil}",
        # The "perllib" file class as the perl-generators RPM defines it; _local_file_attrs makes rpm 4.20
        # know the class without an attr file on the host (rpm 4.18 has one, whose macros these replace).
        "_local_file_attrs": "perllib",
        "__perllib_path": r"\.pm$",
        "__perllib_provides": f"/usr/bin/perl {buildroot}{PERL_PROVIDES}",
        "_binary_payload": PAYLOAD,
        "_buildhost": BUILDHOST,
        "source_date_epoch_from_changelog": "0",
        "use_source_date_epoch_as_buildtime": "1",
        "clamp_mtime_to_source_date_epoch": "1",
    }
    if exclude_requires:
        # rpm reads it as a POSIX extended regular expression, matched against "name [op version]".
        alternatives = "|".join(_ERE_SPECIAL.sub(r"\\\1", r) for r in sorted(exclude_requires))
        defines["__requires_exclude"] = f"^({alternatives})([[:space:]].*)?$"
    return defines


def build(plan: Plan, buildroot: Path, work: Path, out: Path, *, names: Sequence[str] | None = None,
          exclude_requires: Mapping[str, Sequence[str]] | None = None, workers: int | None = None,
          progress: Progress | None = None) -> dict[str, BuiltRpm]:
    """rpmbuild every RPM of ``plan`` (or those ``names``) into ``out``; a bounded thread pool runs them.

    Largest first, so the pool does not end waiting for one big package.
    """
    chosen = [r for r in plan.rpms if names is None or r.name in names]
    default_time = max((source_date_epoch(r, 0) for r in plan.rpms), default=0)
    chosen.sort(key=lambda r: (-sum(1 for e in r.entries if e.kind == Kind.FILE), r.name))
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    out.mkdir(parents=True, exist_ok=True)
    built: dict[str, BuiltRpm] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stage0-rpmbuild") as pool:
        futures = {pool.submit(_build_one, rpm, buildroot, work / rpm.name, out, source_date_epoch(rpm, default_time),
                               (exclude_requires or {}).get(rpm.name, ())): rpm.name for rpm in chosen}
        try:
            for future in concurrent.futures.as_completed(futures):
                result = future.result()
                built[result.name] = result
                if progress is not None:
                    progress(result.name)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return built


def _build_one(rpm: RpmPlan, buildroot: Path, work: Path, out: Path, epoch_time: int,
               exclude_requires: Sequence[str]) -> BuiltRpm:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    spec = work / f"{rpm.name}.spec"
    spec.write_text(spec_text(rpm))
    defines = rpmbuild_defines(buildroot, epoch_time, exclude_requires=exclude_requires)
    command = [*rpmbuild.binary_args(str(spec), topdir=str(work), defines=defines)]
    command[1:1] = ["--quiet", "--noclean", f"--buildroot={buildroot}"]  # rpm 4.20 ignores --define buildroot
    env = process.environment({"HOME": str(work), "SOURCE_DATE_EPOCH": str(epoch_time), "TZ": "UTC"})
    try:
        rpmbuild.run(command, env=env, timeout=TIMEOUT)
    except rpmbuild.RpmbuildError as error:
        raise Stage0BuildError(f"rpmbuild of stage-0 package {rpm.name} failed: {error.message}",
                               where=str(spec)) from None
    (made,) = (work / "RPMS").glob("*.rpm")
    destination = out / made.name
    os.replace(made, destination)
    shutil.rmtree(work, ignore_errors=True)
    return BuiltRpm(rpm.name, destination, epoch_time)
