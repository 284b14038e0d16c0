"""``trib comp history``: which components get the most attention (azldev's ``component history``).

Three signals per component, each from the project's own files and git history:

* ``tomlCommits``: commits that touched the TOML file defining the component (coarse when the file
  defines others too: ``sharedToml``);
* ``customizations``: the component's own customization items (overlays, build options, pins, ...),
  what it sets beyond what it inherits;
* ``fingerprintChanges``: commits where its lock's input fingerprint changed (each one a release bump).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tributary.cli import common
from tributary.cli.comp import AllOpt, GroupOpt, NamesArg, selected
from tributary.cli.output import Column, OutputFormat, emit_rows

if TYPE_CHECKING:
    from tributary.config import Project


class Shared(StrEnum):
    show = "show"
    omit = "omit"


def history(
    ctx: typer.Context,
    names: NamesArg = None,
    all_components: AllOpt = False,
    group: GroupOpt = None,
    include_bare: Annotated[bool, typer.Option(
        "--include-bare", help="Also list components with no customization of their own.")] = False,
    shared: Annotated[Shared, typer.Option(
        "--shared", help="Components whose TOML file defines others too: show (their commit count is the "
                         "file's) or omit.")] = Shared.show,
) -> None:
    """Per component: commits to its TOML file, its own customizations, and its fingerprint changes.

    One component selected (and a table) also lists its customization items. With -O json, rows as
    azldev's: name, tomlCommits, sharedToml, tomlPath, latestCommit, customizations,
    customizationItems [{kind, value, description}], fingerprintChanges, fingerprintChangeDetails
    [{hash, author, authorEmail, timestamp, message, upstreamCommit}], hasLock, hasImport, manualBump.

    Examples:

      trib comp history -a

      trib comp history -a -O json | jq 'sort_by(-.fingerprintChanges) | .[:10]'

      trib comp history greet
    """
    from tributary.render.release import fingerprint_changes
    from tributary.tools import git
    from tributary.upstream.lock import lock_path, read_lock

    project = common.project(ctx)
    state = common.settings(ctx)
    chosen = selected(ctx, names, all_components, group)
    defined_in = {name: project.component_origins[name].path for name in chosen if name in project.component_origins}
    sharing: dict[Path, int] = {}
    for origin in project.component_origins.values():
        sharing[origin.path] = sharing.get(origin.path, 0) + 1
    top = git.toplevel(project.root)
    commits = git.file_commits(top, sorted({str(p.relative_to(top)) for p in defined_in.values()})) if top else {}
    rows: list[dict[str, Any]] = []
    for name in chosen:
        items = customizations(project, name)
        if not items and not include_bare:
            continue
        path = defined_in.get(name)
        is_shared = path is not None and sharing.get(path, 0) > 1
        if is_shared and shared == Shared.omit:
            continue
        touched = commits.get(str(path.relative_to(top)), []) if path is not None and top else []
        lock = read_lock(lock_path(project.lock_dir, name))
        changes = [change for change in fingerprint_changes(project, project.resolve(name)) if change.project_commit]
        rows.append({
            "name": name,
            "tomlCommits": len(touched),
            "sharedToml": is_shared,
            "tomlPath": str(path.relative_to(project.root)) if path else "",
            **({"latestCommit": _rfc3339(touched[0][1])} if touched else {}),
            "customizations": len(items),
            "customizationItems": items,
            "fingerprintChanges": len(changes),
            "fingerprintChangeDetails": [
                {"hash": c.project_commit, "author": c.author, "authorEmail": c.email, "timestamp": c.timestamp,
                 "message": c.subject, "upstreamCommit": c.upstream_commit or ""} for c in changes],
            "hasLock": lock is not None,
            "hasImport": bool(lock and lock.import_commit),
            "manualBump": lock.manual_bump if lock else 0,
        })
    emit_rows(state, rows, [Column("name", "Component"), Column("tomlCommits", "TOML commits"),
                            Column("sharedToml", "Shared TOML"), Column("customizations", "Customizations"),
                            Column("fingerprintChanges", "Fingerprint changes")],
              empty="no component with customizations of its own (--include-bare lists the others)")
    if len(rows) == 1 and state.output == OutputFormat.table and rows[0]["customizationItems"]:
        emit_rows(state, rows[0]["customizationItems"], [Column("kind", "Kind"), Column("value", "Value"),
                                                         Column("description", "Description")],
                  title=f"{rows[0]['name']}: customizations")


def customizations(project: Project, name: str) -> list[dict[str, Any]]:
    """What the component's own table (and its overlay files) sets, one item each, in azldev's kinds:
    overlay types, then build.*, spec.*, release.calculation, render.skip-file-filter, packages,
    source-files."""
    from tributary.config.loader import load_overlay_file
    from tributary.config.model import ComponentConfig

    raw = project.component_tables.get(name, {})
    own = ComponentConfig.model_validate({key: value for key, value in raw.items() if key != "overlay-files"})
    overlays = list(own.overlays)
    for path in project.resolver.overlay_document_paths(name, raw.get("overlay-files") or []):
        overlays += load_overlay_file(path, project.root).overlays
    items = [_item(overlay.type, _overlay_summary(overlay), overlay.description) for overlay in overlays]
    build = own.build
    if build is not None:
        items += [_item("build.with", flag) for flag in build.with_]
        items += [_item("build.without", flag) for flag in build.without]
        items += [_item("build.defines", f"{key}={value}") for key, value in sorted(build.defines.items())]
        items += [_item("build.undefines", macro) for macro in build.undefines]
        if build.emit_upstream_provenance:
            items.append(_item("build.emit-upstream-provenance", "true"))
        if build.check is not None and build.check.skip:
            items.append(_item("build.check.skip", "true", build.check.skip_reason))
    spec = own.spec
    if spec is not None and "type" in raw.get("spec", {}):
        items.append(_item("spec.source-type", spec.type))
    if spec is not None and spec.upstream_commit:
        items.append(_item("spec.upstream-commit", spec.upstream_commit))
    if spec is not None and spec.upstream_name and spec.upstream_name != name:
        items.append(_item("spec.upstream-name", spec.upstream_name))
    if spec is not None and spec.upstream_distro is not None and (spec.upstream_distro.name or
                                                                   spec.upstream_distro.version):
        distro = spec.upstream_distro
        items.append(_item("spec.upstream-distro", " ".join(filter(None, [distro.name, distro.version]))))
    if own.release is not None and own.release.calculation:
        items.append(_item("release.calculation", own.release.calculation))
    if own.render is not None and own.render.skip_file_filter:
        items.append(_item("render.skip-file-filter", "true"))
    items += [_item("packages", package) for package in sorted(own.packages)]
    for source in own.source_files:
        items.append(_item("source-files", source.filename))
        if source.replace_upstream:
            items.append(_item("source-files.replace-upstream", source.filename, source.replace_reason))
    return items


def _rfc3339(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def _item(kind: str, value: str, description: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "value": value, **({"description": description} if description else {})}


def _overlay_summary(overlay: Any) -> str:
    """How azldev names an overlay in one word or pair: tag=value, tag, file, section or regex."""
    tag, value = getattr(overlay, "tag", None), getattr(overlay, "value", None)
    if tag and value:
        return f"{tag}={value}"
    for attribute in ("tag", "source", "file", "section", "regex"):
        found = getattr(overlay, attribute, None)
        if found:
            return Path(found).name if attribute == "source" else str(found)
    return ""
