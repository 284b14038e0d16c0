"""mock, the program (Fedora's and Azure Linux's build tool): the two command lines tributary runs.

Used by ``trib build --backend mock`` where mock is installed. The configuration is the project's own
mock config, as azldev passes it; tributary's template names (``tributary_stage0``,
``tributary_project_dir``) are given as ``--config-opts``, and the packages this run produced as an
``--addrepo``, as mock's chain builds do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from tributary.tools import process

PROGRAM = "mock"


class MockError(process.ToolError):
    """mock is missing or could not run."""


def require() -> str:
    return process.require(PROGRAM, package="mock", purpose="for --backend mock (Fedora and Azure Linux hosts)",
                           error=MockError)


def _common(config: Path, resultdir: Path, options: Mapping[str, str], repos: Sequence[str]) -> list[str]:
    args = ["-r", str(config), "--resultdir", str(resultdir), "--no-cleanup-after"]
    for key in sorted(options):
        args.append(f"--config-opts={key}={options[key]}")
    for url in repos:
        args.append(f"--addrepo={url}")
    return args


def buildsrpm_args(program: str, config: Path, *, spec: Path, sources: Path, resultdir: Path,
                   options: Mapping[str, str], repos: Sequence[str]) -> list[str]:
    """``mock --buildsrpm``: the SRPM of ``spec`` with its files from ``sources``, made in mock's root."""
    return [program, *_common(config, resultdir, options, repos), "--buildsrpm", "--spec", str(spec),
            "--sources", str(sources)]


def rebuild_args(program: str, config: Path, srpm: Path, *, resultdir: Path, options: Mapping[str, str],
                 repos: Sequence[str], check: bool = True) -> list[str]:
    """``mock --rebuild``: the binary packages of ``srpm``."""
    return [program, *_common(config, resultdir, options, repos), *([] if check else ["--nocheck"]),
            "--rebuild", str(srpm)]
