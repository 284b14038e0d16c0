"""An image's files as it ships, read from its artifact without unpacking or privilege.

``images/<name>/manifest.json`` names the outputs; the audit reads the WSL tarball when there is one,
else the OCI layout's layers (applied in order, whiteouts honoured), else a disk's root file system,
which the image stage reads back from the disk file as a tar (``image.diskroot``: debugfs, no mount).
Mode bits, owners and file contents come from the tar headers and members; only the rpm database
files are copied to a temporary directory for ``rpm --dbpath`` to read.
"""

from __future__ import annotations

import posixpath
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tributary.audit.rpms import AuditError
from tributary.config import Project
from tributary.image.diskroot import write_root_tar
from tributary.image.manifest import read_manifest
from tributary.image.oci import read_layout
from tributary.tools.rpm import InstalledRpm, query_all

RPMDB_DIRS = ("/usr/lib/sysimage/rpm", "/var/lib/rpm")


@dataclass
class ImageTree:
    """Every path of an image (absolute, normalised) -> its tar header, contents read on demand."""

    source: str
    members: dict[str, tuple[tarfile.TarFile | Path, tarfile.TarInfo]] = field(default_factory=dict)
    """path -> (the tar holding it, or the file on disk for a directory tree; its header)"""
    _dirs: set[str] | None = field(default=None, repr=False)

    def add_layer(self, archive: tarfile.TarFile) -> None:
        """Apply one layer on top of those added so far. As the OCI image spec has it, a layer's
        whiteouts (``.wh.<name>``, and ``.wh..wh..opq`` for a whole directory) hide what *lower*
        layers put there, never the layer's own entries: the whiteouts go first, then the entries."""
        self._dirs = None
        entries = []
        for info in archive:
            path = _normal(info.name)
            base = posixpath.basename(path)
            parent = posixpath.dirname(path)
            if base == ".wh..wh..opq":
                prefix = parent.rstrip("/") + "/"
                for name in [n for n in self.members if n.startswith(prefix)]:
                    del self.members[name]
            elif base.startswith(".wh."):
                gone = posixpath.join(parent, base[4:])
                for name in [n for n in self.members if n == gone or n.startswith(gone + "/")]:
                    del self.members[name]
            else:
                entries.append((path, info))
        for path, info in entries:
            self.members[path] = (archive, info)

    def _implied_dirs(self) -> set[str]:
        if self._dirs is None:
            self._dirs = {posixpath.dirname(name) for name in self.members}
            for name in list(self._dirs):
                while name not in ("/", ""):
                    name = posixpath.dirname(name)
                    self._dirs.add(name)
        return self._dirs

    def info(self, path: str) -> tarfile.TarInfo | None:
        found = self.members.get(path)
        return found[1] if found else None

    def resolve(self, path: str, *, depth: int = 0) -> str | None:
        """``path`` with every symbolic link on the way followed inside the image; None if it is missing."""
        if depth > 40:
            return None
        current = "/"
        parts = [part for part in _normal(path).split("/") if part]
        for index, part in enumerate(parts):
            candidate = posixpath.join(current, part)
            info = self.info(candidate)
            if info is None:
                # A tar may leave out directory entries: a directory is there if something is below it.
                if candidate not in self._implied_dirs():
                    return None
                current = candidate
                continue
            if info.issym():
                target = info.linkname if info.linkname.startswith("/") else posixpath.join(current, info.linkname)
                rest = "/".join(parts[index + 1:])
                return self.resolve(posixpath.join(_normal(target), rest) if rest else _normal(target), depth=depth + 1)
            current = candidate
        return current

    def read(self, path: str) -> bytes | None:
        """The contents of a regular file (links followed), or None when there is none at ``path``."""
        real = self.resolve(path)
        found = self.members.get(real) if real else None
        if found is None or not (found[1].isreg() or found[1].islnk()):
            return None
        if isinstance(found[0], Path):
            return found[0].read_bytes()
        handle = found[0].extractfile(found[1])
        return handle.read() if handle else None

    def listdir(self, directory: str) -> list[str]:
        real = self.resolve(directory)
        if real is None:
            return []
        prefix = real.rstrip("/") + "/"
        return sorted(name[len(prefix):] for name in self.members
                      if name.startswith(prefix) and "/" not in name[len(prefix):])

    def files(self) -> Iterator[tuple[str, tarfile.TarInfo]]:
        for path in sorted(self.members):
            yield path, self.members[path][1]


def _normal(name: str) -> str:
    """A tar member name as an absolute path: ``./etc/x``, ``etc/x`` and ``/etc/x`` are ``/etc/x``;
    only a literal ``./`` prefix goes, so ``./.dockerenv`` stays ``/.dockerenv``."""
    while name.startswith("./"):
        name = name[2:]
    return posixpath.normpath("/" + name.lstrip("/"))


@contextmanager
def open_image(project: Project, name: str) -> Iterator[ImageTree]:
    """The files of built image ``name``: its WSL tarball, else its OCI layout, else its disk's root
    file system (raw preferred, then the fixed VHD, then qcow2)."""
    manifest = read_manifest(project.output_dir / "images" / name, name)
    formats = {output.format: output.path for output in manifest.outputs}
    with ExitStack() as stack:
        if "wsl" in formats:
            tree = ImageTree(str(formats["wsl"]))
            tree.add_layer(stack.enter_context(tarfile.open(formats["wsl"], "r:*")))
        elif "oci" in formats:
            tree = ImageTree(str(formats["oci"]))
            for layer in read_layout(formats["oci"]).layers:
                tree.add_layer(stack.enter_context(tarfile.open(layer, "r:*")))
        else:
            disk_format = next((f for f in ("raw", "vhd-fixed", "qcow2") if f in formats), None)
            if disk_format is None:
                raise AuditError(f"image {name!r} has no output the audit can read ({', '.join(formats) or 'none'})")
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="trib-audit-disk-")))
            disk = manifest.output(disk_format)
            write_root_tar(formats[disk_format], disk_format, disk.details.get("partitions", []) if disk else [],
                           scratch / "root.tar")
            tree = ImageTree(f"{formats[disk_format]} (root partition)")
            tree.add_layer(stack.enter_context(tarfile.open(scratch / "root.tar")))
        yield tree


@contextmanager
def open_tar(path: Path) -> Iterator[ImageTree]:
    """An image root packed as one tar (any compression): for a root audited outside a project build."""
    with tarfile.open(path, "r:*") as archive:
        tree = ImageTree(str(path))
        tree.add_layer(archive)
        yield tree


def installed_packages(tree: ImageTree) -> list[InstalledRpm] | None:
    """What the image's rpm database records, or None when the image has none."""
    for directory in RPMDB_DIRS:
        names = [n for n in tree.listdir(directory) if n.startswith("rpmdb.sqlite") or n == "Packages"]
        if not names:
            continue
        with tempfile.TemporaryDirectory(prefix="trib-rpmdb-") as tmp:
            for db_file in names:
                content = tree.read(f"{directory}/{db_file}")
                if content is not None:
                    (Path(tmp) / db_file).write_bytes(content)
            return query_all(Path(tmp))
    return None
