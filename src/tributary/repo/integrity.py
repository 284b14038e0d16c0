"""Integrity of a published channel, checked as dnf checks it before it installs anything from it.

dnf (through librepo and rpm) refuses a repository or a package when:

* ``repo_gpgcheck=1`` and ``repodata/repomd.xml.asc`` is missing or is not a good signature of
  ``repomd.xml`` by the key the ``.repo`` file's ``gpgkey`` names;
* a metadata file ``repomd.xml`` lists is missing, or its size or checksum is not the listed one;
* a package primary lists is missing, or its size or checksum is not the listed one;
* the package's own header and payload digests do not match (a file changed after it was made), or,
  with ``gpgcheck=1``, it carries no signature, or one by another key, or a bad one.

``check_channel`` reports each of these for one local channel directory (as ``trib repo publish``
makes it) without a network or a configured dnf. The trusted key is, as for dnf, the one the
channel's ``.repo`` file names (its file in the channel, which ``publish`` puts there), or one the
caller passes: a key from elsewhere, which is the real check that nobody replaced the channel's key too.
The ``.repo`` file decides what is required; a channel without one is held to its key when it has one.
"""

from __future__ import annotations

import configparser
import hashlib
import tempfile
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import createrepo_c as cr

from tributary.errors import PathEscapeError
from tributary.fsutil import resolve_inside
from tributary.tools import gpg, rpm

_HASHES = {"sha": "sha1", "sha1": "sha1", "sha224": "sha224", "sha256": "sha256", "sha384": "sha384",
           "sha512": "sha512", "md5": "md5"}


@dataclass(frozen=True, order=True)
class Damaged:
    """A file of a channel that dnf would refuse, and why (one line)."""

    repo: str  # the channel directory
    file: str  # relative to it
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"repo": self.repo, "file": self.file, "reason": self.reason}


@dataclass(frozen=True)
class Policy:
    """What the channel's ``.repo`` file asks dnf to check, and the key it trusts (None: not found)."""

    gpgcheck: bool
    repo_gpgcheck: bool
    key: Path | None
    key_source: str  # where the key was looked for, for messages


def check_channel(channel: Path, *, trusted_key: Path | None = None) -> list[Damaged]:
    """Everything in ``channel`` that dnf would refuse, sorted; an empty list when dnf would take it all."""
    return sorted(_check(Path(channel), trusted_key))


def _check(channel: Path, trusted_key: Path | None) -> Iterator[Damaged]:
    def damaged(file: str, reason: str) -> Damaged:
        return Damaged(str(channel), file, reason)

    policy = read_policy(channel, trusted_key)
    repomd = channel / "repodata" / "repomd.xml"
    if not repomd.is_file():
        yield damaged("repodata/repomd.xml", "missing: this is no repository")
        return
    if (policy.gpgcheck or policy.repo_gpgcheck) and policy.key is None:
        yield damaged(policy.key_source, "the signing key the .repo file names is not there: nothing can be verified")
        return
    with tempfile.TemporaryDirectory(prefix="trib-repo-check-") as scratch:
        if policy.repo_gpgcheck:
            assert policy.key is not None
            problem = _metadata_signature(repomd, policy.key, Path(scratch) / "gnupg")
            if problem:
                yield damaged("repodata/repomd.xml", problem)
                return  # nothing it lists can be trusted
        try:
            records = list(cr.Repomd(str(repomd)).records)
        except cr.CreaterepoCError as error:
            yield damaged("repodata/repomd.xml", f"cannot be read: {error}")
            return
        primary = None
        for record in records:
            problem = _file_problem(channel, record.location_href, record.checksum_type, record.checksum, record.size)
            if problem:
                yield damaged(record.location_href, f"{problem} ({record.type} metadata)")
            elif record.type == "primary":
                primary = channel / record.location_href
        if primary is None:
            if not any(record.type == "primary" for record in records):
                yield damaged("repodata/repomd.xml", "lists no primary metadata")
            return
        packages: list[Path] = []
        for href, problem in _packages(channel, primary):
            if problem:
                yield damaged(href, problem)
            else:
                packages.append(channel / href)
        keyring = Path(scratch) / "rpmdb"
        if policy.gpgcheck:
            assert policy.key is not None
            rpm.import_key(keyring, policy.key)
        verdicts = rpm.check_signatures(packages, dbpath=keyring, require_signature=policy.gpgcheck)
        for path, problem in verdicts.items():
            yield damaged(path.relative_to(channel).as_posix(), problem)


def read_policy(channel: Path, trusted_key: Path | None) -> Policy:
    """What the channel's ``*.repo`` file requires (gpgcheck, repo_gpgcheck) and its key file.

    Without a ``.repo`` file, a channel holding an ``RPM-GPG-KEY-*`` is held to both checks.
    """
    repo_files = sorted(channel.glob("*.repo"))
    local_keys = sorted(channel.glob("RPM-GPG-KEY-*"))
    if not repo_files:
        signed = bool(local_keys) or trusted_key is not None
        key = trusted_key or (local_keys[0] if local_keys else None)
        return Policy(signed, signed, key, str(key or "RPM-GPG-KEY-*"))
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(repo_files[0])
    section = parser[parser.sections()[0]] if parser.sections() else parser[parser.default_section]
    gpgcheck = section.get("gpgcheck", "0").strip() in ("1", "yes", "true", "True")
    repo_gpgcheck = section.get("repo_gpgcheck", "0").strip() in ("1", "yes", "true", "True")
    url = section.get("gpgkey", "").split()[0] if section.get("gpgkey", "").split() else ""
    if trusted_key is not None:
        return Policy(gpgcheck, repo_gpgcheck, trusted_key, str(trusted_key))
    if not url:
        return Policy(gpgcheck, repo_gpgcheck, None, f"{repo_files[0].name}: gpgkey")
    # The key the .repo names: its file in the channel (where publish puts it), whatever the URL's host.
    name = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    candidate = channel / name
    return Policy(gpgcheck, repo_gpgcheck, candidate if name and candidate.is_file() else None, name or url)


def _metadata_signature(repomd: Path, key: Path, home: Path) -> str | None:
    """Why ``repomd.xml.asc`` is not a good signature of ``repomd.xml`` by ``key``; None when it is."""
    signature = repomd.with_name("repomd.xml.asc")
    if not signature.is_file():
        return "not signed: repodata/repomd.xml.asc is missing (repo_gpgcheck=1)"
    try:
        gpg.import_keys(home, key.read_bytes())
        gpg.verify_data(home, signature.read_bytes(), repomd.read_bytes())
    except gpg.GpgError as error:
        return f"signature check failed: {str(error).splitlines()[0]}"
    finally:
        gpg.stop_agent(home)
    return None


def _packages(channel: Path, primary: Path) -> Iterator[tuple[str, str | None]]:
    """Each package primary lists: its location and why dnf would refuse the file (None: it would not)."""
    listed: list[cr.Package] = []

    def take(package: cr.Package) -> bool:
        listed.append(package)
        return True

    try:
        cr.xml_parse_primary(str(primary), pkgcb=take, do_files=0)
    except cr.CreaterepoCError as error:
        yield primary.relative_to(channel).as_posix(), f"cannot be read: {error}"
        return
    for package in listed:
        href = package.location_href
        yield href, _file_problem(channel, href, package.checksum_type, package.pkgId, package.size_package)


def _file_problem(channel: Path, href: str, checksum_type: str | None, checksum: str | None,
                  size: int | None) -> str | None:
    """Why the file at ``href`` is not the one the metadata lists; None when it is."""
    try:
        path = resolve_inside(channel, href, what="location")
    except PathEscapeError:
        return "its location leads outside the repository"
    if not path.is_file():
        return "missing"
    if size and path.stat().st_size != size:
        return f"size {path.stat().st_size}, the metadata says {size}"
    algorithm = _HASHES.get((checksum_type or "").lower())
    if algorithm is None:
        return f"checksum type {checksum_type!r} is not one dnf checks"
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != checksum:
        return f"{checksum_type} is {digest.hexdigest()[:16]}..., the metadata says {(checksum or '')[:16]}..."
    return None
