"""An image's root file system: the distribution's own published channels, installed by dnf into an empty root.

The root is made from what ``trib repo publish`` wrote and nothing else: each channel's ``.repo`` file is
copied into a private ``reposdir`` (its ``baseurl`` and ``gpgkey`` pointed at the channel directory, its
``gpgcheck``/``repo_gpgcheck`` kept), dnf runs offline with ``--installroot`` and no host
configuration, and the packages are checked against the channel's key when the channel is signed. So an
image contains exactly the signed bits users would install from the published repository.

The steps, in the order KIWI's prepare step uses:

1. ``dnf install`` of ``bootstrap_packages`` (a transaction of their own, when there are any), then of
   ``packages``; no weak dependencies, no documentation; the rpmdb at ``/usr/lib/sysimage/rpm``.
2. Users and groups, written straight into ``/etc/passwd``, ``/etc/group`` and ``/etc/shadow``: the
   roots this makes need not contain ``useradd``.
3. The configuration script (KIWI's ``config.sh``), run inside the root in a bubblewrap sandbox.
4. For a distroless image, the package manager and the shells are erased; the package list stays
   readable to scanners (the rpmdb, and the manifest CBL-Mariner/Azure Linux distroless images carry).
5. What dnf leaves that the image must not carry (its caches, logs, history, the rpmdb's ``-shm`` and
   ``-wal``, ldconfig's aux-cache) is removed, and every time stamp is set to ``SOURCE_DATE_EPOCH``.

The root is assembled beside ``dest`` and swapped in only when every step succeeded: a failed build
leaves the previous root (or nothing), never half a root.

Reproducibility: rpm 4.18 stamps ``INSTALLTIME``/``INSTALLTID`` from ``SOURCE_DATE_EPOCH`` when it is
set, so that value must be known before dnf runs. It is the environment's ``SOURCE_DATE_EPOCH``, or
else the newest build time of any package in the channels the image is made from, read from their
metadata (the same value ``publish`` dates a channel with). The same channels then give a
byte-identical root.
"""

from __future__ import annotations

import configparser
import contextlib
import io
import os
import re
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import createrepo_c as cr

from tributary.config.project import Project
from tributary.errors import TribError
from tributary.fsutil import atomic_write, staged_directory
from tributary.image.spec import ImageSpec, User
from tributary.repo.publish import source_date_epoch
from tributary.tools import bwrap, dnf, gpg, process, rpm
from tributary.tools.rpm import nevra as _nevra
from tributary.upstream.fingerprint import file_sha256

RPMDB_PATH = dnf.RPMDB_PATH  # /usr/lib/sysimage/rpm
RPM_MANIFEST_PATH = "var/lib/rpmmanifest/container-manifest-2"

# The query CBL-Mariner's toolkit runs to write container-manifest-2 (syft and trivy parse exactly these
# ten tab-separated fields): name, version-release, install time, build time, vendor, epoch ("(none)"
# when unset), size, arch, epoch as a number, source RPM.
RPM_MANIFEST_FORMAT = ("%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{INSTALLTIME}\\t%{BUILDTIME}\\t%{VENDOR}\\t%{EPOCH}"
                       "\\t%{SIZE}\\t%{ARCH}\\t%{EPOCHNUM}\\t%{SOURCERPM}\\n")

_QUERY_FIELDS = ("NAME", "EPOCHNUM", "VERSION", "RELEASE", "ARCH", "LICENSE", "BUILDTIME", "INSTALLTIME", "SIZE",
                 "SOURCERPM", "VENDOR")
_QUERY_FORMAT = "\\t".join(f"%{{{name}}}" for name in _QUERY_FIELDS) + "\\n"

# Keys rpm adds to the rpmdb when a signed channel's key is imported: not software, no RPM file.
_PUBKEY_PACKAGE = "gpg-pubkey"

# What dnf and ldconfig leave in a root that no image should carry (``var/log/dnf*`` is globbed).
_LEFTOVERS = ("var/cache/dnf", "var/lib/dnf", "var/log/hawkey.log", "etc/dnf", "var/cache/ldconfig/aux-cache",
              f"{RPMDB_PATH.lstrip('/')}/rpmdb.sqlite-shm", f"{RPMDB_PATH.lstrip('/')}/rpmdb.sqlite-wal")
_RPMFILE_GHOST = 1 << 6

# Distroless: shells and package managers by path, and package-manager packages by name.
_BIN_DIRS = ("usr/bin", "usr/sbin", "bin", "sbin", "usr/local/bin", "usr/local/sbin")
_SHELLS = ("sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "tcsh", "csh", "busybox", "toybox")
_PACKAGE_MANAGER_COMMANDS = ("rpm", "rpmdb", "rpmkeys", "rpmquery", "rpmverify", "rpm2archive", "rpm2cpio",
                             "rpmsign", "dnf", "dnf-3", "dnf4", "dnf5", "yum", "tdnf", "microdnf")
_PACKAGE_MANAGER_PACKAGES = frozenset({
    "rpm", "rpm-libs", "rpm-build-libs", "rpm-sign-libs", "rpm-sequoia", "python3-rpm", "rpm-plugin-selinux",
    "rpm-plugin-systemd-inhibit", "rpm-plugin-audit", "dnf", "dnf-data", "python3-dnf", "dnf-plugins-core",
    "python3-dnf-plugins-core", "libdnf", "python3-libdnf", "python3-hawkey", "dnf5", "libdnf5", "libdnf5-cli",
    "dnf5-plugins", "yum", "tdnf", "tdnf-cli-libs", "tdnf-plugin-repogpgcheck", "microdnf",
})

# What a configuration script may do as root: Docker's default capability set (what a Dockerfile's RUN
# gets), enough to chown, chmod, set file capabilities and create device nodes, without mounting
# anything or reaching the host's kernel settings.
_SCRIPT_CAPABILITIES = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_SETGID",
                        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
                        "CAP_KILL", "CAP_AUDIT_WRITE")
_SCRIPT_PATH = "/tmp/.tributary/config.sh"
_SCRIPT_PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CONFIG_SCRIPT_TIMEOUT = 3600.0
"""Seconds a configuration script may run before it is stopped (and the image not made)."""
TAIL_LINES = 30

_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_FIRST_REGULAR_ID = 1000
_LAST_REGULAR_ID = 60000


class ImageError(TribError):
    """An image cannot be made from its description and the published channels."""


class ConfigScriptError(ImageError):
    """The image's configuration script ran and failed; ``output`` is everything it printed."""

    exit_code = 1

    def __init__(self, message: str, *, where: str, output: str):
        super().__init__(message, where=where)
        self.output = output


@dataclass(frozen=True)
class InstalledPackage:
    """One package in the root, and the RPM file (by its sha256, in which channel) it was installed from."""

    name: str
    epoch: int
    version: str
    release: str
    arch: str
    license: str
    build_time: int
    install_time: int
    size: int
    source_rpm: str
    vendor: str
    sha256: str | None
    """sha256 of the RPM file in the channel; None only when no channel holds this NEVRA (not expected)."""
    channel: str | None

    @property
    def nevra(self) -> str:
        """``name-[epoch:]version-release.arch``, the epoch shown only when it is not 0 (as dnf prints it)."""
        return _nevra(self.name, self.epoch, self.version, self.release, self.arch)

    def to_json(self) -> dict[str, object]:
        return {"nevra": self.nevra, "name": self.name, "epoch": self.epoch, "version": self.version,
                "release": self.release, "arch": self.arch, "license": self.license, "sha256": self.sha256,
                "channel": self.channel, "buildTime": self.build_time, "sourceRpm": self.source_rpm}


@dataclass(frozen=True)
class RootfsResult:
    """A finished root: where it is, what is installed in it and the time every file is stamped with."""

    path: Path
    image: str
    packages: tuple[InstalledPackage, ...]
    """Sorted by NEVRA; the imported signing keys (``gpg-pubkey``) are not packages and are left out."""
    source_date_epoch: int
    releasever: str
    channels: tuple[str, ...]
    removed: tuple[str, ...] = ()
    """Distroless only: the packages erased (shells and package managers), sorted."""

    @property
    def licenses(self) -> tuple[str, ...]:
        """Every distinct license expression of the installed packages, sorted."""
        return tuple(sorted({package.license for package in self.packages if package.license}))

    def to_json(self) -> dict[str, object]:
        return {"path": str(self.path), "image": self.image, "sourceDateEpoch": self.source_date_epoch,
                "releasever": self.releasever, "channels": list(self.channels), "removed": list(self.removed),
                "packages": [package.to_json() for package in self.packages]}


@dataclass(frozen=True)
class Channel:
    """A published channel directory and the repository its ``.repo`` file describes."""

    name: str
    path: Path
    repo_id: str
    options: dict[str, str]
    """The ``.repo`` section as published (``gpgcheck``, ``repo_gpgcheck``, ``gpgkey``...)."""
    key_file: Path | None

    @property
    def gpgcheck(self) -> bool:
        return _true(self.options.get("gpgcheck", "0"))

    @property
    def repo_gpgcheck(self) -> bool:
        return _true(self.options.get("repo_gpgcheck", "0"))

    def local_repo_file(self) -> str:
        """The ``.repo`` section for this machine: ``baseurl``/``gpgkey`` at the channel directory itself.

        A channel may be published for a web server (``--baseurl https://...``); the image is built
        from the directory on disk, offline, with the same signature checks.
        """
        options = {key: value for key, value in self.options.items() if key not in ("mirrorlist", "metalink")}
        options["baseurl"] = self.path.absolute().as_uri() + "/"
        options["enabled"] = "1"
        if self.key_file is not None:
            options["gpgkey"] = self.key_file.absolute().as_uri()
        else:
            options.pop("gpgkey", None)
        lines = [f"[{self.repo_id}]"] + [f"{key}={options[key]}" for key in sorted(options)]
        return "\n".join(lines) + "\n"


@dataclass
class _ChannelIndex:
    """Every package of the image's channels by NEVRA (first channel wins), and the newest build time."""

    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # nevra -> (sha256, channel)
    newest_build: int = 0


def _true(value: str) -> bool:
    return value.strip().lower() in ("1", "yes", "true", "on")


def read_channel(path: Path) -> Channel:
    """The published channel at ``path``: its one ``.repo`` file and, when it names one, its key file."""
    path = Path(path)
    if not (path / "repodata" / "repomd.xml").is_file():
        raise ImageError(f"{path} is not a published channel (no repodata/repomd.xml)")
    repo_files = sorted(path.glob("*.repo"))
    if len(repo_files) != 1:
        raise ImageError(f"a published channel has one .repo file; {path} has {len(repo_files)}")
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    try:
        parser.read_string(repo_files[0].read_text(), source=str(repo_files[0]))
    except configparser.Error as error:
        raise ImageError(f"cannot read {repo_files[0]}: {error}") from error
    sections = parser.sections()
    if len(sections) != 1:
        raise ImageError(f"{repo_files[0]} describes {len(sections)} repositories; a channel's describes one")
    repo_id = sections[0]
    options = dict(parser.items(repo_id))
    channel = Channel(path.name, path, repo_id, options, None)
    if channel.gpgcheck or channel.repo_gpgcheck:
        key = _channel_key(path, options.get("gpgkey", ""))
        if key is None:
            raise ImageError(f"channel {path.name} requires signatures (gpgcheck) but holds no RPM-GPG-KEY-* file",
                             where=str(repo_files[0]))
        channel = Channel(path.name, path, repo_id, options, key)
    return channel


def _channel_key(path: Path, gpgkey: str) -> Path | None:
    """The key the ``.repo`` names when the channel holds a file of that name, else its one RPM-GPG-KEY-*."""
    for url in gpgkey.split():
        candidate = path / PurePosixPath(url.rstrip("/")).name
        if candidate.is_file():
            return candidate
    keys = sorted(path.glob("RPM-GPG-KEY-*"))
    return keys[0] if len(keys) == 1 else None


def _index_channels(channels: Sequence[Channel]) -> _ChannelIndex:
    index = _ChannelIndex()
    for channel in channels:
        try:
            records = {record.type: record.location_href
                       for record in cr.Repomd(str(channel.path / "repodata" / "repomd.xml")).records}
        except cr.CreaterepoCError as error:
            raise ImageError(f"cannot read repomd.xml of channel {channel.name}: {error}") from error
        if "primary" not in records:
            raise ImageError(f"channel {channel.name} has no primary metadata")

        def take(package: cr.Package, channel: Channel = channel) -> bool:
            if package.arch == "src":
                return True
            epoch = int(package.epoch or 0)
            nevra = _nevra(package.name, epoch, package.version, package.release, package.arch)
            if package.checksum_type == "sha256":
                digest = package.pkgId
            else:
                digest = file_sha256(channel.path / package.location_href)
            index.files.setdefault(nevra, (digest, channel.name))
            index.newest_build = max(index.newest_build, int(package.time_build or 0))
            return True

        try:
            cr.xml_parse_primary(str(channel.path / records["primary"]), pkgcb=take, do_files=0)
        except cr.CreaterepoCError as error:
            raise ImageError(f"cannot read the primary metadata of channel {channel.name}: {error}") from error
    return index


def releasever(project: Project) -> str:
    """``$releasever`` for dnf: the release-ver of the project's target distro version ("1" without one)."""
    target = project.default_distro
    return target[2].release_ver if target else "1"


# --- the build ------------------------------------------------------------------------------------------


def build_rootfs(project: Project, spec: ImageSpec, channels: Sequence[Path], dest: Path, *,
                 log: BinaryIO | None = None) -> RootfsResult:
    """Make ``dest`` the root file system of ``spec``, installed from the published ``channels`` only.

    ``channels`` are channel directories (``<output-dir>/repo/<channel>``, see ``repo_root``), searched
    in the order given when the same package is in several. dnf's, rpm's and the configuration
    script's output go to ``log``. Raises ImageError (a package no channel provides, a channel that is
    not published, a user that cannot be added) or ConfigScriptError; ``dest`` is then left as it was.
    """
    where = f"image {spec.name!r}"
    if not spec.packages:
        raise ImageError("the image installs no packages", where=where)
    dnf.require()
    rpm.require()
    if spec.config_script is not None:
        bwrap.require()
        if not Path(spec.config_script).is_file():
            raise ImageError(f"configuration script {spec.config_script} does not exist", where=where)
    read = [read_channel(Path(path)) for path in channels]
    if not read:
        raise ImageError("no channels to install from", where=where)
    _check_unique_repo_ids(read, where)
    index = _index_channels(read)
    epoch = source_date_epoch()
    if epoch is None:
        epoch = index.newest_build
    names = tuple(channel.name for channel in read)
    out = log if log is not None else io.BytesIO()

    with tempfile.TemporaryDirectory(prefix="trib-image-") as scratch, staged_directory(Path(dest)) as root:
        work = Path(scratch)
        os.chmod(root, 0o755)
        _check_keyring_socket_room(root, read, where)
        home = dnf.rpm_home(work / "home")
        reposdir = work / "repos.d"
        reposdir.mkdir()
        for channel in read:
            atomic_write(reposdir / f"{channel.name}.repo", channel.local_repo_file())
        env = _environment(home, epoch)
        release = releasever(project)
        transactions = [spec.bootstrap_packages] if spec.bootstrap_packages else []
        transactions.append(spec.packages)
        for transaction in transactions:
            _dnf_install(root, transaction, releasever=release, reposdir=reposdir, home=home, env=env, log=out,
                         where=where, channels=names)
        if spec.users:
            add_users(root, spec.users, epoch=epoch, where=where)
        if spec.config_script is not None:
            run_config_script(root, Path(spec.config_script), spec, epoch=epoch, log=out)
        removed: tuple[str, ...] = ()
        if spec.distroless:
            removed = make_distroless(root, env=env, log=out)
        packages = _query_packages(root, env, index)
        if spec.distroless:
            write_rpm_manifest(root, env)
        _remove_leftovers(root, env)
        stamp_tree(root, epoch)
    return RootfsResult(Path(dest), spec.name, packages, epoch, release, names, removed)


def _check_unique_repo_ids(channels: Sequence[Channel], where: str) -> None:
    seen: dict[str, str] = {}
    for channel in channels:
        if channel.repo_id in seen:
            raise ImageError(f"channels {seen[channel.repo_id]} and {channel.name} both name repository "
                             f"{channel.repo_id!r}", where=where)
        seen[channel.repo_id] = channel.name


def _check_keyring_socket_room(root: Path, channels: Sequence[Channel], where: str) -> None:
    """Fail early when dnf's key ring for a signed channel would be too deep for gpg-agent's socket.

    repo_gpgcheck makes dnf keep a key ring in ``<root>/var/cache/dnf/<repo>-<hash>/pubring``; without
    ``/run/user/<uid>`` gpg-agent puts its socket in there, and a long path makes the check fail with
    a message about no agent running rather than about the path.
    """
    if Path(f"/run/user/{os.getuid()}").is_dir():
        return
    for channel in channels:
        if channel.repo_gpgcheck:
            socket = root / "var/cache/dnf" / f"{channel.repo_id}-0123456789abcdef" / "pubring" / "S.gpg-agent"
            if not gpg.socket_path_fits(str(socket)):
                raise ImageError(f"the image root {root} is too deep for the gpg-agent socket dnf needs to check "
                                 f"channel {channel.name}'s metadata signature", where=where,
                                 hint=f"use a shorter work directory, or create /run/user/{os.getuid()}")


def _environment(home: Path, epoch: int) -> dict[str, str]:
    """What dnf and rpm get beside the clean environment: our HOME (its .rpmmacros places the rpmdb), a
    fixed clock for rpm."""
    return {"HOME": str(home), "LANG": "C.UTF-8", "SOURCE_DATE_EPOCH": str(epoch)}


def _dnf_install(
    root: Path,
    packages: Sequence[str],
    *,
    releasever: str,
    reposdir: Path,
    home: Path,
    env: dict[str, str],
    log: BinaryIO,
    where: str,
    channels: Sequence[str],
) -> None:
    argv = dnf.install_from_repo_files_args(
        root, packages, releasever=releasever, reposdir=reposdir, config=home / dnf.CONFIG_NAME
    )
    log.write(("+ " + " ".join(argv) + "\n").encode())
    try:
        log.write(dnf.run(argv, home=home, env=env).encode())
    except dnf.DnfError as error:
        log.write(error.output.encode())
        raise ImageError(summarize_dnf_failure(error.output, channels, error.returncode or 1), where=where) from error
    finally:
        # repo_gpgcheck verifies repomd.xml with gpgme, which starts a gpg-agent for a key ring in the
        # root's dnf cache and leaves it running.
        for keyring in sorted(root.glob("var/cache/dnf/*/pubring")):
            gpg.stop_agent(keyring)


def summarize_dnf_failure(output: str, channels: Sequence[str], status: int = 1) -> str:
    """dnf's complaint in one line: what no channel provides, else dnf's last ``Error:`` line."""
    in_channels = f"in channels {', '.join(channels)}"
    unmatched = dnf.unmatched_arguments(output)
    if unmatched:
        names = ", ".join(repr(name) for name in unmatched)
        return f"no package provides {names} {in_channels}"
    missing = dnf.missing_capabilities(output)
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        return f"nothing provides {missing[0]}{more} {in_channels}"
    return f"dnf install failed: {dnf.last_error(output) or f'exit status {status}'}"


# --- users ----------------------------------------------------------------------------------------------


def add_users(root: Path, users: Sequence[User], *, epoch: int, where: str = "image") -> None:
    """Add ``users`` (and their groups) to the root's account files, creating the files when missing.

    The root need not contain shadow-utils, so the entries are written directly. Without ``uid`` a user
    gets the next free id from 1000; without ``gid`` a group of its own name (its gid equal to its uid
    when free). The password is locked (``!``); the last-change day is SOURCE_DATE_EPOCH's. A root
    without ``/etc/passwd`` first gets the ``root`` account. The home directory is created from
    ``/etc/skel`` and owned by the user.
    """
    etc = _inside(root, "etc")
    etc.mkdir(mode=0o755, exist_ok=True)
    passwd = _AccountFile(etc / "passwd", 0o644)
    group = _AccountFile(etc / "group", 0o644)
    shadow = _AccountFile(etc / "shadow", 0o000)
    gshadow = _AccountFile(etc / "gshadow", 0o000) if (etc / "gshadow").exists() else None
    day = epoch // 86400
    if "root" not in passwd.names():
        passwd.add(f"root:x:0:0:root:/root:{_default_shell(root)}")
        if "root" not in shadow.names():
            shadow.add(f"root:!:{day}:0:99999:7:::")
    if "root" not in group.names():
        group.add("root:x:0:")
        if gshadow is not None and "root" not in gshadow.names():
            gshadow.add("root:!::")

    for user in users:
        if not _USER_NAME.match(user.name):
            raise ImageError(f"user name {user.name!r} is not valid (lowercase letters, digits, '_' and '-')",
                             where=where)
        if user.name in passwd.names():
            raise ImageError(f"user {user.name!r} already exists in the root", where=where)
        uid = user.uid if user.uid is not None else _next_id(passwd.ids())
        if uid in passwd.ids():
            raise ImageError(f"uid {uid} of user {user.name!r} is already taken", where=where)
        if user.gid is not None:
            gid = user.gid
            if gid not in group.ids():
                _add_group(group, gshadow, user.name, gid, where)
        elif user.name in group.names():
            gid = group.id_of(user.name)
        else:
            gid = uid if uid not in group.ids() else _next_id(group.ids())
            _add_group(group, gshadow, user.name, gid, where)
        for extra in user.groups:
            if extra not in group.names():
                _add_group(group, gshadow, extra, _next_id(group.ids()), where)
            group.add_member(extra, user.name)
            if gshadow is not None and extra in gshadow.names():
                gshadow.add_member(extra, user.name)
        home = user.home or f"/home/{user.name}"
        shell = user.shell or _default_shell(root)
        passwd.add(f"{user.name}:x:{uid}:{gid}::{home}:{shell}")
        shadow.add(f"{user.name}:!:{day}:0:99999:7:::")
        _make_home(root, home, uid, gid)

    for account in (passwd, group, shadow, gshadow):
        if account is not None:
            account.save()


class _AccountFile:
    """``/etc/passwd``-like lines (``name:...``); the third field is the id for passwd and group."""

    def __init__(self, path: Path, mode: int):
        self.path = path
        self.existed = path.exists()
        self.mode = stat.S_IMODE(path.stat().st_mode) if self.existed else mode
        self.lines = path.read_text().splitlines() if self.existed else []
        self.changed = False

    def names(self) -> list[str]:
        return [line.split(":", 1)[0] for line in self.lines if line and not line.startswith("#")]

    def ids(self) -> set[int]:
        found = set()
        for line in self.lines:
            fields = line.split(":")
            if len(fields) > 2 and fields[2].isdigit():
                found.add(int(fields[2]))
        return found

    def id_of(self, name: str) -> int:
        for line in self.lines:
            fields = line.split(":")
            if fields[0] == name and len(fields) > 2 and fields[2].isdigit():
                return int(fields[2])
        raise KeyError(name)

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.changed = True

    def add_member(self, name: str, member: str) -> None:
        for number, line in enumerate(self.lines):
            fields = line.split(":")
            if fields[0] == name and len(fields) >= 4:
                members = [m for m in fields[-1].split(",") if m]
                if member not in members:
                    fields[-1] = ",".join([*members, member])
                    self.lines[number] = ":".join(fields)
                    self.changed = True
                return

    def save(self) -> None:
        if self.changed:
            atomic_write(self.path, "\n".join(self.lines) + "\n", mode=self.mode)


def _add_group(group: _AccountFile, gshadow: _AccountFile | None, name: str, gid: int, where: str) -> None:
    if not _USER_NAME.match(name):
        raise ImageError(f"group name {name!r} is not valid", where=where)
    if gid in group.ids():
        raise ImageError(f"gid {gid} of group {name!r} is already taken", where=where)
    group.add(f"{name}:x:{gid}:")
    if gshadow is not None:
        gshadow.add(f"{name}:!::")


def _next_id(taken: Iterable[int]) -> int:
    regular = [number for number in taken if _FIRST_REGULAR_ID <= number < _LAST_REGULAR_ID]
    return max(regular, default=_FIRST_REGULAR_ID - 1) + 1


def _default_shell(root: Path) -> str:
    for shell in ("/bin/bash", "/bin/sh"):
        if _exists_in_root(root, shell):
            return shell
    return "/sbin/nologin"


def _make_home(root: Path, home: str, uid: int, gid: int) -> None:
    """Create the home directory from ``/etc/skel`` (mode 0700, owned by the user) unless it exists."""
    target = _inside(root, home.lstrip("/"))
    if target.exists() or target.is_symlink():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    skel = root / "etc" / "skel"
    if skel.is_dir() and not skel.is_symlink():
        shutil.copytree(skel, target, symlinks=True)
    else:
        target.mkdir()
    os.chmod(target, 0o700)
    for directory, dirs, files in os.walk(target):
        os.lchown(directory, uid, gid)
        for name in (*dirs, *files):
            os.lchown(os.path.join(directory, name), uid, gid)


def _inside(root: Path, relative: str) -> Path:
    """``root/relative`` after checking that no symbolic link on the way leads out of the root."""
    path = root
    for part in PurePosixPath(relative).parts:
        if part in ("", "/", "."):
            continue
        if part == "..":
            raise ImageError(f"path {relative!r} leaves the image root")
        path = path / part
        if path.is_symlink():
            resolved = resolve_in_root(root, "/" + str(path.relative_to(root)))
            if resolved is None:
                raise ImageError(f"path {relative!r} in the image root goes through a broken link")
            path = resolved
    return path


def resolve_in_root(root: Path, path: str, depth: int = 0) -> Path | None:
    """Resolve ``path`` as seen from inside ``root`` (absolute links restart at the root); None if missing."""
    if depth > 40:
        return None
    current = root
    parts = [part for part in PurePosixPath(path).parts if part not in ("/", "", ".")]
    while parts:
        part = parts.pop(0)
        if part == "..":
            current = current.parent if current != root else root
            continue
        candidate = current / part
        if candidate.is_symlink():
            target = os.readlink(candidate)
            base = "/" if target.startswith("/") else "/" + str(current.relative_to(root))
            rest = "/".join(parts)
            joined = str(PurePosixPath(base) / target / rest) if rest else str(PurePosixPath(base) / target)
            return resolve_in_root(root, _normalize(joined), depth + 1)
        if not candidate.exists():
            return None
        current = candidate
    return current


def os_release_name(root: Path) -> str | None:
    """``NAME`` from the root's os-release (``/etc/os-release``, else ``/usr/lib/os-release``)."""
    for candidate in ("/etc/os-release", "/usr/lib/os-release"):
        path = resolve_in_root(root, candidate)
        if path is None or not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "NAME":
                return value.strip().strip("\"'") or None
    return None


def _normalize(path: str) -> str:
    parts: list[str] = []
    for part in PurePosixPath(path).parts:
        if part in ("/", "", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
        else:
            parts.append(part)
    return "/" + "/".join(parts)


def _exists_in_root(root: Path, path: str) -> bool:
    return resolve_in_root(root, path) is not None


# --- the configuration script ---------------------------------------------------------------------------


def config_script_command(root: Path, script: Path, spec: ImageSpec, *, epoch: int) -> list[str]:
    """bwrap running ``script`` inside ``root``: the root bound at ``/``, fresh /proc, /dev and /tmp, no network.

    As real root, without a user namespace: a user namespace would map only uid 0, and a configuration
    script must be able to give files to the image's users (``chown``). Instead the script gets Docker's
    default capabilities and nothing else of the host: separate mount, PID, IPC, UTS and network
    namespaces (loopback only), so it can change the image root and nothing outside it.
    """
    mounts = [bwrap.bind(str(root), "/"), bwrap.Mount("proc", "/proc"), bwrap.Mount("dev", "/dev"),
              bwrap.tmpfs("/tmp"), bwrap.ro_bind(str(script.absolute()), _SCRIPT_PATH)]
    env = {"PATH": _SCRIPT_PATH_ENV, "HOME": "/root", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "SOURCE_DATE_EPOCH": str(epoch), "TERM": "dumb",
           # The names KIWI gives config.sh (through /.kconfig), for scripts written for KIWI.
           "kiwi_iname": spec.name, "kiwi_iversion": spec.version}
    return bwrap.command([*_interpreter(script), _SCRIPT_PATH], mounts=mounts, env=env, uid=None, gid=None,
                         chdir="/", hostname=spec.name[:63] or "image", capabilities=_SCRIPT_CAPABILITIES)


def _interpreter(script: Path) -> list[str]:
    """The script's ``#!`` line as an argument list (so it need not be executable), else ``/bin/sh``."""
    with open(script, "rb") as handle:
        first = handle.readline(256)
    if first.startswith(b"#!"):
        words = first[2:].decode(errors="replace").strip().split(None, 1)
        if words:
            return words
    return ["/bin/sh"]


def run_config_script(root: Path, script: Path, spec: ImageSpec, *, epoch: int, log: BinaryIO) -> None:
    """Run the configuration script in the root; ConfigScriptError with the end of its output on failure."""
    argv = config_script_command(root, script, spec, epoch=epoch)
    interpreter = _interpreter(script)[0]
    if not _exists_in_root(root, interpreter):
        raise ConfigScriptError(f"configuration script {script.name} needs {interpreter}, which the image lacks",
                                where=f"image {spec.name!r}", output="")
    log.write(f"+ {script} (in the image root, through bwrap)\n".encode())
    try:
        proc = bwrap.run(argv, timeout=CONFIG_SCRIPT_TIMEOUT)
    except bwrap.BwrapError as error:
        log.write(error.stdout.encode())
        summary = (f"configuration script {script.name} did not finish within {CONFIG_SCRIPT_TIMEOUT:g} s"
                   if error.timed_out else error.message)
        raise ConfigScriptError(summary, where=f"image {spec.name!r}", output=error.stdout) from error
    output = process.decoded(proc.stdout)
    log.write(proc.stdout)
    if proc.returncode != 0:
        problem = bwrap.setup_failure(output)
        if problem:
            summary = f"the sandbox for configuration script {script.name} could not start: {problem}"
        else:
            summary = f"configuration script {script.name} failed with exit status {proc.returncode}"
        tail = output.splitlines()[-TAIL_LINES:]
        message = "\n".join([summary, f"--- last {len(tail)} lines of its output ---", *tail]) if tail else summary
        raise ConfigScriptError(message, where=f"image {spec.name!r}", output=output)


# --- distroless -----------------------------------------------------------------------------------------


def make_distroless(root: Path, *, env: dict[str, str], log: BinaryIO) -> tuple[str, ...]:
    """Erase the packages that provide a shell or manage packages; return their names.

    Whole packages are erased (``rpm -e``: files and rpmdb entries together, no scriptlets, since the
    shell they would need is going), so the package list scanners read stays true: it does not claim
    a busybox the image no longer has. Shell
    and package-manager commands no package owns (made by scriptlets or the configuration script) and
    command links left dangling are removed too. The rpmdb itself is kept.
    """
    commands = [f"/{directory}/{name}" for directory in _BIN_DIRS
                for name in (*_SHELLS, *_PACKAGE_MANAGER_COMMANDS)]
    present = [path for path in commands if os.path.lexists(root / path.lstrip("/"))
               and not _through_link(root, path)]
    owners = set(_owners(root, env, present))
    installed = {package.split("\t")[0] for package in _rpm(root, env, ["-qa", "--qf", "%{NAME}\\n"]).splitlines()}
    doomed = sorted((owners | (installed & _PACKAGE_MANAGER_PACKAGES)) - {_PUBKEY_PACKAGE})
    if doomed:
        log.write(f"tributary: distroless: erasing {' '.join(doomed)}\n".encode())
        _rpm(root, env, ["-e", "--nodeps", "--noscripts", "--notriggers", *doomed])
    for path in commands:
        target = root / path.lstrip("/")
        if os.path.lexists(target) and not _through_link(root, path):
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink()
    for directory in _BIN_DIRS:
        base = root / directory
        if base.is_symlink() or not base.is_dir():
            continue
        for entry in sorted(base.iterdir()):
            if entry.is_symlink() and not _exists_in_root(root, "/" + str(entry.relative_to(root))):
                entry.unlink()
    return tuple(doomed)


def _through_link(root: Path, path: str) -> bool:
    """Whether ``path``'s directory is a symbolic link (``/bin`` -> ``usr/bin``): the file is seen elsewhere."""
    parent = root / PurePosixPath(path).parent.relative_to("/")
    return any(p.is_symlink() for p in (parent, *parent.parents) if root in p.parents)


def _owners(root: Path, env: dict[str, str], paths: Sequence[str]) -> list[str]:
    """The names of the packages owning ``paths`` (paths nobody owns are skipped)."""
    if not paths:
        return []
    proc = rpm.run(["-qf", "--qf", "%{NAME}\\n", *paths], root=root, dbpath=RPMDB_PATH, env=env, ok=None)
    return sorted({line.strip() for line in proc.stdout.splitlines()
                   if line.strip() and not line.startswith("file ") and " " not in line.strip()})


def write_rpm_manifest(root: Path, env: dict[str, str]) -> Path:
    """``/var/lib/rpmmanifest/container-manifest-2``: the package list as CBL-Mariner distroless images carry it.

    One line per package in rpm's query format ``RPM_MANIFEST_FORMAT`` (ten tab-separated fields),
    sorted; scanners (trivy, syft) read it where they cannot open the rpmdb.
    """
    lines = [line for line in _rpm(root, env, ["-qa", "--qf", RPM_MANIFEST_FORMAT]).splitlines()
             if line and not line.startswith(_PUBKEY_PACKAGE + "\t")]
    target = root / RPM_MANIFEST_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(target.parent, 0o755)
    atomic_write(target, "".join(line + "\n" for line in sorted(lines)), mode=0o644)
    return target


# --- rpm queries ----------------------------------------------------------------------------------------


def _rpm(root: Path, env: dict[str, str], args: Sequence[str]) -> str:
    try:
        return rpm.run(args, root=root, dbpath=RPMDB_PATH, env=env).stdout
    except process.ToolError as error:
        message = process.last_line(error.stderr) or f"exit status {error.returncode}"
        raise ImageError(f"rpm {' '.join(args[:1])} in the image root failed: {message}") from error


def query_packages(root: Path) -> list[str]:
    """NEVRAs of every package in the rpmdb of ``root`` (``rpm -qa``), sorted, leaving ``root`` untouched.

    rpm opens its sqlite database for writing even to read it, and leaves ``-shm``/``-wal`` files (and
    a new directory mtime) behind; so the query runs on a copy of the rpmdb.
    """
    database = root / RPMDB_PATH.lstrip("/")
    if not (database / "rpmdb.sqlite").is_file():
        raise ImageError(f"{root} has no rpmdb at {RPMDB_PATH}")
    with tempfile.TemporaryDirectory(prefix="trib-rpmq-") as scratch:
        copy = Path(scratch) / "rpmdb"
        shutil.copytree(database, copy)
        env = _environment(dnf.rpm_home(Path(scratch) / "home"), 0)
        try:
            proc = rpm.run(["-qa"], dbpath=copy, env=env)
        except process.ToolError as error:
            raise ImageError(f"rpm -qa on the rpmdb of {root} failed: {error.stderr.strip()}") from error
        return sorted(proc.stdout.split())


def _query_packages(root: Path, env: dict[str, str], index: _ChannelIndex) -> tuple[InstalledPackage, ...]:
    packages = []
    for line in _rpm(root, env, ["-qa", "--qf", _QUERY_FORMAT]).splitlines():
        fields = dict(zip(_QUERY_FIELDS, line.split("\t"), strict=True))
        if fields["NAME"] == _PUBKEY_PACKAGE:
            continue
        epoch = int(fields["EPOCHNUM"] or 0)
        nevra = _nevra(fields["NAME"], epoch, fields["VERSION"], fields["RELEASE"], fields["ARCH"])
        sha256, channel = index.files.get(nevra, (None, None))
        packages.append(InstalledPackage(
            name=fields["NAME"], epoch=epoch, version=fields["VERSION"], release=fields["RELEASE"],
            arch=fields["ARCH"], license=_none(fields["LICENSE"]), build_time=int(fields["BUILDTIME"] or 0),
            install_time=int(fields["INSTALLTIME"] or 0), size=int(fields["SIZE"] or 0),
            source_rpm=_none(fields["SOURCERPM"]), vendor=_none(fields["VENDOR"]), sha256=sha256, channel=channel))
    return tuple(sorted(packages, key=lambda package: package.nevra))


def _none(value: str) -> str:
    return "" if value == "(none)" else value


# --- clean-up and time stamps ---------------------------------------------------------------------------


def _owned_paths(root: Path, env: dict[str, str]) -> set[str]:
    """Every path a package installs (ghost files excluded: they are not shipped, only claimed)."""
    owned = set()
    for line in _rpm(root, env, ["-qa", "--qf", "[%{FILENAMES}\\t%{FILEFLAGS}\\n]"]).splitlines():
        path, _, flags = line.rpartition("\t")
        if path and flags.isdigit() and not int(flags) & _RPMFILE_GHOST:
            owned.add(path)
    return owned


def _remove_leftovers(root: Path, env: dict[str, str]) -> None:
    """Remove what dnf, rpm and ldconfig left that no package ships; keep whatever a package owns."""
    owned = _owned_paths(root, env)
    _checkpoint_rpmdb(root)
    leftovers = [*_LEFTOVERS, *(str(p.relative_to(root)) for p in sorted(root.glob("var/log/dnf*")))]
    for relative in leftovers:
        path = root / relative
        if not os.path.lexists(path) or _through_link(root, "/" + relative):
            continue
        _remove_unowned(path, "/" + relative, owned)


def _remove_unowned(path: Path, name: str, owned: set[str]) -> None:
    if path.is_dir() and not path.is_symlink():
        for entry in sorted(path.iterdir()):
            _remove_unowned(entry, f"{name}/{entry.name}", owned)
        if name not in owned:
            with contextlib.suppress(OSError):
                path.rmdir()  # kept when something owned is still inside
    elif name not in owned:
        path.unlink()


def _checkpoint_rpmdb(root: Path) -> None:
    """Fold a non-empty ``-wal`` into ``rpmdb.sqlite`` so deleting the ``-wal`` and ``-shm`` loses nothing."""
    database = root / RPMDB_PATH.lstrip("/") / "rpmdb.sqlite"
    wal = database.with_name("rpmdb.sqlite-wal")
    if database.is_file() and wal.is_file() and wal.stat().st_size > 0:
        connection = sqlite3.connect(str(database))
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()


def stamp_tree(root: Path, epoch: int) -> None:
    """Set the modification and access time of every file, link and directory under ``root`` to ``epoch``."""
    for directory, dirs, files in os.walk(root, topdown=False):
        for name in (*files, *dirs):
            os.utime(os.path.join(directory, name), (epoch, epoch), follow_symlinks=False)
        os.utime(directory, (epoch, epoch), follow_symlinks=False)

