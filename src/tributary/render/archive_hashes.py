"""Tarballs changed by archive overlays: their new hashes, and the ``source-files`` entries that vouch for them.

An archive overlay (``file-remove`` or ``file-search-replace`` with ``archive = "x.tar.gz"``) changes a
tarball that upstream's ``sources`` file pins by hash, so the old hash no longer holds. As in azldev,
the change must be declared where a reviewer sees it: a ``source-files`` entry for the tarball with
``origin = { type = "overlay" }``, ``replace-upstream = true``, a ``replace-reason`` and the hash the
edited tarball must have. The pairing is checked both ways (every edited tarball has its entry, every
such entry has an overlay editing it), the edited tarball must have exactly the recorded hash, and the
``sources`` file of the prepared sources is rewritten with it.

The recorded hash depends on the repacking (``overlays.archives``): deterministic, but not
byte-identical to azldev's Go encoders, so hashes recorded for azldev must be recorded again.
"""

from __future__ import annotations

from pathlib import Path

from tributary.config import Project, ResolvedComponent
from tributary.config.model import OriginType
from tributary.errors import ConfigError, Location
from tributary.fsutil import atomic_write
from tributary.upstream.lookaside import (
    SOURCES_FILE,
    SourceEntry,
    file_hash,
    format_sources,
    read_sources,
)


def check_archive_pairing(project: Project, component: ResolvedComponent) -> None:
    """The configuration half of the rule, before anything is fetched: every ``origin = overlay``
    source file is edited by an archive overlay, and no overlay edits a tarball both as a loose file
    and inside it. (That such an entry replaces upstream's, with a reason, the configuration model
    already requires.)"""
    edited = {archive for overlay in component.config.overlays if (archive := overlay.archive_name())}
    for index, item in enumerate(component.config.source_files):
        if item.origin.type != OriginType.OVERLAY.value:
            continue
        if item.filename not in edited:
            raise ConfigError(f"component {component.name!r}: source file {item.filename!r} has origin 'overlay', "
                              "but no archive overlay edits it", where=_where(component, index),
                              hint=f'add an overlay with archive = "{item.filename}", or remove this entry')
    for index, overlay in enumerate(component.config.overlays):
        if overlay.loose_file() in edited:
            raise ConfigError(f"component {component.name!r}: overlay #{index + 1} ({overlay.type}) targets "
                              f"{overlay.loose_file()!r} as a file, while archive overlays edit inside it",
                              where=project.overlay_location(component.name, index),
                              hint="edit the tarball through archive overlays only")


def record_archive_hashes(component: ResolvedComponent, dest: Path, changed: list[str]) -> list[SourceEntry]:
    """After the archive overlays ran in ``dest``: check each changed tarball that ``sources`` pins
    against its ``origin = overlay`` entry, and rewrite ``dest/sources`` with the new hashes.

    Tarballs that are plain files of the component (not in ``sources``) pin nothing and are left alone.
    Returns the rewritten entries.
    """
    entries = read_sources(dest)
    declared = {item.filename: (index, item) for index, item in enumerate(component.config.source_files)
                if item.origin.type == OriginType.OVERLAY.value}
    updated: list[SourceEntry] = []
    changed_names = set(changed)
    for entry in entries:
        if entry.filename not in changed_names:
            updated.append(entry)
            continue
        digest = file_hash(dest / entry.filename, entry.hash_type)
        got = f"{entry.hash_type}:{digest}"
        if entry.filename not in declared:
            raise ConfigError(
                f"component {component.name!r}: archive overlays change {entry.filename!r}, which upstream's sources "
                f"pins, and no source-files entry declares the edited tarball (its {got})",
                where=component.origin.location("overlays") if component.origin else None,
                hint=f'add [[components.{component.name}.source-files]] with filename = "{entry.filename}", '
                     f'hash = "{digest}", hash-type = "{entry.hash_type.upper()}", origin = {{ type = "overlay" }}, '
                     'replace-upstream = true and a replace-reason')
        index, item = declared[entry.filename]
        kind = (item.hash_type or entry.hash_type).lower()
        actual = file_hash(dest / entry.filename, kind)
        if not item.hash:
            raise ConfigError(f"component {component.name!r}: source file {entry.filename!r} records no hash for the "
                              f"edited tarball; it is {kind}:{actual}", where=_where(component, index),
                              hint=f'set hash = "{actual}" and hash-type = "{kind.upper()}"')
        if actual != item.hash.lower():
            raise ConfigError(
                f"component {component.name!r}: the archive overlays turn {entry.filename!r} into "
                f"{kind}:{actual}, not the {kind}:{item.hash.lower()} its source-files entry records",
                where=_where(component, index),
                hint="an overlay or the upstream tarball changed: review the edit, then record the new hash",
            )
        updated.append(SourceEntry(entry.filename, kind, actual, entry.line))
    atomic_write(dest / SOURCES_FILE, format_sources(updated))
    return updated


def _where(component: ResolvedComponent, index: int) -> Location | None:
    return component.origin.location("source-files", index) if component.origin else None
