"""Container images: an OCI image layout written by hand from a root, and a docker-archive made from it.

Written with hashlib, tarfile and gzip rather than by umoci or buildah, because every byte must be a
function of the root: umoci stamps the current time into ``created`` and the history, and both need
their own state directories. The rules that make the output reproducible:

* one layer, a PAX tar of the root in a fixed order (depth first, names sorted bytewise), numeric
  owners only (no user or group names, which would come from the host's databases), every mtime
  clamped to ``created``, hard links as link entries to the first name in that order;
* gzip with ``mtime=0`` and no file name in its header;
* JSON with sorted keys and no insignificant white space; ``created`` from the caller (the root's
  ``SOURCE_DATE_EPOCH``), never the clock.

So the same root gives the same layer, config and manifest digests. Owners are kept as the root has
them (rpm installed it as root, so they are the packages' own, and a user's home belongs to the user)
rather than forced to 0. File capabilities and other extended attributes are not carried: Python's
tarfile cannot write binary PAX values the way container runtimes read them.

``docker-archive`` (``docker load``) is produced by skopeo from the layout, and skopeo's ``inspect``
of the layout is the independent check that the layout says what we meant (``check_with_skopeo``).
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import json
import os
import platform
import re
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from tributary.fsutil import atomic_write, staged_directory
from tributary.image.errors import ImageError
from tributary.image.rootfs import InstalledPackage
from tributary.image.rootpaths import os_release_name
from tributary.image.spec import ImageSpec
from tributary.tools import skopeo

LAYOUT_DIRNAME = "oci"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
GZIP_LEVEL = 9

# rpm's architecture names to the GOARCH names OCI configs use.
OCI_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "ppc64le": "ppc64le", "s390x": "s390x",
                     "riscv64": "riscv64", "i686": "386", "armv7hl": "arm"}

_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?$")


@dataclass(frozen=True)
class OciResult:
    """An OCI image layout holding one tagged image, and the digests that identify it."""

    layout: Path
    name: str
    """The repository name the image is known by (``ContainerConfig.name``, else the image's name)."""
    tag: str
    manifest_digest: str
    manifest_size: int
    config_digest: str
    layer_digest: str
    layer_size: int
    diff_id: str
    architecture: str
    labels: dict[str, str]

    @property
    def reference(self) -> str:
        """``oci:<layout>:<tag>``, for skopeo and podman."""
        return skopeo.oci_reference(self.layout, self.tag)

    def to_json(self) -> dict[str, object]:
        return {"layout": str(self.layout), "name": self.name, "tag": self.tag,
                "manifestDigest": self.manifest_digest, "manifestSize": self.manifest_size,
                "configDigest": self.config_digest, "layerDigest": self.layer_digest, "layerSize": self.layer_size,
                "diffId": self.diff_id, "architecture": self.architecture, "labels": dict(self.labels)}


# --- the tar of a root ----------------------------------------------------------------------------------


class _HashingWriter:
    """A write-only file that hashes and counts what passes through it to ``target``."""

    def __init__(self, target: Any):
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)

    def flush(self) -> None:
        self.target.flush()

    @property
    def hexdigest(self) -> str:
        return self.digest.hexdigest()


def _members(root: Path, extra: Mapping[str, bytes]) -> Iterator[tuple[str, Path | None, bytes | None]]:
    """``(archive name, path in the root or None, extra content or None)`` in archive order.

    ``extra`` adds files (by archive name, e.g. ``etc/wsl.conf``) to the directories they name, in
    sorted position; a name the root already has is an error (the caller decides which one wins).
    """
    by_directory: dict[str, dict[str, bytes]] = {}
    for name, data in extra.items():
        parent, _, base = name.strip("/").rpartition("/")
        by_directory.setdefault(parent, {})[base] = data

    def visit(directory: Path, prefix: str) -> Iterator[tuple[str, Path | None, bytes | None]]:
        with os.scandir(directory) as scan:
            entries: dict[str, Path | None] = {entry.name: Path(entry.path) for entry in scan}
        added = by_directory.pop(prefix, {})
        for base in added:
            if base in entries:
                raise ImageError(f"{prefix}/{base} is already in the image root")
            entries[base] = None
        for base in sorted(entries, key=os.fsencode):
            name = f"{prefix}/{base}" if prefix else base
            path = entries[base]
            if path is None:
                yield name, None, added[base]
                continue
            yield name, path, None
            if path.is_dir() and not path.is_symlink():
                yield from visit(path, name)

    yield from visit(root, "")
    if by_directory:
        raise ImageError(f"no directory {min(by_directory)!r} in the image root for the files added to it")


def write_root_tar(root: Path, out: BinaryIO, *, mtime: int, extra: Mapping[str, bytes] | None = None) -> None:
    """Write the tree under ``root`` (not ``root`` itself) to ``out`` as an uncompressed PAX tar.

    Names are relative (``usr/bin/greet``), as ``tar -C root -c *`` writes them; ``extra`` files are
    root-owned, mode 0644. Sockets are left out (they cannot be archived). Deterministic; see the
    module's docstring.
    """
    seen: dict[tuple[int, int], str] = {}
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as archive:
        for name, path, data in _members(Path(root), extra or {}):
            info = tarfile.TarInfo(name)
            info.uname = info.gname = ""
            if path is None:
                assert data is not None
                info.mode, info.uid, info.gid, info.mtime, info.size = 0o644, 0, 0, mtime, len(data)
                archive.addfile(info, _BytesReader(data))
                continue
            st = os.lstat(path)
            info.mode = stat.S_IMODE(st.st_mode)
            info.uid, info.gid = st.st_uid, st.st_gid
            info.mtime = min(int(st.st_mtime), mtime)
            if stat.S_ISLNK(st.st_mode):
                info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
                archive.addfile(info)
            elif stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            elif stat.S_ISREG(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in seen:
                    info.type, info.linkname = tarfile.LNKTYPE, seen[key]
                    archive.addfile(info)
                    continue
                seen[key] = name
                info.size = st.st_size
                with open(path, "rb") as handle:
                    archive.addfile(info, handle)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
                info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
                archive.addfile(info)
            elif stat.S_ISFIFO(st.st_mode):
                info.type = tarfile.FIFOTYPE
                archive.addfile(info)


class _BytesReader:
    def __init__(self, data: bytes):
        self.data = data
        self.offset = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.offset + size
        chunk = self.data[self.offset:end]
        self.offset += len(chunk)
        return chunk


@dataclass(frozen=True)
class TarDigests:
    """The sha256 and size of a tar before (``diff_id``) and after gzip (the blob)."""

    diff_id: str
    gzip_digest: str
    gzip_size: int


def write_gzip_root_tar(root: Path, out: BinaryIO, *, mtime: int,
                        extra: Mapping[str, bytes] | None = None) -> TarDigests:
    """``write_root_tar`` through gzip (level 9, no name, mtime 0), hashing both streams on the way."""
    compressed = _HashingWriter(out)
    with gzip.GzipFile(filename="", mode="wb", compresslevel=GZIP_LEVEL, fileobj=compressed, mtime=0) as zipped:
        plain = _HashingWriter(zipped)
        write_root_tar(root, plain, mtime=mtime, extra=extra)  # type: ignore[arg-type]
    return TarDigests(f"sha256:{plain.hexdigest}", f"sha256:{compressed.hexdigest}", compressed.size)


# --- the layout -----------------------------------------------------------------------------------------


def rfc3339(epoch: int) -> str:
    """``2026-01-05T10:00:00Z``: the time format of OCI's ``created`` fields and annotations."""
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_json(value: object) -> bytes:
    """JSON with sorted keys and no white space: the same data always gives the same digest."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def image_name(spec: ImageSpec) -> str:
    """The repository name of the image: ``container.name``, else the image's name in lowercase.

    Docker's rules: an optional registry host (``example.org:5000/``), then path components of
    lowercase letters and digits joined by ``.``, ``_``, ``__`` or dashes.
    """
    name = spec.container.name or spec.name.lower()
    components = name.split("/")
    if len(components) > 1 and ("." in components[0] or ":" in components[0] or components[0] == "localhost"):
        host, components = components[0], components[1:]
        valid = _HOST.match(host) is not None
    else:
        valid = True
    if not valid or not all(_COMPONENT.match(component) for component in components):
        raise ImageError(f"{name!r} is not a valid container image name (lowercase letters, digits, '.', '_', "
                         "'-' and '/')", where=f"image {spec.name!r}")
    return name


def check_tag(spec: ImageSpec) -> str:
    tag = spec.container.tag or "latest"
    if not _TAG.match(tag):
        raise ImageError(f"{tag!r} is not a valid image tag", where=f"image {spec.name!r}")
    return tag


def architecture_of(packages: Sequence[InstalledPackage]) -> str:
    """The OCI architecture of the root: its packages' (noarch aside), else this machine's (dnf's basearch)."""
    arches = sorted({package.arch for package in packages if package.arch not in ("noarch", "(none)", "")})
    machine = arches[0] if arches else platform.machine()
    return OCI_ARCHITECTURES.get(machine, machine)


def license_expression(licenses: Sequence[str]) -> str:
    """The packages' licenses as one SPDX expression: each distinct one, compound ones parenthesised."""
    parts = sorted({text.strip() for text in licenses if text.strip()})
    return " AND ".join(f"({part})" if " " in part and len(parts) > 1 else part for part in parts)


def image_labels(spec: ImageSpec, *, created: int, vendor: str | None, licenses: Sequence[str]) -> dict[str, str]:
    """The ``org.opencontainers.image.*`` labels, under the image's own (which win on a clash)."""
    labels = {"org.opencontainers.image.title": spec.name,
              "org.opencontainers.image.version": spec.version,
              "org.opencontainers.image.created": rfc3339(created)}
    if vendor:
        labels["org.opencontainers.image.vendor"] = vendor
    expression = license_expression(licenses)
    if expression:
        labels["org.opencontainers.image.licenses"] = expression
    labels.update(spec.container.labels)
    return labels


def image_config(spec: ImageSpec, *, created: int, architecture: str, diff_id: str,
                 labels: Mapping[str, str]) -> dict[str, object]:
    """The OCI image configuration: platform, how to run the image, its one layer and one history entry."""
    container = spec.container
    env = dict(container.env)
    run: dict[str, object] = {"Env": [f"{key}={value}" for key, value in
                                      ({"PATH": DEFAULT_PATH} | env if "PATH" not in env else env).items()]}
    if container.entrypoint:
        run["Entrypoint"] = list(container.entrypoint)
    if container.cmd:
        run["Cmd"] = list(container.cmd)
    if container.workdir:
        run["WorkingDir"] = container.workdir
    if container.user:
        run["User"] = container.user
    if labels:
        run["Labels"] = dict(labels)
    return {
        "created": rfc3339(created),
        "architecture": architecture,
        "os": "linux",
        "config": run,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": rfc3339(created), "created_by": f"tributary image {spec.name} {spec.version}"}],
    }


def write_oci(rootfs: Path, spec: ImageSpec, out_dir: Path, *, created: int,
              packages: Sequence[InstalledPackage] = (), vendor: str | None = None,
              architecture: str | None = None) -> OciResult:
    """Write ``out_dir/oci/``, an OCI image layout of ``rootfs`` tagged ``spec.container.tag``.

    ``created`` (the root's SOURCE_DATE_EPOCH) dates the image and clamps every mtime. ``packages``
    (the root's, from ``build_rootfs``) give the licenses label and the architecture; ``vendor``
    defaults to the root's os-release ``NAME``. The layout is written beside the old one and swapped
    in whole.
    """
    tag = check_tag(spec)
    name = image_name(spec)
    rootfs = Path(rootfs)
    if not rootfs.is_dir():
        raise ImageError(f"image root {rootfs} does not exist", where=f"image {spec.name!r}")
    arch = architecture or architecture_of(packages)
    labels = image_labels(spec, created=created, vendor=vendor if vendor is not None else os_release_name(rootfs),
                          licenses=[package.license for package in packages])
    target = Path(out_dir) / LAYOUT_DIRNAME
    with staged_directory(target) as layout:
        blobs = layout / "blobs" / "sha256"
        blobs.mkdir(parents=True)
        fd, temporary = tempfile.mkstemp(prefix=".layer.", dir=blobs)
        try:
            with os.fdopen(fd, "wb") as handle:
                digests = write_gzip_root_tar(rootfs, handle, mtime=created)
            os.replace(temporary, blobs / digests.gzip_digest.removeprefix("sha256:"))
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        config = canonical_json(image_config(spec, created=created, architecture=arch, diff_id=digests.diff_id,
                                             labels=labels))
        config_digest = _write_blob(blobs, config)
        manifest = canonical_json({
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": {"mediaType": MEDIA_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": MEDIA_LAYER, "digest": digests.gzip_digest, "size": digests.gzip_size}],
        })
        manifest_digest = _write_blob(blobs, manifest)
        index = canonical_json({
            "schemaVersion": 2,
            "mediaType": MEDIA_INDEX,
            "manifests": [{"mediaType": MEDIA_MANIFEST, "digest": manifest_digest, "size": len(manifest),
                           "platform": {"architecture": arch, "os": "linux"},
                           "annotations": {REF_NAME: tag}}],
        })
        atomic_write(layout / "index.json", index, mode=0o644)
        atomic_write(layout / "oci-layout", canonical_json({"imageLayoutVersion": "1.0.0"}), mode=0o644)
        os.chmod(layout, 0o755)
    return OciResult(target, name, tag, manifest_digest, len(manifest), config_digest, digests.gzip_digest,
                     digests.gzip_size, digests.diff_id, arch, labels)


def _write_blob(blobs: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    atomic_write(blobs / digest, data, mode=0o644)
    return f"sha256:{digest}"


# --- reading a layout -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OciLayout:
    """An OCI image layout's first image, read: its manifest digest and layer blobs, bottom first."""

    path: Path
    manifest_digest: str
    layers: tuple[Path, ...]

    def blob(self, digest: str) -> Path:
        algorithm, _, value = digest.partition(":")
        return self.path / "blobs" / algorithm / value


def read_layout(layout: Path) -> OciLayout:
    """The one reader of the layouts ``write_oci`` makes (``index.json`` -> manifest -> layers); an
    ImageError naming the layout when it is not one."""
    read = OciLayout(Path(layout), "", ())
    try:
        index = json.loads((read.path / "index.json").read_text())
        digest = str(index["manifests"][0]["digest"])
        manifest = json.loads(read.blob(digest).read_text())
        layers = tuple(read.blob(str(layer["digest"])) for layer in manifest["layers"])
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise ImageError(f"not a readable OCI layout: {error}", where=str(layout)) from error
    return OciLayout(read.path, digest, layers)


# --- skopeo ---------------------------------------------------------------------------------------------


def write_docker_archive(oci: OciResult, path: Path) -> Path:
    """``docker load``-able ``path`` from the layout, by ``skopeo copy`` (named ``<name>:<tag>`` inside).

    skopeo refuses to write into an existing archive, so it writes a new file beside ``path`` that is
    then renamed over it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        temporary = scratch / path.name
        skopeo.copy(oci.reference, skopeo.docker_archive_reference(temporary, oci.name, oci.tag))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return path


def check_with_skopeo(oci: OciResult) -> dict[str, Any]:
    """Read the layout back with skopeo; ImageError unless it reports our digest, labels and platform."""
    seen = skopeo.inspect(oci.reference)
    problems = []
    if seen.get("Digest") != oci.manifest_digest:
        problems.append(f"digest {seen.get('Digest')} (we wrote {oci.manifest_digest})")
    if (seen.get("Labels") or {}) != oci.labels:
        problems.append("labels differ")
    if seen.get("Architecture") != oci.architecture or seen.get("Os") != "linux":
        problems.append(f"platform {seen.get('Os')}/{seen.get('Architecture')}")
    if problems:
        raise ImageError(f"skopeo reads {oci.layout} differently: {'; '.join(problems)}")
    return seen
