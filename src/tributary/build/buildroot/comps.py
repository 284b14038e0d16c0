"""The ``@groups`` of a buildroot's package set, replaced by their packages before dnf runs.

A mock config's ``chroot_setup_cmd`` and the default buildroot name comps groups (``@buildsys-build``),
which dnf would look up in the repositories' comps documents. Debian 13's dnf cannot: under Python 3.13
its python3-libcomps 0.1.21 crashes (SIGSEGV) in every group lookup, because ``iter()`` of one of its
iterators makes a broken iterator (Fedora bug 2331665, fixed in libcomps 0.1.22). So tributary reads the
groups itself, on every host alike: a group stands for its mandatory and default packages, which is what
``dnf install @group`` installs (optional packages are not installed; conditional ones, which no build
set has, are left out). A group found in several repositories stands for the packages of all of them, as
dnf merges comps documents. Groups that no repository has are returned, for the caller to report.
"""

from __future__ import annotations

import tempfile
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from tributary.build.buildroot.repos import CONNECT_TIMEOUT, REPOMD, PinnedRepo, RepositoryError
from tributary.tools.createrepo import decompressed

_REPO_NS = "{http://linux.duke.edu/metadata/repo}"
GROUP_RECORDS = ("group", "group_zst", "group_xz", "group_gz", "group_bz2")
"""repomd.xml records holding the comps document, the plain one preferred (names as createrepo_c writes them)."""
INSTALLED_TYPES = ("mandatory", "default")


def expand(packages: Sequence[str], repos: Sequence[PinnedRepo], *,
           timeout: float = CONNECT_TIMEOUT) -> tuple[list[str], list[str]]:
    """``packages`` with each ``@group`` replaced by its packages, in order, without repeats; and the
    groups (``@name``) that no repository of ``repos`` has. Reads comps only when a group is named."""
    if not any(package.startswith("@") for package in packages):
        return list(packages), []
    groups: dict[str, list[str]] = {}
    for repo in repos:
        text = _comps_document(repo, timeout)
        for name, members in (group_members(text, repo.id) if text is not None else {}).items():
            groups.setdefault(name, []).extend(members)
    expanded: list[str] = []
    unknown: list[str] = []
    for package in packages:
        if not package.startswith("@"):
            expanded.append(package)
        elif package[1:] in groups:
            expanded.extend(groups[package[1:]])
        else:
            unknown.append(package)
    return list(dict.fromkeys(expanded)), unknown


def group_members(comps: bytes, source: str) -> dict[str, list[str]]:
    """Each group of a comps document: its id and the packages ``dnf install @id`` installs."""
    try:
        document = ET.fromstring(comps)
    except ET.ParseError as error:
        raise RepositoryError(f"repository {source!r}: its comps document is not XML: {error}") from None
    groups: dict[str, list[str]] = {}
    for group in document.findall("group"):
        name = (group.findtext("id") or "").strip()
        if not name:
            continue
        members = groups.setdefault(name, [])
        for requirement in group.iterfind("packagelist/packagereq"):
            # A requirement without a type is mandatory, as yum and dnf read it.
            if requirement.get("type", "mandatory") in INSTALLED_TYPES and (requirement.text or "").strip():
                members.append((requirement.text or "").strip())
    return groups


def _comps_document(repo: PinnedRepo, timeout: float) -> bytes | None:
    """The repository's comps document, or None when its repomd.xml names none."""
    repomd = _read(repo, f"{repo.url}/{REPOMD}", timeout)
    try:
        records = {data.get("type"): data.find(f"{_REPO_NS}location")
                   for data in ET.fromstring(repomd).iter(f"{_REPO_NS}data")}
    except ET.ParseError as error:
        raise RepositoryError(f"repository {repo.id!r}: {repo.url}/{REPOMD} is not XML: {error}") from None
    for kind in GROUP_RECORDS:
        location = records.get(kind)
        href = location.get("href") if location is not None else None
        if href:
            raw = _read(repo, f"{repo.url}/{href}", timeout)
            if kind == "group":
                return raw
            with tempfile.TemporaryDirectory(prefix="trib-comps-") as scratch:
                compressed = Path(scratch) / Path(urllib.parse.urlsplit(href).path).name
                compressed.write_bytes(raw)
                return decompressed(compressed)
    return None


def _read(repo: PinnedRepo, url: str, timeout: float) -> bytes:
    parts = urllib.parse.urlsplit(url)
    try:
        if parts.scheme == "file":
            return Path(urllib.parse.unquote(parts.path)).read_bytes()
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data: bytes = response.read()
            return data
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or error
        raise RepositoryError(f"repository {repo.id!r}: cannot read {url}: {reason}") from None
