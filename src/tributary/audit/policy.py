"""The project's ``[audit]`` policy applied to raw verdicts: required checks, waivers and their expiry.

A raw finding is ``pass``, ``n/a`` or ``fail``. A failure becomes:

* ``waived`` when a waiver matches it (check, and each of ``package``, ``path``, ``image`` it sets)
  and has not expired;
* else ``warn`` when the check is not in ``required`` (default: every check is required); an expired
  waiver is named in the finding but does not turn a warning into a failure;
* else ``fail``; when the only matching waivers have expired (``expires = D`` holds up to and
  including the day before D) the finding names the waiver, so an old excuse cannot linger unnoticed.

Every pattern (``check`` too, e.g. ``{pie,relro}``) is a glob in the doublestar dialect of
``tributary.globbing``.

``today`` is a parameter so tests (and a re-audit of an old release) can fix the date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from tributary.audit.report import Finding, Status
from tributary.config.model import AUDIT_CHECKS, AuditConfig, AuditWaiver
from tributary.globbing import match


def required_checks(policy: AuditConfig) -> frozenset[str]:
    if policy.required is None:
        return frozenset(AUDIT_CHECKS)
    return frozenset(check for pattern in policy.required for check in AUDIT_CHECKS if match(pattern, check))


def waiver_matches(waiver: AuditWaiver, finding: Finding, *, image: str = "") -> bool:
    if not match(waiver.check, finding.check):
        return False
    if waiver.package is not None and not match(waiver.package, finding.package):
        return False
    if waiver.path is not None and not match(waiver.path, finding.subject):
        return False
    return waiver.image is None or (bool(image) and match(waiver.image, image))


def apply_policy(findings: Iterable[Finding], policy: AuditConfig, *, today: date, image: str = "") -> list[Finding]:
    """Each finding with its final status; ``image`` is the audited image's name (for ``image`` waivers)."""
    required = required_checks(policy)
    out = []
    for finding in findings:
        if finding.status != Status.FAIL:
            out.append(finding)
            continue
        matching = [w for w in policy.waivers if waiver_matches(w, finding, image=image)]
        live = [w for w in matching if w.expires is None or today < w.expires]
        if live:
            out.append(replace(finding, status=Status.WAIVED, waiver=live[0].reason))
            continue
        note = ""
        if matching and (expired := matching[0].expires) is not None:
            note = f"expired {expired.isoformat()}: {matching[0].reason}"
        # A check the policy does not require only warns; an expired waiver cannot make it fail.
        out.append(replace(finding, status=Status.FAIL if finding.check in required else Status.WARN, waiver=note))
    return out
