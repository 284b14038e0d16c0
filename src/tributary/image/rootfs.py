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
   roots this makes need not contain ``useradd`` (``image.accounts``).
3. The configuration script (KIWI's ``config.sh``), run inside the root in a bubblewrap sandbox.
4. For a distroless image, the package manager and the shells are erased; the package list stays
   readable to scanners (the rpmdb, and the manifest CBL-Mariner/Azure Linux distroless images carry;
   ``image.distroless``).
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

import contextlib
import io
import os
import sqlite3
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tributary.config.project import Project
from tributary.fsutil import atomic_write, staged_directory
from tributary.image.accounts import add_users
from tributary.image.channels import (
    ChannelIndex,
    check_keyring_socket_room,
    check_unique_repo_ids,
    index_channels,
    read_channel,
)
from tributary.image.distroless import make_distroless, write_rpm_manifest
from tributary.image.errors import ConfigScriptError, ImageError
from tributary.image.rootpaths import exists_in_root, through_link
from tributary.image.rpmdb import PUBKEY_PACKAGE, RPMDB_PATH, rpm_environment, rpm_in_root
from tributary.image.spec import ImageSpec
from tributary.repo.publish import source_date_epoch
from tributary.tools import bwrap, dnf, gpg, process, rpm
from tributary.tools.rpm import nevra as _nevra

_QUERY_FIELDS = ("NAME", "EPOCHNUM", "VERSION", "RELEASE", "ARCH", "LICENSE", "BUILDTIME", "INSTALLTIME", "SIZE",
                 "SOURCERPM", "VENDOR")
_QUERY_FORMAT = "\\t".join(f"%{{{name}}}" for name in _QUERY_FIELDS) + "\\n"

# What dnf and ldconfig leave in a root that no image should carry (``var/log/dnf*`` is globbed).
_LEFTOVERS = ("var/cache/dnf", "var/lib/dnf", "var/log/hawkey.log", "etc/dnf", "var/cache/ldconfig/aux-cache",
              f"{RPMDB_PATH.lstrip('/')}/rpmdb.sqlite-shm", f"{RPMDB_PATH.lstrip('/')}/rpmdb.sqlite-wal")
_RPMFILE_GHOST = 1 << 6

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
    check_unique_repo_ids(read, where)
    index = index_channels(read)
    epoch = source_date_epoch()
    if epoch is None:
        epoch = index.newest_build
    names = tuple(channel.name for channel in read)
    out = log if log is not None else io.BytesIO()

    with tempfile.TemporaryDirectory(prefix="trib-image-") as scratch, staged_directory(Path(dest)) as root:
        work = Path(scratch)
        os.chmod(root, 0o755)
        cachedir = work / "dnf-cache"  # outside the root: a short path for gpg-agent's socket (see the check)
        check_keyring_socket_room(cachedir, read, where)
        home = dnf.rpm_home(work / "home")
        reposdir = work / "repos.d"
        reposdir.mkdir()
        for channel in read:
            atomic_write(reposdir / f"{channel.name}.repo", channel.local_repo_file())
        env = rpm_environment(home, epoch)
        release = releasever(project)
        transactions = [spec.bootstrap_packages] if spec.bootstrap_packages else []
        transactions.append(spec.packages)
        for transaction in transactions:
            _dnf_install(root, transaction, releasever=release, reposdir=reposdir, cachedir=cachedir, home=home,
                         env=env, log=out, where=where, channels=names)
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
        _remove_leftovers(root, env, work)
        stamp_tree(root, epoch)
    return RootfsResult(Path(dest), spec.name, packages, epoch, release, names, removed)


def _dnf_install(
    root: Path,
    packages: Sequence[str],
    *,
    releasever: str,
    reposdir: Path,
    cachedir: Path,
    home: Path,
    env: dict[str, str],
    log: BinaryIO,
    where: str,
    channels: Sequence[str],
) -> None:
    argv = dnf.install_from_repo_files_args(
        root, packages, releasever=releasever, reposdir=reposdir, cachedir=cachedir, config=home / dnf.CONFIG_NAME
    )
    log.write(("+ " + " ".join(argv) + "\n").encode())
    try:
        log.write(dnf.run(argv, home=home, env=env).encode())
    except dnf.DnfError as error:
        log.write(error.output.encode())
        raise ImageError(summarize_dnf_failure(error.output, channels, error.returncode or 1), where=where) from error
    finally:
        # repo_gpgcheck verifies repomd.xml with gpgme, which starts a gpg-agent for a key ring in
        # dnf's cache and leaves it running.
        for keyring in sorted(cachedir.glob("*/pubring")):
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
    if not exists_in_root(root, interpreter):
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


# --- rpm queries ----------------------------------------------------------------------------------------


def _query_packages(root: Path, env: dict[str, str], index: ChannelIndex) -> tuple[InstalledPackage, ...]:
    packages = []
    for line in rpm_in_root(root, env, ["-qa", "--qf", _QUERY_FORMAT]).splitlines():
        fields = dict(zip(_QUERY_FIELDS, line.split("\t"), strict=True))
        if fields["NAME"] == PUBKEY_PACKAGE:
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
    for line in rpm_in_root(root, env, ["-qa", "--qf", "[%{FILENAMES}\\t%{FILEFLAGS}\\n]"]).splitlines():
        path, _, flags = line.rpartition("\t")
        if path and flags.isdigit() and not int(flags) & _RPMFILE_GHOST:
            owned.add(path)
    return owned


def _remove_leftovers(root: Path, env: dict[str, str], scratch: Path) -> None:
    """Remove what dnf, rpm and ldconfig left that no package ships; keep whatever a package owns.

    dnf keeps its metadata in the cache directory it is given (``scratch``, outside the root) but
    still writes ``expired_repos.json`` under ``<root>/<that directory>``: that echo of the host's
    scratch path goes too, with the directories above it that only it needed.
    """
    owned = _owned_paths(root, env)
    _checkpoint_rpmdb(root)
    echo = scratch.relative_to(scratch.anchor)
    leftovers = [*_LEFTOVERS, str(echo), *(str(p.relative_to(root)) for p in sorted(root.glob("var/log/dnf*")))]
    for relative in leftovers:
        path = root / relative
        if not os.path.lexists(path) or through_link(root, "/" + relative):
            continue
        _remove_unowned(path, "/" + relative, owned)
    for parent in list(echo.parents)[:-1]:  # the deepest first, the root itself not
        if f"/{parent}" in owned or through_link(root, f"/{parent}/x"):
            break
        try:
            (root / parent).rmdir()
        except OSError:  # not empty (something else lives there) or not there at all
            break


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

