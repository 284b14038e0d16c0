"""What every command needs: the global settings and the project they name."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tributary.cli.output import Settings

if TYPE_CHECKING:
    from tributary.config import Project


def settings(ctx: typer.Context) -> Settings:
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings()
    return root.obj


def project(ctx: typer.Context) -> Project:
    """Load the project once per invocation: from -C DIR, else the nearest azldev.toml above here.

    Its warnings (what azldev passes over in silence) go to stderr; with ``--strict`` they are errors.
    """
    from tributary.config import load_project

    state = settings(ctx)
    if state.project is None:
        start = Path(state.project_dir) if state.project_dir else None
        state.project = load_project(start, extra_files=[Path(f) for f in state.config_files],
                                     permissive=state.permissive_config, strict=state.strict)
        for loaded in state.project.files:
            for ignored in loaded.ignored:
                print(f"warning: {ignored}", file=sys.stderr)
        for warning in state.project.warnings:
            print(f"warning: {warning} (an error with --strict)", file=sys.stderr)
    return state.project


def signing_key(sign_key: str | None, gnupghome: Path | None):
    """The project's signing key as the command line and environment name it, or None when none is named.

    ``--sign-key`` names the key, else ``TRIB_GPG_KEY``; ``--gnupghome`` is the key ring it is looked
    for in, else ``TRIB_GNUPGHOME``, ``GNUPGHOME``, ``~/.gnupg``. A key ring given with no key to look
    for is an error, never a silent "unsigned". Every command that signs (repo publish, build, sbom)
    and verifies chooses its key here, so they agree.
    """
    from tributary.errors import ConfigError
    from tributary.repo.sign import HOME_VARIABLE, KEY_VARIABLE, SigningKey

    if sign_key:
        home = gnupghome or Path(os.environ.get(HOME_VARIABLE) or os.environ.get("GNUPGHOME") or Path.home() / ".gnupg")
        return SigningKey.from_gnupghome(home, sign_key)
    if gnupghome is not None:
        if not os.environ.get(KEY_VARIABLE, "").strip():
            raise ConfigError(f"--gnupghome {gnupghome} names a key ring but no key in it",
                              hint=f"pass --sign-key KEY, or set {KEY_VARIABLE}")
        return SigningKey.from_environment({**os.environ, HOME_VARIABLE: str(gnupghome)})
    return SigningKey.from_environment()
