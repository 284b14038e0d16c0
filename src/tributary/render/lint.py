"""``trib lint``: every change from upstream must say why.

A finding is reported once at the place it was written, even when an inherited overlay reaches many
components.
"""

from __future__ import annotations

from dataclasses import dataclass

from tributary.config import Project
from tributary.render.changes import component_changes


@dataclass(frozen=True)
class Finding:
    location: str
    component: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"location": self.location, "component": self.component, "message": self.message}


def lint(project: Project, names: list[str]) -> list[Finding]:
    findings: dict[tuple[str, str], Finding] = {}
    for name in names:
        component = project.resolve(name)
        if not component.config.overlays and component.spec_type != "local":
            continue
        changes = component_changes(project, component)
        for overlay in changes.overlays:
            label = f"overlay #{overlay.number} ({overlay.type})"
            if not overlay.description:
                _add(findings, Finding(overlay.location, name, f"{label} has no description"))
            if overlay.category is None:
                _add(
                    findings, Finding(overlay.location, name, f"{label} has no metadata (category and upstream-status)")
                )
        if changes.is_fork and not changes.fork_reason:
            where = str(component.origin.location("spec")) if component.origin else name
            _add(findings, Finding(where, name, "local spec (a full fork of upstream) without spec.reason"))
    return sorted(findings.values(), key=lambda f: (f.location, f.message))


def _add(findings: dict[tuple[str, str], Finding], finding: Finding) -> None:
    findings.setdefault((finding.location, finding.message), finding)
