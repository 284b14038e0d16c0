"""Fixtures of the fault-injection suite: private copies of real, built things to damage."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import ExampleDistro, Published


@pytest.fixture
def built_distro(tmp_path: Path, published: Published, trib_cache: Path) -> ExampleDistro:
    """A private copy of the session's built and published example distribution (configuration, rendered
    specs, outputs, build records and caches): a build in it finds everything current, so a test can
    damage one thing and see what the next command makes of it."""
    root = tmp_path / "distro"
    shutil.copytree(published.project.root, root, symlinks=True)
    return ExampleDistro(root, published.project.root.parent / "mirror.toml")
