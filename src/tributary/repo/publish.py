"""Publishing: ``<output-dir>/repo/<channel>/`` made whole beside the old one, then swapped in at once.

One channel directory holds::

    Packages/<first letter>/<file>.rpm      copies of the built RPMs, signed when a key is given
    repodata/repomd.xml (+ .asc)            createrepo_c metadata and its detached signature
    RPM-GPG-KEY-<name>                      the public key (signed channels only)
    <name>-<channel>.repo                   a dnf repository file pointing at the channel

Like any package repository, a channel is readable by everyone, whatever the umask of the publishing
process: directories 0755, files 0644 (``repo/`` itself 0755), so a web server running as another
user can serve it. Nothing in it is secret: the signing key's public half is all it holds of the key.

Each channel is built in ``repo/.<channel>.new-XXXX/`` and exchanged with ``repo/<channel>/`` by one
``renameat2(RENAME_EXCHANGE)``: a reader sees the old channel or the new one, never a directory
without metadata nor no directory at all. Before the swap nothing of the old channel changes, so an
interrupted publish leaves it whole; the next publish removes the left-over staging directory.

The originals under ``rpms/`` are never touched: signing works on the copies.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import filecmp
import os
import re
import shutil
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tributary.config.project import Project
from tributary.fsutil import atomic_write, replace_directory
from tributary.repo.channels import plan_channels
from tributary.repo.errors import RepoError
from tributary.repo.sign import SigningKey
from tributary.rpmfile import RpmHeader
from tributary.tools import gpg, rpmsign
from tributary.tools.createrepo import write_repodata
from tributary.upstream.fingerprint import file_sha256

_REPO_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]+")
PUBLIC_DIRECTORY = 0o755
PUBLIC_FILE = 0o644


@dataclass(frozen=True)
class ChannelResult:
    """One published channel: where it is, what it holds and how it was signed."""

    channel: str
    path: Path
    packages: tuple[str, ...]  # locations inside the channel, sorted
    revision: int
    signed_by: str | None  # the key's fingerprint
    repo_file: Path
    key_file: Path | None
    repomd_sha256: str

    def to_json(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "path": str(self.path),
            "packages": list(self.packages),
            "revision": self.revision,
            "signedBy": self.signed_by,
            "repoFile": str(self.repo_file),
            "keyFile": str(self.key_file) if self.key_file else None,
            "repomdSha256": self.repomd_sha256,
        }


def repo_root(project: Project) -> Path:
    """``<output-dir>/repo``: the parent of every channel directory."""
    return project.output_dir / "repo"


def built_rpms(project: Project) -> list[Path]:
    """What the build stage left: ``<output-dir>/rpms/<arch>/*.rpm`` and ``<output-dir>/srpms/*.rpm``, sorted."""
    out = project.output_dir
    return sorted([*out.glob("rpms/*/*.rpm"), *out.glob("srpms/*.rpm")])


def repo_name(project: Project) -> str:
    """The name in ``<name>-<channel>.repo`` and ``RPM-GPG-KEY-<name>``: the project's default distro.

    Repository ids allow only ``[A-Za-z0-9_.:-]``; anything else becomes ``-``.
    """
    distro = project.settings.default_distro
    raw = distro.name if distro is not None and distro.name else project.root.name
    return _REPO_ID_UNSAFE.sub("-", raw).strip("-") or "tributary"


def source_date_epoch(environ: Mapping[str, str] | None = None) -> int | None:
    """``SOURCE_DATE_EPOCH`` from the environment, or None when unset; an error when it is no integer."""
    value = (os.environ if environ is None else environ).get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise RepoError(f"SOURCE_DATE_EPOCH={value!r} is not a number of seconds")
    return int(value)


def publish(
    project: Project,
    rpms: Iterable[Path],
    *,
    signing: SigningKey | None,
    channels: Collection[str] | None = None,
    baseurl: str | None = None,
    name: str | None = None,
    compression: str = "zstd",
    sources: Mapping[str, str] | None = None,
    epoch: int | None = None,
) -> list[ChannelResult]:
    """Publish ``rpms`` into one repository per channel under ``repo_root(project)``.

    ``channels`` limits the publish to those channels (a named channel no RPM goes to is published
    empty); None publishes every channel some RPM goes to and leaves other channel directories alone.
    ``baseurl`` is the URL template the ``.repo`` file names, ``{channel}`` replaced (default: the
    channel directory as ``file://``). ``epoch`` (default ``SOURCE_DATE_EPOCH``, else the newest build
    time in the channel) dates the metadata and the signatures. ``sources`` maps source package names
    to components where they differ (see ``channels.component_for``).
    """
    plan = plan_channels(project, rpms, sources=sources)
    wanted = sorted(set(plan.channels) if channels is None else set(channels))
    name = name or repo_name(project)
    root = repo_root(project)
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, PUBLIC_DIRECTORY)
    if epoch is None:
        epoch = source_date_epoch()
    results = []
    with _publish_lock(root):
        for channel in wanted:
            _check_channel_name(channel)
            results.append(_publish_channel(root, channel, plan.channels.get(channel, []), signing=signing,
                                            baseurl=baseurl, name=name, compression=compression, epoch=epoch))
    return results


def _check_channel_name(channel: str) -> None:
    if channel in ("", ".", "..") or "/" in channel or "\\" in channel or channel.startswith("."):
        raise RepoError(f"channel name {channel!r} cannot name a directory under repo/")


def _publish_channel(root: Path, channel: str, rpms: list[RpmHeader], *, signing: SigningKey | None,
                     baseurl: str | None, name: str, compression: str, epoch: int | None) -> ChannelResult:
    target = root / channel
    for stale in root.glob(f".{channel}.new-*"):
        shutil.rmtree(stale, ignore_errors=True)  # an interrupted publish's; we hold the lock
    stage = Path(tempfile.mkdtemp(prefix=f".{channel}.new-", dir=root))
    try:
        hrefs = _copy_packages(rpms, stage)
        revision = epoch if epoch is not None else max((r.build_time for r in rpms), default=0)
        key_file = None
        if signing is not None:
            rpmsign.addsign([stage / href for href in hrefs], gnupghome=signing.gnupghome,
                            fingerprint=signing.fingerprint, timestamp=signing.signing_time(revision))
        write_repodata(stage, hrefs, revision=revision, compression=compression)
        repomd = stage / "repodata" / "repomd.xml"
        if signing is not None:
            signature = gpg.detach_sign(signing.gnupghome, signing.fingerprint, repomd,
                                        timestamp=signing.signing_time(revision))
            atomic_write(repomd.with_name("repomd.xml.asc"), signature)
            key_file = stage / f"RPM-GPG-KEY-{name}"
            atomic_write(key_file, signing.public_key())
        url = _baseurl(baseurl, channel, target)
        repo_file = stage / f"{name}-{channel}.repo"
        atomic_write(repo_file, repo_file_text(f"{name}-{channel}", f"{name} {channel}", url,
                                               key_url=url + key_file.name if key_file else None))
        repomd_sha256 = file_sha256(repomd)
        _finish_tree(stage)
        swap_in(stage, target)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return ChannelResult(
        channel=channel,
        path=target,
        packages=tuple(sorted(hrefs)),
        revision=revision,
        signed_by=signing.fingerprint if signing else None,
        repo_file=target / repo_file.name,
        key_file=target / key_file.name if key_file else None,
        repomd_sha256=repomd_sha256,
    )


def _copy_packages(rpms: list[RpmHeader], stage: Path) -> list[str]:
    """Copy each RPM to ``Packages/<first letter>/``; the same file twice is one, two different ones an error."""
    hrefs: dict[str, Path] = {}
    for info in rpms:
        filename = info.path.name
        href = f"Packages/{filename[0].lower()}/{filename}"
        if href in hrefs:
            if filecmp.cmp(hrefs[href], info.path, shallow=False):
                continue
            raise RepoError(f"two different RPMs are both named {filename}: {hrefs[href]} and {info.path}")
        hrefs[href] = info.path
        destination = stage / href
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(info.path, destination)
    return sorted(hrefs)


def _baseurl(template: str | None, channel: str, target: Path) -> str:
    url = template.replace("{channel}", channel) if template else target.absolute().as_uri()
    return url if url.endswith("/") else url + "/"


def repo_file_text(repo_id: str, title: str, baseurl: str, *, key_url: str | None) -> str:
    """A dnf ``.repo`` section; with a key, both package and metadata signatures are required."""
    lines = [f"[{repo_id}]", f"name={title}", f"baseurl={baseurl}", "enabled=1"]
    if key_url:
        lines += ["gpgcheck=1", "repo_gpgcheck=1", f"gpgkey={key_url}"]
    else:
        lines += ["gpgcheck=0", "repo_gpgcheck=0"]
    return "\n".join(lines) + "\n"


def _finish_tree(top: Path) -> None:
    """Make everything below ``top`` readable by everyone (mkdtemp, mkstemp, createrepo_c and rpmsign
    follow the umask or make private files), then fsync every file and directory, so the swapped-in
    channel survives a crash whole."""
    for directory, _dirs, files in os.walk(top):
        os.chmod(directory, PUBLIC_DIRECTORY)
        for filename in files:
            path = os.path.join(directory, filename)
            os.chmod(path, PUBLIC_FILE)
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_directory(Path(directory))


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- the swap ----------------------------------------------------------------------------------------

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _renameat2_exchange(a: Path, b: Path) -> bool:
    """Exchange two directories atomically (Linux 3.15+, glibc 2.28+); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return False
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def swap_in(new: Path, target: Path) -> None:
    """Put directory ``new`` in ``target``'s place; the old ``target`` (if any) is then removed.

    An exchange where the file system allows it; elsewhere two renames (a reader may then find no
    directory for an instant, never a half-written one).
    """
    if not target.exists():
        os.rename(new, target)
    elif _renameat2_exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the old channel
    else:
        replace_directory(new, target)
    _fsync_directory(target.parent)


@contextlib.contextmanager
def _publish_lock(root: Path) -> Iterator[None]:
    """One publish at a time per output directory (the second waits), so staging dirs can be cleaned."""
    with open(root / ".publish.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
