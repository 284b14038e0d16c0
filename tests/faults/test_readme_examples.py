"""README's Examples, after ``make demo``: every command in the section runs and exits 0.

A session fixture makes a checkout of this repository (its history, for ``comp changed --from HEAD~5``,
and the working tree as it is), runs ``examples/demo.sh`` in it as ``make demo`` does, and then each
README line runs from the checkout's root with ``trib`` on PATH, as a user would type it.

On fc1b5b1: ``upstream check`` and ``comp update -a`` failed (exit 2: the example upstream on
127.0.0.1:8741 was served only while the demo ran), ``image test vm-base`` failed with "no kernel to
boot with" (exit 2) although ``make setup`` had fetched one, ``sbom greet && verify ...`` named files the
demo did not leave, and the second ``build -a`` rewrote the signed provenance unsigned.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import run_git

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"

pytestmark = [pytest.mark.builds, pytest.mark.boots]


def readme_examples(text: str) -> list[str]:
    """The commands of README's ``## Examples`` code block, each without its trailing comment."""
    section = text.split("\n## Examples\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```\n", 1)[1].split("```", 1)[0]
    commands = [re.sub(r"\s+#\s.*$", "", line).strip() for line in block.splitlines()]
    return [command for command in commands if command]


def test_the_examples_section_is_read_whole() -> None:
    commands = readme_examples(README.read_text())
    assert len(commands) >= 20
    assert all(command.startswith("trib ") for command in commands)
    assert "trib -C examples/distro comp list -a" in commands
    assert "trib config schema > azldev.schema.json" in commands


@pytest.fixture(scope="session")
def demo_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A checkout of this repository after ``make demo`` (``examples/demo.sh``) ran in it."""
    checkout = tmp_path_factory.mktemp("readme") / "tributary"
    run_git("clone", "-q", "--shared", str(REPO), str(checkout), cwd=REPO)
    for relative in run_git("ls-files", "-z", cwd=REPO).split("\0"):  # the working tree as it is
        source = REPO / relative
        if relative and source.is_file() and not source.is_symlink():
            shutil.copyfile(source, checkout / relative)
    (checkout / ".venv").symlink_to(REPO / ".venv")
    (checkout / ".cache").symlink_to((REPO / ".cache").resolve())  # the test kernel make setup fetched
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TRIB_")}
    # In a network namespace of its own: the demo serves the upstream on 127.0.0.1:8741, which another
    # checkout's demo may be using; nothing else it does needs a network.
    demo = subprocess.run(["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec bash "$0"',
                           str(checkout / "examples" / "demo.sh")], cwd=checkout, env=environment,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=5400)
    assert demo.returncode == 0, demo.stdout[-4000:]
    try:
        yield checkout
    finally:
        subprocess.run(["gpgconf", "--homedir", str(checkout / "examples/distro/build/gnupg"), "--kill", "all"],
                       check=False, capture_output=True)


def test_every_readme_example_exits_0_after_make_demo(demo_checkout: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TRIB_")}
    environment["PATH"] = f"{demo_checkout / '.venv' / 'bin'}{os.pathsep}{environment.get('PATH', '')}"
    failed = {}
    for command in readme_examples((demo_checkout / "README.md").read_text()):
        ran = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=demo_checkout, env=environment,
                             capture_output=True, text=True, timeout=1800)
        if ran.returncode != 0:
            failed[command] = (ran.returncode, ran.stderr.strip().splitlines()[:1])
    assert failed == {}
    schema = demo_checkout / "azldev.schema.json"
    assert schema.read_text().lstrip().startswith("{")
