"""The published channels an image is installed from: their ``.repo`` files, keys and package index.

A channel is what ``trib repo publish`` wrote (``<output-dir>/repo/<channel>``): ``repodata/``, one
``.repo`` file and, when it is signed, its ``RPM-GPG-KEY-*``. The image build copies each ``.repo``
file into a private ``reposdir`` pointed at the channel directory (``Channel.local_repo_file``), and
indexes the channels' packages by NEVRA to record which RPM file (sha256, channel) each installed
package came from.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tributary.image.errors import ImageError
from tributary.tools import gpg
from tributary.tools.createrepo import CreaterepoError, read_primary
from tributary.tools.rpm import nevra as _nevra
from tributary.upstream.fingerprint import file_sha256


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
class ChannelIndex:
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

def index_channels(channels: Sequence[Channel]) -> ChannelIndex:
    """Every binary package of ``channels`` by NEVRA, read from their primary metadata."""
    index = ChannelIndex()
    for channel in channels:
        try:
            packages = read_primary(channel.path)
        except CreaterepoError as error:
            raise ImageError(f"cannot read the metadata of channel {channel.name}: {error.message}") from error
        for package in packages:
            if package.arch == "src":
                continue
            nevra = _nevra(package.name, package.epoch, package.version, package.release, package.arch)
            if package.checksum_type == "sha256":
                digest = package.checksum
            else:
                digest = file_sha256(channel.path / package.location)
            index.files.setdefault(nevra, (digest, channel.name))
            index.newest_build = max(index.newest_build, package.build_time)
    return index


def check_unique_repo_ids(channels: Sequence[Channel], where: str) -> None:
    seen: dict[str, str] = {}
    for channel in channels:
        if channel.repo_id in seen:
            raise ImageError(f"channels {seen[channel.repo_id]} and {channel.name} both name repository "
                             f"{channel.repo_id!r}", where=where)
        seen[channel.repo_id] = channel.name


def check_keyring_socket_room(cachedir: Path, channels: Sequence[Channel], where: str) -> None:
    """Fail early when dnf's key ring for a signed channel would be too deep for gpg-agent's socket.

    repo_gpgcheck makes dnf keep a key ring in ``<cachedir>/<repo>-<hash>/pubring``; without
    ``/run/user/<uid>`` (a machine or container with no login session) gpg-agent puts its socket in
    there, and a long path makes the check fail with a message about no agent running rather than
    about the path. The image build keeps dnf's cache in a short scratch directory for this reason,
    so only a very long ``TMPDIR`` gets here.
    """
    if Path(f"/run/user/{os.getuid()}").is_dir():
        return
    for channel in channels:
        if channel.repo_gpgcheck:
            socket = cachedir / f"{channel.repo_id}-0123456789abcdef" / "pubring" / "S.gpg-agent"
            if not gpg.socket_path_fits(str(socket)):
                raise ImageError(f"dnf's cache {cachedir} is too deep for the gpg-agent socket dnf needs to check "
                                 f"channel {channel.name}'s metadata signature", where=where,
                                 hint=f"use a shorter TMPDIR, or create /run/user/{os.getuid()}")
