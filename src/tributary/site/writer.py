"""Write the site: every page from its Jinja2 template (autoescaped), the table's data, the files the
pages link to, and ``index.json``; assembled beside the target directory and swapped in whole.

The same inputs give the same bytes: pages are rendered from sorted data, nothing records when or
where the site was written, and JSON keys keep one order. Component pages, the bulk of the work, are
written by a pool of processes (forked after the site-wide facts are gathered, which they only read).
Links are relative, so the site works from ``file://`` as from any static web server.
"""

from __future__ import annotations

import concurrent.futures
import functools
import json
import multiprocessing
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from tributary import __version__
from tributary.config import Project
from tributary.errors import TribError
from tributary.fsutil import staged_directory
from tributary.render.changes import ChangeReport
from tributary.site.charts import bar_chart
from tributary.site.collect import (
    Shared,
    audit_views,
    changes_of,
    component_view,
    gather,
    image_views,
    site_data,
    trusted_keys,
)
from tributary.site.diffs import diff_lines
from tributary.site.model import BuildStatus, ComponentRow, SiteData, SiteHeader

MARKER = ".trib-site"
"""A file in every site's root: ``-o DIR`` replaces a directory only when it holds one (or is empty)."""
ROWS_PER_DATA_FILE = 2000
"""Table rows per ``data/components-N.js``: each file stays well under a megabyte at any scale."""
FORK_LIST_LIMIT = 200
"""A reason shared by more forks than this is listed with its count only (the table lists them all)."""
_CHUNK = 64
_TONES = {status.value: tone for status, tone in (
    (BuildStatus.BUILT, "good"), (BuildStatus.CACHED, "info"), (BuildStatus.FAILED, "bad"),
    (BuildStatus.SKIPPED, "warn"), (BuildStatus.NOT_BUILT, "muted"))}


@dataclass(frozen=True)
class SiteResult:
    path: Path
    pages: int
    components: int
    images: int
    problems: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"site": str(self.path), "index": str(self.path / "index.html"), "pages": self.pages,
                "components": self.components, "images": self.images, "problems": list(self.problems)}


def write_site(project: Project, dest: Path, *, audit_reports: Sequence[Path] | None = None, jobs: int | None = None,
               progress: Callable[[int], None] | None = None) -> SiteResult:
    """Write the site of ``project`` into ``dest`` (replacing the site there); ``progress(n)`` hears each
    ``n`` component pages written."""
    dest = Path(dest).absolute()
    _check_destination(dest)
    shared = gather(project, audit_reports)
    report = changes_of(project)
    with staged_directory(dest) as stage:
        rows, problems = _component_pages(shared, stage, jobs or os.cpu_count() or 1, progress)
        shared.problems.extend(problems)
        images = image_views(shared)
        data = site_data(shared, rows, images, audit_views(shared), report)
        pages = _site_pages(data, report, stage)
        for source, target in shared.copies:
            _copy(source, stage / target)
        _static(stage)
        (stage / "index.json").write_text(json.dumps(index_json(data), separators=(",", ":"), ensure_ascii=False)
                                          + "\n")
        (stage / MARKER).write_text("A static website written by 'trib site'; 'trib site -o' replaces it whole.\n")
    return SiteResult(dest, pages + len(rows), len(rows), len(images), tuple(shared.problems))


def _check_destination(dest: Path) -> None:
    """Refuse to replace a directory that is neither empty nor a site: ``-o ~`` must not delete a home."""
    if not dest.exists():
        return
    if not dest.is_dir() or dest.is_symlink():
        raise TribError(f"{dest} exists and is not a directory", hint="choose another -o")
    if any(dest.iterdir()) and not (dest / MARKER).is_file():
        raise TribError(f"{dest} is not empty and holds no site written by 'trib site' (no {MARKER})",
                        hint="choose an empty or new directory with -o")


# --- component pages, in parallel ----------------------------------------------------------------------

_WORKER: tuple[Shared, Path] | None = None


def _component_pages(shared: Shared, stage: Path, jobs: int,
                     progress: Callable[[int], None] | None) -> tuple[list[ComponentRow], list[str]]:
    global _WORKER
    names = shared.project.component_names
    chunks = [names[i:i + _CHUNK] for i in range(0, len(names), _CHUNK)]
    results: list[tuple[list[ComponentRow], list[str]]] = []
    _WORKER = (shared, stage)
    try:
        if jobs == 1 or len(chunks) < 2:
            for chunk in chunks:
                results.append(_write_components(chunk))
                if progress:
                    progress(len(chunk))
        else:
            context = multiprocessing.get_context("fork")
            with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(chunks)), mp_context=context) as pool:
                futures = {pool.submit(_write_components, chunk): len(chunk) for chunk in chunks}
                for future in concurrent.futures.as_completed(futures):
                    results.append(future.result())
                    if progress:
                        progress(futures[future])
    finally:
        _WORKER = None
    rows = sorted((row for chunk_rows, _ in results for row in chunk_rows), key=lambda row: row.name)
    return rows, sorted(problem for _, chunk_problems in results for problem in chunk_problems)


def _write_components(names: list[str]) -> tuple[list[ComponentRow], list[str]]:
    assert _WORKER is not None
    shared, stage = _WORKER
    environment = _environment(shared.header)
    template = environment.get_template("component.html")
    rows, problems = [], []
    with trusted_keys(shared) as keys:
        for name in names:
            view, found = component_view(shared, name, keys)
            problems.extend(found)
            page = stage / view.page
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(template.render(root="../", page="components", c=view))
            for source, target in view.copies:
                _copy(source, stage / target)
            rows.append(view.row())
    return rows, problems


# --- site-wide pages --------------------------------------------------------------------------------------


def _site_pages(data: SiteData, report: ChangeReport, stage: Path) -> int:
    environment = _environment(data.header)
    counts = _counts(data)
    charts = [
        bar_chart("by-category", "Overlays by category", data.by_category),
        bar_chart("by-status", "Overlays by upstream status", data.by_status),
        bar_chart("build-health", "Builds", counts["builds"], tones=_TONES),
    ]
    pages: dict[str, tuple[str, dict[str, Any]]] = {
        "index.html": ("home.html", {"counts": counts, "charts": charts}),
        "components.html": ("components.html", {"data_files": _table_data(data.rows, stage)}),
        "changes.html": ("changes.html", {"report": report, "forks": _forks(report),
                                          "fork_list_limit": FORK_LIST_LIMIT,
                                          "pages": {row.name: row.page for row in data.rows}}),
        "audit.html": ("audit.html", {"pages": _pages_by_rpm(data)}),
        "images.html": ("images.html", {}),
    }
    for target, (template, context) in pages.items():
        page = template.removesuffix(".html")
        (stage / target).write_text(environment.get_template(template).render(root="", page=page, data=data,
                                                                                **context))
    for image in data.images:
        path = stage / image.page
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(environment.get_template("image.html").render(root="../", page="images", i=image))
    return len(pages) + len(data.images)


def _counts(data: SiteData) -> dict[str, Any]:
    builds = {status.value: 0 for status in BuildStatus}
    for row in data.rows:
        builds[row.build.value] += 1
    return {
        "components": len(data.rows),
        "changed": sum(row.changed for row in data.rows),
        "forks": sum(row.fork for row in data.rows),
        "overlays": sum(row.overlays for row in data.rows),
        "packages": sum(channel.packages for channel in data.channels),
        "images": len(data.images),
        "images_built": sum(image.manifest is not None for image in data.images),
        "builds": builds,
    }


def _forks(report: ChangeReport) -> list[tuple[str, list[str]]]:
    """Full forks grouped by the reason they give, the most common reason first."""
    by_reason: dict[str, list[str]] = {}
    for changes in report.components:
        if changes.is_fork:
            by_reason.setdefault(changes.fork_reason or "", []).append(changes.name)
    return sorted(by_reason.items(), key=lambda item: (-len(item[1]), item[0]))


def _pages_by_rpm(data: SiteData) -> dict[str, str]:
    """The component page of each built RPM file, for the audit's links."""
    return {rpm.file: row.page for row in data.rows for rpm in row.rpms}


def _table_data(rows: list[ComponentRow], stage: Path) -> list[str]:
    """Write the table's rows as scripts (Chromium blocks fetch() of JSON from file://); their names."""
    names = []
    (stage / "data").mkdir()
    for number, start in enumerate(range(0, max(len(rows), 1), ROWS_PER_DATA_FILE), start=1):
        cells = [row.table_cells() for row in rows[start:start + ROWS_PER_DATA_FILE]]
        name = f"data/components-{number}.js"
        lines = ",\n".join(json.dumps(cell, separators=(",", ":")) for cell in cells)
        (stage / name).write_text(f"window.tribRows = (window.tribRows || []).concat([\n{lines}\n]);\n")
        names.append(name)
    return names


def index_json(data: SiteData) -> dict[str, Any]:
    """The site as data, for scripts: the same facts as the pages, with links to them."""
    return {
        "generator": {"name": "tributary", "version": __version__},
        "distribution": {"title": data.header.title, "description": data.header.description,
                         "distro": data.header.distro, "version": data.header.distro_version,
                         "versions": [v for v, _ in data.header.versions], "projectCommit": data.header.project_commit,
                         "renderedAt": data.rendered_at, "builtAt": data.built_at},
        "counts": _counts(data),
        "overlaysByCategory": data.by_category,
        "overlaysByUpstreamStatus": data.by_status,
        "components": [{
            "name": row.name, "page": row.page, "specType": row.spec_type, "upstream": row.upstream,
            "snapshot": row.snapshot or None, "upstreamCommit": row.commit or None, "version": row.version,
            "release": row.release, "overlays": row.overlays, "fullFork": row.fork, "changed": row.changed,
            "build": row.build.value, "buildSeconds": row.build_seconds, "builtAt": row.build_finished,
            "renderedAt": row.rendered_at, "packages": row.packages,
            "rpms": [{"file": r.file, "arch": r.arch, "sha256": r.sha256, "channel": r.channel} for r in row.rpms]}
            for row in data.rows],
        "channels": [{"name": c.name, "packages": c.packages, "signed": c.signed, "key": c.key_file,
                      "repomdSha256": c.repomd_sha256} for c in data.channels],
        "images": [{
            "name": image.name, "page": image.page,
            "formats": [{"format": o.format, "file": o.path.name, "size": o.size, "sha256": o.sha256,
                         "digest": o.digest} for o in image.manifest.outputs] if image.manifest else [],
            "packages": len(image.manifest.packages) if image.manifest else 0,
            "test": image.test.verdict.value if image.test else None, "testCurrent": image.test_current,
            "audit": ("failed" if image.audit.failed else "passed") if image.audit else None}
            for image in data.images],
        "audits": [{"kind": a.report.kind, "target": a.report.target, "audited": a.report.audited.isoformat(),
                    "summary": a.report.summary(), "passed": not a.report.failed} for a in data.audits],
        "problems": data.problems,
    }


# --- templates and files -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _environment(header: SiteHeader) -> jinja2.Environment:
    """The templates, compiled once per process (a worker writes many pages with each)."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("tributary.site", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(when=_when, size=_size, short=_short, diff_lines=diff_lines, seconds=_seconds)
    environment.globals.update(version=__version__, site=header)
    return environment


def _when(epoch: int | None) -> str:
    if epoch is None:
        return "never"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} bytes"


def _short(commit: str | None, length: int = 12) -> str:
    return (commit or "")[:length]


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f} s"


def _static(stage: Path) -> None:
    static = stage / "static"
    static.mkdir()
    for entry in sorted(resources.files("tributary.site").joinpath("static").iterdir(), key=lambda e: e.name):
        (static / entry.name).write_bytes(entry.read_bytes())


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
