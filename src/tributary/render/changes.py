"""The delta report: every way the distribution differs from upstream, and why.

Built from the configuration alone (no rendering needed), so it is cheap enough to run on every change.
Each overlay carries its description and metadata; components whose spec is local are full forks and
must state why (``spec.reason``, a tributary extension); build options and disabled checks are changes
too and are listed as such.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tributary.config import Project, ResolvedComponent
from tributary.render.macros import build_macros


@dataclass(frozen=True)
class OverlayChange:
    number: int
    type: str
    description: str | None
    category: str | None
    upstream_status: str | None
    commits: tuple[str, ...]
    bugs: tuple[str, ...]
    location: str

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "type": self.type,
            "description": self.description,
            "category": self.category,
            "upstreamStatus": self.upstream_status,
            "commits": list(self.commits),
            "bugs": list(self.bugs),
            "location": self.location,
        }


@dataclass(frozen=True)
class ComponentChanges:
    name: str
    spec_type: str
    fork_reason: str | None
    overlays: tuple[OverlayChange, ...]
    build_macros: dict[str, str]
    check_skipped: str | None

    @property
    def is_fork(self) -> bool:
        return self.spec_type == "local"

    def to_json(self) -> dict[str, Any]:
        return {
            "component": self.name,
            "specType": self.spec_type,
            "fullFork": self.is_fork,
            "forkReason": self.fork_reason,
            "overlays": [o.to_json() for o in self.overlays],
            "buildMacros": self.build_macros,
            "checkSkipped": self.check_skipped,
        }


@dataclass
class ChangeReport:
    components: list[ComponentChanges]
    unchanged: int
    by_category: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "changedComponents": len(self.components),
            "unchangedComponents": self.unchanged,
            "overlays": sum(len(c.overlays) for c in self.components),
            "byCategory": dict(sorted(self.by_category.items())),
            "byUpstreamStatus": dict(sorted(self.by_status.items())),
            "components": [c.to_json() for c in self.components],
        }


def component_changes(project: Project, component: ResolvedComponent, *, locate: bool = True) -> ComponentChanges:
    overlays = []
    for index, overlay in enumerate(component.config.overlays):
        metadata = overlay.metadata
        overlays.append(
            OverlayChange(
                number=index + 1,
                type=overlay.type,
                description=overlay.description,
                category=metadata.category if metadata else None,
                upstream_status=metadata.upstream_status if metadata else None,
                commits=tuple(link.url for link in metadata.commits) if metadata else (),
                bugs=tuple(link.url for link in metadata.bugs) if metadata else (),
                location=str(project.overlay_location(component.name, index)) if locate else "",
            )
        )
    check = component.config.build.check if component.config.build else None
    spec = component.config.spec
    return ComponentChanges(
        name=component.name,
        spec_type=component.spec_type,
        fork_reason=spec.reason if spec else None,
        overlays=tuple(overlays),
        build_macros=build_macros(component.config),
        check_skipped=check.skip_reason if check and check.skip else None,
    )


def change_report(project: Project, names: list[str]) -> ChangeReport:
    """The report over ``names``: components with any change, totals by category and upstream status."""
    changed: list[ComponentChanges] = []
    unchanged = 0
    report = ChangeReport(components=changed, unchanged=0)
    for name in names:
        component = project.resolve(name)
        if not (component.config.overlays or component.spec_type == "local" or component.config.build):
            unchanged += 1
            continue
        changes = component_changes(project, component)
        if not (changes.overlays or changes.is_fork or changes.build_macros or changes.check_skipped):
            unchanged += 1
            continue
        changed.append(changes)
        for overlay in changes.overlays:
            report.by_category[overlay.category or "(none)"] += 1
            report.by_status[overlay.upstream_status or "(none)"] += 1
    report.unchanged = unchanged
    return report


# --- formats ---------------------------------------------------------------------------------------


def to_markdown(report: ChangeReport) -> str:
    out = [
        "# Changes from upstream",
        "",
        f"{len(report.components)} components differ from upstream "
        f"({sum(len(c.overlays) for c in report.components)} overlays); {report.unchanged} are unchanged.",
        "",
    ]
    if report.by_category:
        out += ["| Category | Overlays |", "| --- | --- |"]
        out += [f"| {k} | {v} |" for k, v in sorted(report.by_category.items())]
        out += ["", "| Upstream status | Overlays |", "| --- | --- |"]
        out += [f"| {k} | {v} |" for k, v in sorted(report.by_status.items())]
        out.append("")
    forks = [c for c in report.components if c.is_fork]
    if forks:
        out += ["## Full forks (local specs)", ""]
        out += [f"- **{c.name}**: {_md(c.fork_reason or '*no reason given*')}" for c in forks]
        out.append("")
    for component in report.components:
        out += [f"## {component.name}", ""]
        if component.is_fork:
            out += [f"Full fork: {_md(component.fork_reason or '*no reason given*')}", ""]
        if component.build_macros:
            options = ", ".join(f"`%{k} {v}`" for k, v in sorted(component.build_macros.items()))
            out += [f"Build options: {options}", ""]
        if component.check_skipped:
            out += [f"`%check` disabled: {_md(component.check_skipped)}", ""]
        if component.overlays:
            out += [
                "| # | Type | Description | Category | Upstream status | References |",
                "| --- | --- | --- | --- | --- | --- |",
            ]
            for o in component.overlays:
                refs = " ".join(f"[commit]({u})" for u in o.commits) + " " + " ".join(f"[bug]({u})" for u in o.bugs)
                out.append(
                    f"| {o.number} | `{o.type}` | {_md(o.description or '*no description*')} | {o.category or ''} "
                    f"| {o.upstream_status or ''} | {refs.strip()} |"
                )
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_html(report: ChangeReport) -> str:
    e = html.escape
    rows = []
    for component in report.components:
        for o in component.overlays or ():
            refs = " ".join(f'<a href="{e(u)}">commit</a>' for u in o.commits) + " ".join(
                f' <a href="{e(u)}">bug</a>' for u in o.bugs
            )
            rows.append(
                f"<tr><td>{e(component.name)}</td><td>{o.number}</td><td><code>{e(o.type)}</code></td>"
                f"<td>{e(o.description or '')}</td><td>{e(o.category or '')}</td>"
                f"<td>{e(o.upstream_status or '')}</td><td>{refs}</td></tr>"
            )
        if component.is_fork:
            rows.append(
                f"<tr><td>{e(component.name)}</td><td></td><td>full fork</td>"
                f"<td>{e(component.fork_reason or '')}</td><td></td><td></td><td></td></tr>"
            )
    totals = "".join(f"<li>{e(k)}: {v}</li>" for k, v in sorted(report.by_category.items()))
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Changes from upstream</title></head><body>\n"
        f"<h1>Changes from upstream</h1><p>{len(report.components)} components differ; "
        f"{report.unchanged} unchanged.</p>\n"
        f"<ul>{totals}</ul>\n<table>\n<tr><th>Component</th><th>#</th><th>Type</th><th>Description</th>"
        "<th>Category</th><th>Upstream status</th><th>References</th></tr>\n"
        + "\n".join(rows)
        + "\n</table></body></html>\n"
    )
