"""What the website shows, as data: one view per page, filled by ``collect`` and turned into pages by
``writer``.

Every text here that came from outside the project's own code (overlay descriptions, spec text, build
logs, audit evidence) is untrusted: the templates escape it and the table's script inserts it as text.
Links inside the site are relative paths below the site's root (``components/greet.html``).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path

from tributary.audit.report import Finding, Report
from tributary.build.records import Outcome
from tributary.config.model import AUDIT_ELF_CHECKS
from tributary.image.manifest import ImageManifest
from tributary.image.testrecord import ImageTestRecord
from tributary.render.changes import ComponentChanges

_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,100}")


def page_slug(name: str) -> str:
    """A file name for ``name``'s page: the name itself when it is a plain one, else a stable hash, so no
    component or image name can reach outside its directory or need escaping in a URL."""
    return name if _PLAIN_NAME.fullmatch(name) else "x-" + sha256(name.encode()).hexdigest()[:20]


class BuildStatus(enum.StrEnum):
    """A component's build as the site shows it: a build record's outcome, or never built."""

    BUILT = Outcome.BUILT.value
    CACHED = Outcome.CACHED.value
    FAILED = Outcome.FAILED.value
    SKIPPED = Outcome.SKIPPED.value
    NOT_BUILT = "not built"


class ProvenanceStatus(enum.StrEnum):
    """What checking a component's provenance found when the site was generated."""

    VERIFIED = "verified"
    """Signed by the published key, and every subject's sha256 matches its file."""
    FAILED = "does not verify"
    """A bad or foreign signature, or a subject that is missing or differs."""
    UNSIGNED = "unsigned"
    """No signature at all (built without a signing key)."""
    NO_KEY = "signed, no published key"
    """Signed, but no published channel holds a key to check it against."""
    ABSENT = "none"


@dataclass(frozen=True)
class UpstreamView:
    distro: str
    version: str
    snapshot: str | None
    commit: str | None
    """The upstream commit in use, from the lock (or the pin, before the first lock)."""
    pinned: str | None
    import_commit: str | None
    lock_file: str | None
    """The lock file, relative to the project's root; None when the component has none yet."""
    fingerprint: str | None
    manual_bump: int


@dataclass(frozen=True)
class DiffStep:
    """One change to a component's files: a configured overlay (``number`` from 1) or one of tributary's
    own steps (``number`` None), with the unified diff it makes."""

    label: str
    diff: str
    number: int | None = None
    note: str | None = None
    omitted: int = 0
    """Lines of the diff left off the page (``trib comp diff`` shows them all)."""


@dataclass(frozen=True)
class BuildView:
    status: BuildStatus
    seconds: float | None = None
    finished: int | None = None
    log_link: str | None = None
    log_tail: str = ""
    log_lines: int = 0
    """How many lines the whole log has (the tail shows the last of them)."""
    error: str | None = None
    blocked_by: tuple[tuple[str, str | None], ...] = ()
    """What a skipped build waited for, each with its page when it is one of the project's components
    (a record is a file anyone can edit: a name it invents gets no link)."""
    worker: str | None = None


@dataclass(frozen=True)
class RpmView:
    file: str
    arch: str
    sha256: str | None
    """The published file's (from its channel's metadata), else the built file's as provenance names it."""
    channel: str | None
    location: str | None = None
    """Its path inside the channel."""


@dataclass(frozen=True)
class ProvenanceView:
    status: ProvenanceStatus
    link: str | None = None
    signer: str | None = None
    key: str | None = None
    """The published key file it was checked against (``repo/<channel>/RPM-GPG-KEY-...``)."""
    subjects: int = 0
    detail: str = ""


@dataclass(frozen=True)
class ElfFileView:
    """One ELF file of a component's RPMs and every audit check on it (status by check)."""

    package: str
    rpm: str
    path: str
    checks: dict[str, str]
    verdict: str
    notes: tuple[str, ...]


@dataclass(frozen=True)
class ComponentRow:
    """A component's line in the table and in ``index.json``."""

    name: str
    page: str
    spec_type: str
    upstream: str
    snapshot: str
    commit: str
    version: str
    release: str
    overlays: int
    overlay_descriptions: tuple[str, ...]
    fork: bool
    changed: bool
    build: BuildStatus
    build_seconds: float | None
    build_error: str
    build_finished: int | None
    rendered_at: int | None
    packages: int
    rpms: tuple[RpmView, ...]

    def table_cells(self) -> list[object]:
        """The row as the table's script reads it (see static/table.js: the order matters)."""
        return [self.name, self.page, self.upstream, self.snapshot, self.commit, self.version, self.release,
                self.overlays, "; ".join(self.overlay_descriptions), int(self.fork), int(self.changed),
                self.build.value, self.build_seconds, self.build_error, self.packages]


@dataclass
class ComponentView:
    name: str
    page: str
    spec_type: str
    groups: tuple[str, ...]
    upstream: UpstreamView | None
    changes: ComponentChanges
    version: str
    release: str
    rendered_at: int | None
    steps: list[DiffStep] = field(default_factory=list)
    whole_diff: str = ""
    whole_omitted: int = 0
    diff_problem: str | None = None
    build: BuildView = field(default_factory=lambda: BuildView(BuildStatus.NOT_BUILT))
    rpms: list[RpmView] = field(default_factory=list)
    sboms: dict[str, str] = field(default_factory=dict)
    """Document kind (SPDX, CycloneDX, provenance) -> its copy in the site."""
    provenance: ProvenanceView = field(default_factory=lambda: ProvenanceView(ProvenanceStatus.ABSENT))
    elf_files: list[ElfFileView] = field(default_factory=list)
    audited: bool = False
    """An RPM audit report covers this component's packages."""
    copies: list[tuple[Path, str]] = field(default_factory=list)
    """Files the page links to, copied into the site: (source, path in the site)."""

    @property
    def elf_checks(self) -> list[str]:
        """The audit checks any of the component's ELF files has, in the audit's own order."""
        found = {check for file in self.elf_files for check in file.checks}
        return [c for c in AUDIT_ELF_CHECKS if c in found] + sorted(found - set(AUDIT_ELF_CHECKS))

    @property
    def changed(self) -> bool:
        changes = self.changes
        return bool(changes.overlays or changes.is_fork or changes.build_macros or changes.check_skipped)

    def row(self) -> ComponentRow:
        upstream = self.upstream
        return ComponentRow(
            name=self.name, page=self.page, spec_type=self.spec_type,
            upstream=f"{upstream.distro} {upstream.version}" if upstream else "local spec",
            snapshot=(upstream.snapshot or "") if upstream else "", commit=(upstream.commit or "") if upstream else "",
            version=self.version, release=self.release, overlays=len(self.changes.overlays),
            overlay_descriptions=tuple(o.description or o.type for o in self.changes.overlays),
            fork=self.changes.is_fork, changed=self.changed, build=self.build.status,
            build_seconds=self.build.seconds, build_error=(self.build.error or "").split("\n", 1)[0][:300],
            build_finished=self.build.finished, rendered_at=self.rendered_at,
            packages=sum(1 for rpm in self.rpms if rpm.arch != "src"), rpms=tuple(self.rpms))


@dataclass(frozen=True)
class ChannelView:
    name: str
    packages: int
    signed: bool
    key_file: str | None
    """The public key's copy in the site."""
    repomd_sha256: str


@dataclass(frozen=True)
class ImportedView:
    file: str
    sha256: str
    repo: str
    channel: str | None


@dataclass
class ImageView:
    name: str
    page: str
    description: str
    manifest: ImageManifest | None
    test: ImageTestRecord | None
    test_current: bool
    """The test record names the manifest that is there now (not a test of an earlier build)."""
    audit: Report | None
    sboms: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditView:
    report: Report
    anchor: str
    problems: tuple[Finding, ...]
    """Findings that are not a plain pass or n/a, worst first."""


@dataclass(frozen=True)
class SiteHeader:
    """What every page says about the distribution (its header and footer)."""

    title: str
    description: str
    distro: str
    distro_version: str
    versions: tuple[tuple[str, str], ...]
    """Every version of the project's distro: (version, description)."""
    project_commit: str | None
    project_commit_time: int | None


@dataclass
class SiteData:
    """Everything the site-wide pages show."""

    header: SiteHeader
    upstreams: list[tuple[str, int]]
    """Upstream distros components come from ("example-upstream 43, snapshot ..."), with their counts."""
    rendered_at: int | None
    built_at: int | None
    rows: list[ComponentRow]
    channels: list[ChannelView]
    imports: list[ImportedView]
    images: list[ImageView]
    audits: list[AuditView]
    by_category: dict[str, int]
    by_status: dict[str, int]
    problems: list[str] = field(default_factory=list)
    """What could not be shown, and why (also printed by the command)."""
