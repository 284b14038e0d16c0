"""Audit results: one ``Finding`` per check and subject, the report's stable JSON, and baseline diffs.

The JSON (``REPORT_VERSION``) is meant to be kept with a release and fed back with ``--baseline``:
findings are keyed by (check, package name, path), never by version-release, so the next release's
report lines up with this one. A *regression* is a finding that passed (or did not apply) in the
baseline and now fails, warns or is only waived: hardening lost since the earlier release.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from tributary.errors import TribError

REPORT_VERSION = 1

class Status(StrEnum):
    """A finding's verdict, from best to worst."""

    PASS = "pass"
    """The check holds."""
    NA = "n/a"
    """The check does not apply to this subject."""
    WARN = "warn"
    """A check the policy does not require does not hold."""
    WAIVED = "waived"
    """A failure the policy accepts, with its reason."""
    FAIL = "fail"
    """A required check does not hold: the release fails."""


STATUSES = tuple(Status)
_GOOD = frozenset({Status.PASS, Status.NA})


@dataclass(frozen=True)
class Finding:
    check: str
    subject: str
    """The file (path inside the RPM or image), or ``""`` for a check on the whole image."""
    status: Status
    evidence: str
    package: str = ""
    """The RPM's name (ELF checks), or the package that owns the file when known."""
    rpm: str = ""
    """The RPM file the subject came from (ELF checks)."""
    waiver: str = ""
    """The waiver's reason when waived, or why a matching waiver no longer applies (expired)."""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.check, self.package, self.subject)

    def to_json(self) -> dict[str, str]:
        data = {"check": self.check, "subject": self.subject, "package": self.package, "rpm": self.rpm,
                "status": self.status, "evidence": self.evidence, "waiver": self.waiver}
        return {key: value for key, value in data.items() if value or key in ("check", "subject", "status")}


@dataclass
class Report:
    kind: str
    """``rpms`` or ``image``."""
    target: str
    """What was audited: the image's name, or the RPM directory."""
    audited: date
    findings: list[Finding]
    source: str = ""
    """The artifact an image audit read (the .wsl file or OCI layer)."""
    regressions: list[Finding] = field(default_factory=list)
    baseline: str = ""

    @property
    def violations(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.status == Status.FAIL]

    @property
    def failed(self) -> bool:
        """The release fails: a required check does not hold, or hardening was lost since the baseline."""
        return bool(self.violations or self.regressions)

    def summary(self) -> dict[str, int]:
        counts = Counter(finding.status for finding in self.findings)
        return {status: counts.get(status, 0) for status in STATUSES}

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "reportVersion": REPORT_VERSION,
            "kind": self.kind,
            "target": self.target,
            "audited": self.audited.isoformat(),
            "summary": self.summary(),
            "findings": [finding.to_json() for finding in self.findings],
        }
        if self.source:
            data["source"] = self.source
        if self.baseline:
            data["baseline"] = self.baseline
            data["regressions"] = [finding.to_json() for finding in self.regressions]
        return data


def finding_from_json(data: dict[str, Any]) -> Finding:
    return Finding(check=str(data["check"]), subject=str(data.get("subject", "")), status=Status(data["status"]),
                   evidence=str(data.get("evidence", "")), package=str(data.get("package", "")),
                   rpm=str(data.get("rpm", "")), waiver=str(data.get("waiver", "")))


def read_report(path: Path) -> Report:
    """An audit report as ``--report`` wrote it; a file that is not one is an input error naming it."""
    try:
        data = json.loads(path.read_text())
        if data.get("reportVersion") != REPORT_VERSION:
            raise ValueError(f"reportVersion {data.get('reportVersion')!r}, expected {REPORT_VERSION}")
        return Report(kind=str(data["kind"]), target=str(data["target"]), audited=date.fromisoformat(data["audited"]),
                      findings=[finding_from_json(item) for item in data["findings"]],
                      source=str(data.get("source") or ""),
                      regressions=[finding_from_json(item) for item in data.get("regressions") or ()],
                      baseline=str(data.get("baseline") or ""))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise TribError(f"{path}: not an audit report: {error}") from error


def load_baseline(path: Path) -> list[Finding]:
    """The findings of an earlier report (``--report`` output); a file that is not one is an input error."""
    return read_report(path).findings


def regressions(current: list[Finding], baseline: list[Finding]) -> list[Finding]:
    """Findings that held in the baseline (pass or n/a) and no longer do; new subjects are not regressions."""
    before = {finding.key: finding.status for finding in baseline}
    return [finding for finding in current
            if finding.status not in _GOOD and before.get(finding.key) in _GOOD]


# ---------------------------------------------------------------------------------------------------
# Presentation


def rows(report: Report, *, all_findings: bool = False) -> list[dict[str, str]]:
    """Rows for ``-O table|json|markdown|html``: every finding that is not a plain pass (all with
    ``all_findings``), worst first, then by package and path."""
    order = {status: index for index, status in enumerate(reversed(STATUSES))}
    chosen = [f for f in report.findings if all_findings or f.status not in _GOOD]
    chosen.sort(key=lambda f: (order[f.status], f.package, f.subject, f.check))
    regressed = {finding.key for finding in report.regressions}
    out = []
    for finding in chosen:
        row = {"status": finding.status + (" (regression)" if finding.key in regressed else ""),
               "check": finding.check}
        if report.kind == "rpms":
            row["package"] = finding.package
        row["subject"] = finding.subject or "(image)"
        row["evidence"] = finding.evidence + (f"; waiver: {finding.waiver}" if finding.waiver else "")
        out.append(row)
    return out


def per_file(report: Report) -> list[dict[str, str]]:
    """One row per audited file, one column per check (the shape of a checksec table)."""
    files: dict[tuple[str, str], dict[str, str]] = {}
    marks = {Status.PASS: "ok", Status.NA: "-", Status.WARN: "WARN", Status.WAIVED: "waived", Status.FAIL: "FAIL"}
    for finding in report.findings:
        row = files.setdefault((finding.package, finding.subject), {"package": finding.package,
                                                                    "file": finding.subject})
        row[finding.check] = marks[finding.status]
    return [files[key] for key in sorted(files)]


def markdown(report: Report) -> str:
    """A Markdown document for release notes: the verdict, counts, then each finding that is not a pass."""
    verdict = "FAILED" if report.failed else "passed"
    title = "RPM hardening audit" if report.kind == "rpms" else f"Image audit: {report.target}"
    lines = [f"# {title}", "", f"Audited {report.audited.isoformat()}: **{verdict}**."]
    if report.source:
        lines.append(f"Read from `{report.source}`.")
    lines += ["", "| " + " | ".join(STATUSES) + " |", "|" + " --- |" * len(STATUSES),
              "| " + " | ".join(str(count) for count in report.summary().values()) + " |", ""]
    if report.baseline:
        lines += [f"Baseline `{report.baseline}`: {len(report.regressions)} regression(s).", ""]
    table = rows(report)
    if table:
        headers = list(table[0])
        lines += ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
        for row in table:
            lines.append("| " + " | ".join(_cell(row[h]) for h in headers) + " |")
    else:
        lines.append("Every check passed or does not apply.")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
