"""``trib upstream``: follow the upstream distribution, and know what moving to a newer one costs."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from tributary.cli import common
from tributary.cli.comp import GroupOpt, NamesArg
from tributary.cli.output import Column, OutputFormat, emit_rows

app = typer.Typer(help="Follow the upstream distribution: check a newer snapshot or version before moving to it.",
                  no_args_is_help=True)


@app.command("check")
def check(
    ctx: typer.Context,
    names: NamesArg = None,
    group: GroupOpt = None,
    snapshot: Annotated[
        str | None,
        typer.Option(
            "--snapshot",
            help="Check against the commits this snapshot (RFC 3339, e.g. 2025-06-01T00:00:00Z) would select.",
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(
            "--version", help="Check against this version of the components' upstream distro (its dist-git-branch)."
        ),
    ] = None,
    fail_on_redundant: Annotated[
        bool, typer.Option("--fail-on-redundant",
                           help="Exit 1 when an overlay is redundant (upstream took its change).")
    ] = False,
) -> None:
    """Render every component's overlays against a newer upstream and report which still apply.

    Without flags the target is each component's branch head; --snapshot picks what that snapshot
    would select, --version moves to another version's branch (both together: that branch at that
    snapshot). Pinned components are checked too (what leaving the pin costs) and say they are pinned;
    local specs are skipped. Per overlay: 'applies', 'redundant' (upstream took the change: drop the
    overlay; with the evidence, such as the spec line that already reads as the overlay would write it,
    or the upstream patch or tarball that already carries a patch-add's changes) or 'fails' (with the
    error and the new upstream lines near where it used to apply). Nothing is written to the rendered
    specs or the locks. Exit status 1 when an overlay fails or a component cannot be checked, so CI can
    gate a snapshot bump; redundant overlays exit 0 unless --fail-on-redundant.

    Examples:

      trib upstream check

      trib upstream check --snapshot 2025-06-01T00:00:00Z -O markdown > upstream-check.md

      trib upstream check --version 44 -O json | jq '.[] | select(.status == "breaks")'

      trib upstream check greet libgreet

      trib upstream check --fail-on-redundant    # CI: also fail while an overlay upstream took is kept
    """
    from tributary.cli.progress import progress_bar
    from tributary.render.upstream_check import (
        FAILING,
        Target,
        check_upstream,
        summary,
        to_markdown,
    )

    project = common.project(ctx)
    state = common.settings(ctx)
    chosen = project.select(names or [], all_components=not names and group is None, group=group)
    target = Target(snapshot=snapshot, version=version)
    with progress_bar(state, "upstream check", len(chosen)) as advance:
        checks = check_upstream(project, chosen, target, progress=lambda c: advance(c.component))
    if state.output == OutputFormat.json:
        print(json.dumps([c.to_json() for c in checks], indent=2))
    elif state.output == OutputFormat.markdown:
        print(to_markdown(checks, target), end="")
    else:
        rows = [
            {
                **c.to_json(),
                "current": (c.current_commit or "")[:12],
                "target": (c.target_commit or "")[:12],
                "pin": (c.pinned_commit or "")[:12],
                "overlaySummary": summary(c),
            }
            for c in checks
        ]
        emit_rows(
            state,
            rows,
            [
                Column("component", "Component"),
                Column("status", "Status"),
                Column("current", "Current"),
                Column("target", "Target"),
                Column("pin", "Pinned"),
                Column("overlaySummary", "Overlays"),
                Column("error", "Error"),
            ],
            title=f"Upstream check: {target.describe()}",
        )
        details = [
            {
                "component": c.component,
                **o.to_json(),
                "nearby": "\n".join(f"{line.line}: {line.text}" for line in o.nearby_lines),
            }
            for c in checks
            for o in c.overlays
            if o.result != "applies"
        ]
        if details:
            emit_rows(state, details, [Column("component", "Component"), Column("number", "#"), Column("type", "Type"),
                                       Column("result", "Result"), Column("description", "Description"),
                                       Column("message", "Message"), Column("nearby", "New upstream lines nearby")],
                      title="Overlays that no longer simply apply")
    failing = [c.component for c in checks if c.status in FAILING]
    if failing:
        print(f"{len(failing)} component(s) break against the target upstream: {', '.join(failing)}", file=sys.stderr)
    redundant = [f"{c.component} #{o.number}" for c in checks for o in c.overlays if o.result == "redundant"]
    if redundant:
        print(f"{len(redundant)} overlay(s) are redundant (upstream took the change; drop them): "
              f"{', '.join(redundant)}", file=sys.stderr)
    if failing or (fail_on_redundant and redundant):
        raise typer.Exit(1)
