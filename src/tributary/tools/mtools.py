"""mtools: filling a FAT image file without mounting it.

mtools take their time stamps from ``SOURCE_DATE_EPOCH``, so the result is reproducible.
"""

from __future__ import annotations

from pathlib import Path

from tributary.tools import process


def make_directories(image: Path, directories: list[str], *, epoch: int) -> None:
    """Create ``directories`` (``/EFI``, ``/EFI/BOOT``: parents first) in the FAT image."""
    program = process.require("mmd", package="mtools", purpose="to fill EFI system partitions")
    process.run([program, "-i", str(image), *(f"::{d}" for d in directories)], env=_mtools_env(epoch))


def _mtools_env(epoch: int) -> dict[str, str]:
    # MTOOLS_SKIP_CHECK: our image is a bare file system, not a partitioned disk mtools would inspect.
    return {"MTOOLS_SKIP_CHECK": "1", "SOURCE_DATE_EPOCH": str(epoch)}
