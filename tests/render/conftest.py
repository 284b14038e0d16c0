"""Fixtures of the render tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import copy_example_distro


@pytest.fixture
def distro(tmp_path: Path, example_upstream, trib):
    """A copy of the example distribution in git, and ``cli(*args)`` running trib on it."""
    copy = copy_example_distro(tmp_path, example_upstream.root)

    def cli(*args: str):
        return trib(*copy.args(*args))

    return copy.root, cli
