"""``trib lint``: every change from upstream must say why, and what a removal leaves behind is pointed at.

A finding is reported once at the place it was written, even when an inherited overlay reaches many
components. Errors (an overlay without description or metadata, a fork without reason) fail the lint;
advice does not: a ``spec-remove-section``/``-subpackage`` that takes a ``%global`` the rest of the spec
still uses, or leaves an empty ``%if``...``%endif``, renders as azldev does unless the project sets
``render.keep-used-macros`` / ``render.drop-empty-conditionals``, and lint says where that would matter
(found by applying the component's overlays to its sources, as render does).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from tributary.config import Project, ResolvedComponent
from tributary.config.model import Overlay
from tributary.errors import TribError
from tributary.overlays import ComponentTree, apply_overlay
from tributary.overlays.sections import SectionRemoval, removal_effects
from tributary.overlays.tree import read_spec
from tributary.render.changes import component_changes
from tributary.render.render import apply_overlays
from tributary.upstream.sources import fetch_sources


class Severity(StrEnum):
    ERROR = "error"
    ADVICE = "advice"


@dataclass(frozen=True)
class Finding:
    location: str
    component: str
    message: str
    severity: Severity = Severity.ERROR

    def to_json(self) -> dict[str, str]:
        return {"location": self.location, "component": self.component, "message": self.message,
                "severity": self.severity}


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
        for finding in removal_advice(project, component):
            _add(findings, finding)
    return sorted(findings.values(), key=lambda f: (f.location, f.message))


def removal_advice(project: Project, component: ResolvedComponent) -> list[Finding]:
    """Where the component's section removals drop a still-used macro or leave an empty conditional,
    and the project has not chosen the option that would change it."""
    settings = component.config.render
    keeps = bool(settings and settings.keep_used_macros)
    drops = bool(settings and settings.drop_empty_conditionals)
    if (keeps and drops) or not any(isinstance(o, SectionRemoval) for o in component.config.overlays):
        return []
    advice: list[Finding] = []

    def step(overlay: Overlay, index: int | None, tree: ComponentTree) -> None:
        if isinstance(overlay, SectionRemoval) and index is not None:
            doc = read_spec(tree)
            try:
                effects = removal_effects(doc, overlay.doomed_sections(doc))
            except TribError:
                effects = None  # render reports the overlay's own failure
            where = str(project.overlay_location(component.name, index))
            label = f"overlay #{index + 1} ({overlay.type})"
            for lost in effects.lost_macros if effects and not keeps else ():
                advice.append(Finding(where, component.name, (
                    f"{label} drops %global {lost.name} (spec line {lost.definition + 1}), which line {lost.use + 1} "
                    f"still uses; render.keep-used-macros = true keeps it"), Severity.ADVICE))
            for opening, closing in effects.empty_conditionals if effects and not drops else ():
                advice.append(Finding(where, component.name, (
                    f"{label} leaves an empty %if (spec lines {opening + 1}-{closing + 1}: "
                    f"{doc.line(opening).strip()!r}); render.drop-empty-conditionals = true drops it"),
                    Severity.ADVICE))
        apply_overlay(overlay, tree)

    project.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{component.name}.", suffix=".lint.render", dir=project.work_dir))
    try:
        fetch_sources(project, component, scratch)
        apply_overlays(project, component, scratch, step=step)
    except TribError as error:
        where = str(component.origin.location()) if component.origin else component.name
        advice.append(Finding(where, component.name, f"its section removals could not be checked: {error}",
                              Severity.ADVICE))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return advice


def _add(findings: dict[tuple[str, str], Finding], finding: Finding) -> None:
    findings.setdefault((finding.location, finding.message), finding)
