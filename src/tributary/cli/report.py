"""``trib report`` and ``trib lint``: the delta from upstream, explained, and checked."""

from __future__ import annotations

import json

import typer

from tributary.cli import common
from tributary.cli.comp import AllOpt, GroupOpt, NamesArg
from tributary.cli.output import Column, emit_rows
from tributary.errors import CheckFailed

app = typer.Typer(help="Reports about the distribution.", no_args_is_help=True)


@app.command("changes")
def changes(
    ctx: typer.Context,
    names: NamesArg = None,
    group: GroupOpt = None,
) -> None:
    """Every component that differs from upstream, each overlay with its reason, totals by category.

    Selects all components unless names or -g are given. Table, Markdown (-O markdown) or HTML
    (-O html) for people, JSON (-O json) for scripts.

    Examples:

      trib report changes -O markdown > CHANGES.md

      trib report changes -O json | jq '.byCategory'

      trib report changes -O html > changes.html
    """
    from tributary.render.changes import change_report, to_html, to_markdown

    project = common.project(ctx)
    chosen = project.select(names or [], all_components=not names and group is None, group=group)
    report = change_report(project, chosen)
    state = common.settings(ctx)
    if state.output.value == "html":
        print(to_html(report), end="")
    elif state.output.value == "json":
        print(json.dumps(report.to_json(), indent=2))
    elif state.output.value == "markdown":
        print(to_markdown(report), end="")
    else:
        rows = [
            {
                "component": c.name,
                "kind": "full fork" if c.is_fork else "overlays",
                "overlays": len(c.overlays),
                "categories": sorted({o.category or "(none)" for o in c.overlays}),
                "why": c.fork_reason or "; ".join(o.description or "" for o in c.overlays if o.description)[:120],
            }
            for c in report.components
        ]
        emit_rows(
            state,
            rows,
            [
                Column("component", "Component"),
                Column("kind", "Kind"),
                Column("overlays", "Overlays"),
                Column("categories", "Categories"),
                Column("why", "Why"),
            ],
            title=f"{len(report.components)} changed, {report.unchanged} unchanged",
        )


def lint(ctx: typer.Context, names: NamesArg = None, all_components: AllOpt = False, group: GroupOpt = None) -> None:
    """Check that every change from upstream is explained; exit 1 on a finding.

    Finds overlays without a description or without metadata (category, upstream-status), and local
    specs (full forks) without spec.reason. Also advises (without failing) where a section removal
    drops a %global the spec still uses or leaves an empty %if (render.keep-used-macros and
    render.drop-empty-conditionals change that). Checks all components unless names or -g are given.

    Examples:

      trib lint

      trib lint -O json
    """
    from tributary.render.lint import Severity
    from tributary.render.lint import lint as run_lint

    project = common.project(ctx)
    chosen = project.select(names or [], all_components=all_components or (not names and group is None), group=group)
    findings = run_lint(project, chosen)
    state = common.settings(ctx)
    emit_rows(state, [f.to_json() for f in findings],
              [Column("location", "Where"), Column("component", "Component"), Column("severity", "Kind"),
               Column("message", "Problem")],
              empty="every change from upstream is explained")
    errors = [f for f in findings if f.severity == Severity.ERROR]
    if errors:
        raise CheckFailed(f"{len(errors)} unexplained change(s) from upstream")
