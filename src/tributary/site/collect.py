"""Gather what the site shows from what the other stages left: never by running them again.

Read here: the configuration and locks, the rendered specs (and, for a changed component, its upstream
sources, to replay its overlays one by one), the build records and logs, the published channels'
metadata, the SBOMs and provenance (checked against the published key when the site is generated),
image manifests and test records, and audit reports. A component whose data cannot be read (a dist-git
mirror that is gone, a broken lock) still gets its page, saying what is missing; ``problems`` lists it.

``Shared`` holds the site-wide facts every component page needs; it is gathered once, before the
pages, and read (never changed) by the processes that write them.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tributary.audit.report import STATUSES, Finding, Report, read_report
from tributary.build.imports import recorded_imports
from tributary.build.records import BuildRecord, read_record
from tributary.config import Project, ResolvedComponent
from tributary.errors import TribError
from tributary.fsutil import is_inside
from tributary.image.manifest import MANIFEST_NAME, read_manifest
from tributary.image.testrecord import read_test_record
from tributary.render.changes import ChangeReport, change_report, component_changes
from tributary.render.spec_view import component_macros, read_spec
from tributary.repo.publish import repo_root
from tributary.sbom.collect import relative_locations, split_srpm_name
from tributary.sbom.provenance import VerifyFailed, public_key_ring, read_envelope, verify
from tributary.sbom.write import sbom_dir
from tributary.site.diffs import clip, overlay_steps
from tributary.site.model import (
    AuditView,
    BuildStatus,
    BuildView,
    ChannelView,
    ComponentRow,
    ComponentView,
    ElfFileView,
    ImageView,
    ImportedView,
    ProvenanceStatus,
    ProvenanceView,
    RpmView,
    SiteData,
    SiteHeader,
    UpstreamView,
    page_slug,
)
from tributary.spec.evaluate import evaluate
from tributary.spec.lua import LuaEngine
from tributary.spec.macros import unexpanded
from tributary.spec.sections import SECTION_NAMES
from tributary.tools import git
from tributary.tools.createrepo import CreaterepoError, read_primary
from tributary.upstream.fingerprint import file_sha256
from tributary.upstream.lock import lock_path, read_lock

LOG_TAIL_LINES = 60
DIFF_LIMIT = 100_000
WHOLE_DIFF_LIMIT = 300_000
"""Characters of one overlay's diff, and of the whole diff, a component page shows: with the log's
tail (64 KiB at most) no page comes near a megabyte whatever a component carries."""
_LOG_TAIL_BYTES = 64 * 1024
# Control characters other than tab and newline say nothing in a log shown on a page.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SBOM_KINDS = (("SPDX 2.3", "spdx.json"), ("CycloneDX 1.6", "cdx.json"), ("Provenance (in-toto, DSSE)",
                                                                            "provenance.json"))


@dataclass(frozen=True)
class PublishedFile:
    channel: str
    sha256: str
    location: str


@dataclass
class Shared:
    """Site-wide facts, gathered once: what each channel publishes, the keys to check provenance with,
    and the ELF audit's findings by RPM file."""

    project: Project
    header: SiteHeader
    published: dict[str, PublishedFile] = field(default_factory=dict)
    channels: list[ChannelView] = field(default_factory=list)
    keys: list[tuple[Path, str]] = field(default_factory=list)
    """Distinct published public keys: (file, its path below the output directory)."""
    copies: list[tuple[Path, str]] = field(default_factory=list)
    """Files the site carries: (source, path in the site)."""
    reports: list[Report] = field(default_factory=list)
    elf_by_rpm: dict[str, list[Finding]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def gather(project: Project, audit_reports: Sequence[Path] | None = None) -> Shared:
    """The site-wide facts; ``audit_reports`` default to every audit report in ``<output-dir>/reports/``."""
    shared = Shared(project, site_header(project))
    _read_channels(shared)
    paths = sorted((project.output_dir / "reports").glob("*.json")) if audit_reports is None else audit_reports
    for path in paths:
        try:
            shared.reports.append(read_report(path))
        except TribError as error:
            if audit_reports is not None:
                raise  # named on the command line: it must be one
            shared.problems.append(f"{path} is not read: {error.message}")
    # The ELF verdicts on the component pages come from the newest RPM audit (an older release's
    # report kept beside it, as a baseline, is shown on the Audit page only).
    rpm_audits = [report for report in shared.reports if report.kind == "rpms"]
    for finding in max(rpm_audits, key=lambda report: report.audited).findings if rpm_audits else ():
        shared.elf_by_rpm.setdefault(finding.rpm, []).append(finding)
    return shared


def _read_channels(shared: Shared) -> None:
    root = repo_root(shared.project)
    directories = sorted(p for p in root.iterdir() if (p / "repodata/repomd.xml").is_file()) if root.is_dir() else []
    seen_keys: set[bytes] = set()
    for directory in directories:
        try:
            packages = read_primary(directory)
        except CreaterepoError as error:
            shared.problems.append(f"channel {directory.name}: {error}")
            continue
        for package in packages:
            name = Path(package.location).name
            shared.published.setdefault(name, PublishedFile(directory.name, package.checksum, package.location))
        keys = sorted(key for key in directory.glob("RPM-GPG-KEY-*") if is_inside(directory, key))
        key_link = None
        if keys:
            key_link = f"keys/{directory.name}/{keys[0].name}.asc"
            shared.copies.append((keys[0], key_link))
            content = keys[0].read_bytes()
            if content not in seen_keys:
                seen_keys.add(content)
                shared.keys.append((keys[0], f"repo/{directory.name}/{keys[0].name}"))
        shared.channels.append(ChannelView(directory.name, len(packages), bool(keys), key_link,
                                           file_sha256(directory / "repodata/repomd.xml")))


# --- one component ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrustedKey:
    """A published key ready to check provenance with: its key ring, or why it cannot be read."""

    shown: str
    """Its path below the output directory, as the pages name it."""
    ring: Path | None
    problem: str = ""


@contextlib.contextmanager
def trusted_keys(shared: Shared) -> Iterator[list[TrustedKey]]:
    """The published keys, each imported once into a throw-away key ring for as long as pages are being
    written (a check importing its key each time took 40 ms a component, most of it the import)."""
    with contextlib.ExitStack() as stack:
        keys = []
        for key, shown in shared.keys:
            try:
                keys.append(TrustedKey(shown, stack.enter_context(public_key_ring(key))))
            except VerifyFailed as error:
                keys.append(TrustedKey(shown, None, error.message))
        yield keys


def component_view(shared: Shared, name: str, keys: Sequence[TrustedKey]) -> tuple[ComponentView, list[str]]:
    """The component's page as data, and what of it could not be read; ``keys`` from ``trusted_keys``."""
    project = shared.project
    problems: list[str] = []
    component = project.resolve(name)
    changes = relative_locations(project, component_changes(project, component))
    slug = page_slug(name)
    view = ComponentView(name=name, page=f"components/{slug}.html", spec_type=component.spec_type,
                         groups=component.groups, upstream=_upstream(project, component, problems), changes=changes,
                         version="", release="", rendered_at=None)
    if changes.overlays or changes.build_macros or changes.check_skipped:
        _diffs(project, component, view, problems)
    record = read_record(project.work_dir, name)
    outputs = [path.name for path in record.outputs] if record is not None else []
    if record is not None:
        view.build = _build(project, record, slug, view, problems)
        srpm = next((file for file in outputs if file.endswith(".src.rpm")), None)
        if srpm is not None:
            _, view.version, view.release = split_srpm_name(srpm)
    _rendered(component, view, problems)
    subjects = _provenance(shared, name, slug, view, keys)
    for file in sorted(outputs):
        published = shared.published.get(file)
        arch = "src" if file.endswith(".src.rpm") else file.rsplit(".", 2)[-2]
        view.rpms.append(RpmView(file, arch, published.sha256 if published else subjects.get(file),
                                 published.channel if published else None,
                                 published.location if published else None))
    for label, suffix in _SBOM_KINDS:
        document = sbom_dir(project) / f"{name}.{suffix}"
        if document.is_file() and is_inside(sbom_dir(project), document):
            view.sboms[label] = f"sbom/{slug}.{suffix}"
            view.copies.append((document, view.sboms[label]))
    view.elf_files = _elf_files(shared, outputs)
    view.audited = bool(outputs) and any(report.kind == "rpms" for report in shared.reports)
    return view, problems


def _diffs(project: Project, component: ResolvedComponent, view: ComponentView, problems: list[str]) -> None:
    """Each overlay's diff and the whole one, each cut to what a page shows."""
    try:
        steps, whole = overlay_steps(project, component)
    except TribError as error:
        view.diff_problem = str(error)
        problems.append(f"{component.name}: the overlays' diffs are not shown: {error}")
        return
    view.steps = [replace(step, diff=shown, omitted=omitted)
                  for step in steps for shown, omitted in [clip(step.diff, DIFF_LIMIT)]]
    view.whole_diff, view.whole_omitted = clip(whole, WHOLE_DIFF_LIMIT)


def _build(project: Project, record: BuildRecord, slug: str, view: ComponentView, problems: list[str]) -> BuildView:
    """The build as its record tells it, with the end of its log (the whole log is copied into the site)."""
    log_link, tail, lines = None, "", 0
    if record.log is not None and record.log.is_file():
        if is_inside(project.log_dir, record.log):
            log_link = f"logs/{slug}.log.txt"
            view.copies.append((record.log, log_link))
            tail, lines = log_tail(record.log)
        else:  # a record is a file anyone could edit: the site never publishes a file from elsewhere
            problems.append(f"{record.component}: its build record names a log outside {project.log_dir}: not shown")
    blocked_by = tuple((name, f"{page_slug(name)}.html" if name in project.component_tables else None)
                       for name in record.blocked_by)
    return BuildView(BuildStatus(record.outcome.value), record.seconds, record.finished, log_link, tail, lines,
                     record.error, blocked_by, record.worker)


def _upstream(project: Project, component: ResolvedComponent, problems: list[str]) -> UpstreamView | None:
    upstream = component.upstream
    if upstream is None or component.spec_type != "upstream":
        return None
    path = lock_path(project.lock_dir, component.name)
    try:
        lock = read_lock(path)
    except TribError as error:
        problems.append(f"{component.name}: {error}")
        lock = None
    pinned = component.config.spec.upstream_commit if component.config.spec else None
    return UpstreamView(
        distro=upstream.distro, version=upstream.version, snapshot=upstream.snapshot,
        commit=(lock.upstream_commit if lock else None) or pinned, pinned=pinned,
        import_commit=lock.import_commit if lock else None,
        lock_file=_relative(path, project.root) if lock else None,
        fingerprint=lock.input_fingerprint if lock else None, manual_bump=lock.manual_bump if lock else 0)


def _rendered(component: ResolvedComponent, view: ComponentView, problems: list[str]) -> None:
    """When the rendered spec was written; its version and release unless a build named them already."""
    spec = component.rendered_dir / f"{component.name}.spec"
    try:
        view.rendered_at = int(spec.stat().st_mtime)
    except FileNotFoundError:
        return
    if view.version:
        return
    try:
        version, release = spec_version(spec.read_text(encoding="utf-8", errors="replace"), component.rendered_dir,
                                        component_macros(component))
    except TribError as error:
        problems.append(f"{component.name}: its rendered spec cannot be read: {error}")
        return
    view.version, view.release = version, release.replace("%{?dist}", "")


def spec_version(text: str, directory: Path, macros: dict[str, str]) -> tuple[str, str]:
    """``(epoch:version, release)`` of a spec, read from its main preamble (the tags before the first
    section) as rpm would expand them.

    Most specs need nothing but their own macros and Lua for that (rpmautospec's ``%autorelease`` is
    Lua), read without running a process; only one whose Version or Release then still holds a macro is
    read again with ``%(...)`` run in the sandbox and its included files (``render.spec_view``), which
    costs a process per command."""
    preamble = _preamble(text)
    try:
        facts = evaluate(preamble, macros=macros, sourcedir=str(directory), lua=_lua())
    except TribError:
        facts = None
    if facts is None or unexpanded(facts.version or "") or unexpanded(facts.release or ""):
        facts = read_spec(preamble, directory, macros)
    version = facts.version or ""
    return (f"{facts.epoch}:{version}" if facts.epoch else version), facts.release or ""


@functools.lru_cache(maxsize=1)
def _lua() -> LuaEngine:
    return LuaEngine()


def _preamble(text: str) -> str:
    lines = text.split("\n")
    for number, line in enumerate(lines):
        token = line.lstrip().split(None, 1)[0].lower() if line.strip() else ""
        if token in SECTION_NAMES:
            return "\n".join(lines[:number])
    return text


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> tuple[str, int]:
    """The last ``lines`` lines of a log (control characters dropped) and how many lines it has."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        total = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        handle.seek(max(0, size - _LOG_TAIL_BYTES))
        data = handle.read()
    text = _CONTROL.sub("", data.decode("utf-8", errors="replace"))
    kept = text.splitlines()[-lines:]
    return "\n".join(kept), total + (0 if data.endswith(b"\n") or not data else 1)


def _provenance(shared: Shared, name: str, slug: str, view: ComponentView,
                keys: Sequence[TrustedKey]) -> dict[str, str]:
    """Check the component's provenance against each published key; return its subjects' sha256 by file."""
    path = sbom_dir(shared.project) / f"{name}.provenance.json"
    if not path.is_file():
        return {}
    link = f"sbom/{slug}.provenance.json"
    try:
        envelope, _, statement = read_envelope(path)
    except VerifyFailed as error:
        view.provenance = ProvenanceView(ProvenanceStatus.FAILED, link, detail=error.message)
        return {}
    subjects = {Path(str(s.get("name", ""))).name: str((s.get("digest") or {}).get("sha256", ""))
                for s in statement.get("subject") or () if isinstance(s, dict)}
    signatures = envelope.get("signatures") or []
    if not signatures:
        try:
            checked = verify(path, allow_unsigned=True)
            detail = f"no signature; the sha256 of all {len(checked.subjects)} subjects match the files"
        except VerifyFailed as error:
            detail = f"no signature; {error.message.removeprefix(f'{path}: ')}"
        view.provenance = ProvenanceView(ProvenanceStatus.UNSIGNED, link, subjects=len(subjects), detail=detail)
        return subjects
    claimed = ", ".join(str(s.get("keyid", "?")) for s in signatures if isinstance(s, dict))
    if not keys:
        view.provenance = ProvenanceView(ProvenanceStatus.NO_KEY, link, signer=claimed, subjects=len(subjects),
                                         detail="no published channel holds a public key to check the signature with")
        return subjects
    failures = []
    for key in keys:
        if key.ring is None:
            failures.append(key.problem)
            continue
        try:
            result = verify(path, key_ring=key.ring)
        except VerifyFailed as error:
            failures.append(error.message.removeprefix(f"{path}: "))
            continue
        view.provenance = ProvenanceView(ProvenanceStatus.VERIFIED, link, signer=result.signer, key=key.shown,
                                         subjects=len(result.subjects))
        return subjects
    view.provenance = ProvenanceView(ProvenanceStatus.FAILED, link, signer=claimed, subjects=len(subjects),
                                     detail="; ".join(failures))
    return subjects


def _elf_files(shared: Shared, outputs: Iterable[str]) -> list[ElfFileView]:
    order = {status: index for index, status in enumerate(STATUSES)}
    files: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for rpm in outputs:
        for finding in shared.elf_by_rpm.get(rpm, ()):
            files[(rpm, finding.subject)].append(finding)
    views = []
    for (rpm, path), findings in sorted(files.items()):
        worst = max((f.status for f in findings), key=lambda status: order.get(status, 0))
        notes = tuple(f"{f.check}: {f.status}: {f.evidence}" + (f" (waiver: {f.waiver})" if f.waiver else "")
                      for f in sorted(findings, key=lambda f: f.check) if f.status not in ("pass", "n/a"))
        views.append(ElfFileView(findings[0].package, rpm, path, {f.check: f.status for f in findings}, worst, notes))
    return views


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


# --- the site-wide pages --------------------------------------------------------------------------------


def image_views(shared: Shared) -> list[ImageView]:
    """Every image the project defines, with what its build, test and audit left."""
    project = shared.project
    views = []
    for name in sorted(project.images):
        out_dir = project.output_dir / "images" / name
        slug = page_slug(name)
        manifest = None
        if (out_dir / MANIFEST_NAME).is_file():
            try:
                manifest = read_manifest(out_dir, name)
            except TribError as error:
                shared.problems.append(f"image {name}: {error.message}")
        test = read_test_record(out_dir) if manifest is not None else None
        audits = [r for r in shared.reports if r.kind == "image" and r.target == name]
        view = ImageView(name, f"images/{slug}.html", project.images[name].description or "", manifest, test,
                         test is not None and manifest is not None and test.manifest_sha256 == manifest.sha256,
                         max(audits, key=lambda r: r.audited) if audits else None)
        for label, suffix in _SBOM_KINDS[:2]:
            document = sbom_dir(project) / "images" / f"{name}.{suffix}"
            if document.is_file() and is_inside(sbom_dir(project), document):
                view.sboms[label] = f"sbom/images/{slug}.{suffix}"
                shared.copies.append((document, view.sboms[label]))
        views.append(view)
    return views


def audit_views(shared: Shared) -> list[AuditView]:
    order = {status: index for index, status in enumerate(reversed(STATUSES))}
    views = []
    for index, report in enumerate(sorted(shared.reports, key=lambda r: (r.kind != "rpms", r.target, r.audited))):
        problems = sorted((f for f in report.findings if f.status not in ("pass", "n/a")),
                          key=lambda f: (order[f.status], f.package, f.subject, f.check))
        views.append(AuditView(report, f"audit-{index + 1}", tuple(problems)))
    return views


def site_header(project: Project) -> SiteHeader:
    target = project.default_distro
    distro_name, distro_version = (target[0], target[1]) if target else ("", "")
    distro = project.distros.get(distro_name)
    versions = tuple(sorted((v, s.description or "") for v, s in distro.versions.items())) if distro else ()
    title = (distro.description if distro and distro.description else None) or project.settings.description or \
        project.root.name
    head = git.head_commit(project.root)
    return SiteHeader(title=title, description=project.settings.description or "", distro=distro_name,
                      distro_version=distro_version, versions=versions, project_commit=head[0] if head else None,
                      project_commit_time=head[1] if head else None)


def site_data(shared: Shared, rows: list[ComponentRow], images: list[ImageView], audits: list[AuditView],
              report: ChangeReport) -> SiteData:
    project = shared.project
    upstreams: Counter[str] = Counter()
    for name in project.component_names:
        component = project.resolve(name)
        upstream = component.upstream
        if upstream is not None and component.spec_type == "upstream":
            snapshot = f", snapshot {upstream.snapshot}" if upstream.snapshot else ""
            upstreams[f"{upstream.distro} {upstream.version}{snapshot}"] += 1
    imports = [ImportedView(item.path.name, item.sha256, item.repo,
                            shared.published[item.path.name].channel if item.path.name in shared.published else None)
               for item in recorded_imports(project)]
    return SiteData(
        header=shared.header, upstreams=sorted(upstreams.items()),
        rendered_at=_newest(row.rendered_at for row in rows), built_at=_newest(row.build_finished for row in rows),
        rows=rows, channels=shared.channels, imports=imports, images=images, audits=audits,
        by_category=dict(sorted(report.by_category.items())), by_status=dict(sorted(report.by_status.items())),
        problems=shared.problems)


def changes_of(project: Project) -> ChangeReport:
    """The change report over every component (the Changes page and the home page's charts), each
    overlay's place named relative to the project."""
    report = change_report(project, project.component_names)
    report.components = [relative_locations(project, changes) for changes in report.components]
    return report


def _newest(times: Iterable[int | None]) -> int | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None
