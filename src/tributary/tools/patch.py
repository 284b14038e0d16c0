"""patch, the program: whether a patch's changes are already in a source tree (it applies in reverse).

``upstream check`` asks this of a ``patch-add`` overlay against the target upstream's own tarballs:
a patch that reverse-applies cleanly is one upstream has taken, and applying it again would fail the
build. Only ``--dry-run`` is used: nothing in the tree is changed.
"""

from __future__ import annotations

from pathlib import Path

from tributary.tools import process

TIMEOUT = 60.0
"""Seconds one dry run may take (patches are small; a tree is read, never written)."""


def require() -> str:
    return process.require("patch", package="patch", purpose="to see whether upstream already carries a patch")


def reverse_applies(patch: Path, directory: Path, *, strip: int) -> bool:
    """Whether ``patch`` applies in reverse to ``directory`` with ``-p<strip>``, without fuzz or rejects."""
    proc = process.run([require(), "--dry-run", "--reverse", "--force", "--silent", "--fuzz=0", f"-p{strip}",
                        "-i", str(patch), "-d", str(directory)], ok=None, timeout=TIMEOUT, name="patch")
    return proc.returncode == 0
