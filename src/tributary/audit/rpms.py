"""Audit every ELF file in built binary RPMs, read straight from their payloads.

The payload is streamed with rpm's own Python bindings (the header names the compressor, the file
list gives each entry's mode): nothing is extracted to disk. Of each regular file only the first
four bytes are read, to see whether it is ELF; an ELF file is then read whole into memory and
audited there. Separate debug files (``/usr/lib/debug``, debuginfo
and debugsource packages) hold no code that runs and are not audited; source RPMs have no payload
to run.
"""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tributary.audit.elf import audit_elf, is_elf
from tributary.audit.policy import apply_policy
from tributary.audit.report import Finding, Report
from tributary.build.cache import BuildCache
from tributary.config import Project
from tributary.errors import TribError
from tributary.repo.channels import is_debuginfo
from tributary.rpmfile import payload, read_rpm

DEBUG_DIR = "/usr/lib/debug/"


class AuditError(TribError):
    """Something to audit cannot be read (a corrupt RPM, a missing image artifact)."""


@dataclass(frozen=True)
class PayloadFile:
    path: str
    mode: int
    content: bytes


def elf_files(rpm_path: Path) -> Iterator[PayloadFile]:
    """The ELF regular files of one RPM's payload, with their installed path and mode.

    Each file's first four bytes are read to tell ELF from anything else; only an ELF file is read
    whole, so a large data file costs nothing but its decompression."""
    with payload(rpm_path) as (_, archive):
        for entry in archive:
            if not stat.S_ISREG(entry.mode) or not archive.hascontent() or entry.name.startswith(DEBUG_DIR):
                continue
            head = archive.read(4)
            if is_elf(head):
                yield PayloadFile(entry.name, entry.mode, head + archive.read())


def audit_rpm_files(rpms: Sequence[Path]) -> list[Finding]:
    """Raw findings (pass, fail, n/a) for every ELF program and library in ``rpms``."""
    findings: list[Finding] = []
    for path in rpms:
        header = read_rpm(path)
        if header.is_source or is_debuginfo(header.name):
            continue
        for member in elf_files(path):
            verdicts = audit_elf(io.BytesIO(member.content), member.path)
            for verdict in verdicts or []:
                findings.append(Finding(check=verdict.check, subject=member.path, status=verdict.status,
                                        evidence=verdict.evidence, package=header.name, rpm=path.name))
    return findings


def select_rpms(project: Project, components: Sequence[str] | None) -> list[Path]:
    """The binary RPMs of the current build of ``components`` (every component when None).

    Taken from the build cache's record of each component's last build, not from whatever lies in
    ``rpms/``: files of earlier releases stay there and must not be audited as if they shipped.
    A component with no current build is an error naming it.
    """
    cache = BuildCache(project)
    names = list(components) if components is not None else project.component_names
    paths: list[Path] = []
    unbuilt: list[str] = []
    for name in names:
        outputs = cache.recorded(name)
        if outputs is None:
            unbuilt.append(name)
            continue
        paths += [path for path in outputs if path.parent.parent.name == "rpms"]
    if unbuilt:
        raise AuditError(f"no current build of {', '.join(sorted(unbuilt))} in {project.output_dir}",
                         hint="run 'trib build' first")
    return sorted(paths)


def audit_rpms(project: Project, components: Sequence[str] | None, *, today: date | None = None) -> Report:
    """The policy-applied report for the built RPMs of ``components`` (None: every built RPM)."""
    paths = select_rpms(project, components)
    if not paths:
        raise AuditError(f"no built RPMs in {project.output_dir / 'rpms'}"
                         + (f" for {', '.join(components)}" if components else ""),
                         hint="run 'trib build' first")
    day = today or date.today()
    findings = apply_policy(audit_rpm_files(paths), project.audit, today=day)
    return Report(kind="rpms", target=str(project.output_dir / "rpms"), audited=day, findings=findings)
