"""Repository metadata (``repodata/``) written with createrepo_c's Python API, reproducibly.

The API rather than the ``createrepo_c`` program: the PyPI wheel writes zstd (Debian's 0.17 program
cannot), and building the package list ourselves lets every time stamp be fixed. ``revision`` stands
for every time in the output: the repomd revision, each record's timestamp and the metadata files'
mtimes. Each package's ``time file`` is its build time. So the same RPMs give byte-identical
``repomd.xml`` and metadata files, whenever and wherever they are published.

No sqlite databases: dnf reads the XML, and the databases would not be reproducible.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import createrepo_c as cr

from tributary.tools.process import ToolError

COMPRESSIONS = {
    "zstd": cr.ZSTD_COMPRESSION,
    "gz": cr.GZ_COMPRESSION,
    "xz": cr.XZ_COMPRESSION,
}


class CreaterepoError(ToolError):
    """createrepo_c could not index a directory."""


@dataclass(frozen=True)
class RepodataFile:
    """One record of ``repomd.xml``: its type (primary, filelists, other) and where it is."""

    type: str
    href: str
    sha256: str


def write_repodata(root: Path, hrefs: Sequence[str], *, revision: int, compression: str = "zstd",
                   groupfile: Path | None = None) -> list[RepodataFile]:
    """Write ``root/repodata/`` for the RPMs at ``root/<href>`` (in the order given), return its records.

    ``root/repodata`` must not exist yet: this writes a fresh repository (publishing stages a new
    directory per channel), it does not update one. ``groupfile`` is a comps XML file, recorded as the
    ``group`` metadata dnf reads ``@group`` names from.
    """
    if compression not in COMPRESSIONS:
        raise CreaterepoError(f"unknown metadata compression {compression!r} (choose from {', '.join(COMPRESSIONS)})")
    kind = COMPRESSIONS[compression]
    repodata = root / "repodata"
    repodata.mkdir()
    suffix = cr.compression_suffix(kind)
    paths = {name: repodata / f"{name}.xml{suffix}" for name in ("primary", "filelists", "other")}
    try:
        writers = {
            "primary": cr.PrimaryXmlFile(str(paths["primary"]), compressiontype=kind),
            "filelists": cr.FilelistsXmlFile(str(paths["filelists"]), compressiontype=kind),
            "other": cr.OtherXmlFile(str(paths["other"]), compressiontype=kind),
        }
        for writer in writers.values():
            writer.set_num_of_pkgs(len(hrefs))
        for href in hrefs:
            package = cr.package_from_rpm(str(root / href), checksum_type=cr.SHA256, location_href=href,
                                          changelog_limit=10)
            package.time_file = package.time_build
            for writer in writers.values():
                writer.add_pkg(package)
        for writer in writers.values():
            writer.close()

        repomd = cr.Repomd()
        repomd.set_revision(str(revision))
        records = []
        if groupfile is not None:
            paths["group"] = repodata / "comps.xml"
            paths["group"].write_bytes(groupfile.read_bytes())
        for name in paths:
            record = cr.RepomdRecord(name, str(paths[name]))
            record.fill(cr.SHA256)
            record.rename_file()  # <checksum>-primary.xml.zst: a cache can never mix two revisions
            record.set_timestamp(revision)  # also sets the file's mtime
            repomd.set_record(record)
            records.append(RepodataFile(name, record.location_href, record.checksum))
        repomd.sort_records()
        xml = repomd.xml_dump()
    except cr.CreaterepoCError as error:
        raise CreaterepoError(f"createrepo_c: {error}", where=str(root)) from error
    repomd_path = repodata / "repomd.xml"
    repomd_path.write_text(xml)
    os.utime(repomd_path, (revision, revision))
    return records


def index_directory(root: Path, *, revision: int = 0, compression: str = "gz") -> list[RepodataFile]:
    """Repository metadata for every RPM below ``root`` (a buildroot's repository of packages a build run made)."""
    hrefs = sorted(path.relative_to(root).as_posix() for path in root.rglob("*.rpm"))
    return write_repodata(root, hrefs, revision=revision, compression=compression)


@dataclass(frozen=True)
class RepoPackage:
    """One package as a repository's primary metadata lists it."""

    name: str
    epoch: int
    version: str
    release: str
    arch: str
    location: str
    """Its path inside the repository (``Packages/g/greet-1.1-4.x86_64.rpm``)."""
    checksum_type: str
    checksum: str
    source_rpm: str
    """The source package's file name; empty for a source package."""
    build_time: int


def read_primary(root: Path) -> list[RepoPackage]:
    """Every package the repository at ``root`` (``root/repodata/repomd.xml``) lists, in metadata order."""
    packages: list[RepoPackage] = []

    def take(package: cr.Package) -> bool:
        packages.append(RepoPackage(package.name, int(package.epoch or 0), package.version, package.release,
                                    package.arch, package.location_href, package.checksum_type, package.pkgId,
                                    package.rpm_sourcerpm or "", int(package.time_build or 0)))
        return True

    try:
        records = {record.type: record.location_href for record in cr.Repomd(str(root / "repodata/repomd.xml")).records}
        if "primary" not in records:
            raise CreaterepoError("the repository has no primary metadata", where=str(root))
        cr.xml_parse_primary(str(root / records["primary"]), pkgcb=take, do_files=0)
    except cr.CreaterepoCError as error:
        raise CreaterepoError(f"cannot read the repository metadata: {error}", where=str(root)) from error
    return packages


def decompressed(path: Path) -> bytes:
    """The content of a metadata file compressed as its name says (``.zst``, ``.xz``, ``.gz``, ``.bz2``)."""
    target = path.with_name(path.name + ".plain")
    try:
        cr.decompress_file(str(path), str(target), cr.AUTO_DETECT_COMPRESSION)
        return target.read_bytes()
    except cr.CreaterepoCError as error:
        raise CreaterepoError(f"createrepo_c cannot decompress {path.name}: {error}", where=str(path)) from error
    finally:
        target.unlink(missing_ok=True)
