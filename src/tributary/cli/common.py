"""What every command needs: the global settings and the project they name."""

from __future__ import annotations

from pathlib import Path

import typer

from tributary.cli.output import Settings
from tributary.config import Project, load_project


def settings(ctx: typer.Context) -> Settings:
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings()
    return root.obj


def project(ctx: typer.Context) -> Project:
    """Load the project once per invocation: from -C DIR, else the nearest azldev.toml above here."""
    state = settings(ctx)
    cached = getattr(state, "_project", None)
    if cached is None:
        start = Path(state.project_dir) if state.project_dir else None
        cached = load_project(start, extra_files=[Path(f) for f in state.config_files])
        state._project = cached  # type: ignore[attr-defined]
    return cached
