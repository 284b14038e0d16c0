"""``trib comp why``: why one component's fingerprint or rendered output changed between two commits.

Its own module (registered on ``trib comp`` in ``cli.comp``) so the comp command group stays small."""

from __future__ import annotations

from typing import Annotated

import typer

from tributary.cli import common
from tributary.cli.output import Column, emit_rows


def why(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(
        metavar="NAME", help="The component; also one the newer commit no longer has (so not azldev's -p).")],
    from_ref: Annotated[str, typer.Option("--from", help="The older commit of the project (any git revision).")]
    = "HEAD~1",
    to_ref: Annotated[str, typer.Option("--to", help="The newer commit.")] = "HEAD",
) -> None:
    """What changed in a component's fingerprint inputs or rendered output between two commits.

    One row per change: a configuration key (with the file:line that set it, a distro default or group
    included), the locked upstream commit, a file of a local spec, the manual bump, the release-ver,
    a file an overlay copies, a fingerprint tributary computes differently, and each changed block of
    the rendered files. Both commits are read from git, not from the work tree.

    Examples:

      trib comp why curl --from origin/main

      trib -O json comp why greet --from v1.0 --to HEAD
    """
    from tributary.upstream.why import explain

    changes = explain(common.project(ctx), name, from_ref=from_ref, to_ref=to_ref)
    emit_rows(common.settings(ctx), [c.to_json() for c in changes],
              [Column("aspect", "Aspect"), Column("what", "What"), Column("before", "Before"),
               Column("after", "After"), Column("where", "Where")],
              empty=f"nothing that decides {name}'s output changed between {from_ref} and {to_ref}")
