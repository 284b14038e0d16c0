"""Shared fixtures: small real projects written to a temporary directory, and the CLI run in-process."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tributary.cli.app import main

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``{relative path: text}`` below ``root`` (text is dedented) and return root."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write a project from a dict of files; the directory is also the current directory."""

    def make(files: dict[str, str]) -> Path:
        return write_tree(tmp_path / "proj", files)

    return make


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def trib(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run ``trib ARGS`` in-process from ``cwd`` and capture its exit status and output."""

    def run(*args: str, cwd: Path | None = None) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
