"""qemu-img, the program: converting the raw disk to qcow2 and to a fixed VHD, and reading disks back.

``qemu-img info`` is the independent reader that ``trib image test`` compares our manifest with. It
must be told the format: probing reports a fixed VHD as "raw", because a fixed VHD is a raw disk with
a 512-byte footer at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tributary.tools import process

PROGRAM = "qemu-img"
CONVERT_TIMEOUT = 3600.0
"""Seconds one conversion may take: compressing a disk of several GiB to qcow2."""
# tributary's format names -> qemu's driver names.
DRIVERS = {"raw": "raw", "qcow2": "qcow2", "vhd-fixed": "vpc"}


def convert(source: Path, target: Path, image_format: str, *, source_format: str = "raw") -> None:
    """Convert the disk ``source`` to ``image_format`` (qcow2 compressed; vhd-fixed of the exact size;
    raw sparse)."""
    program = process.require(PROGRAM, package="qemu-utils", purpose="to convert disk images")
    if image_format == "raw":
        options = ["-O", "raw"]
    elif image_format == "qcow2":
        options = ["-O", "qcow2", "-c"]
    elif image_format == "vhd-fixed":
        # force_size keeps the raw size instead of rounding it to a CHS geometry, as Azure requires.
        options = ["-O", "vpc", "-o", "subformat=fixed,force_size=on"]
    else:
        raise ValueError(f"qemu-img cannot write {image_format!r} here")
    process.run([program, "convert", "-q", "-f", DRIVERS[source_format], *options, str(source), str(target)],
                timeout=CONVERT_TIMEOUT)


def info(path: Path, image_format: str) -> dict[str, Any]:
    """``qemu-img info`` of ``path`` read as ``image_format`` (tributary's name), as JSON."""
    program = process.require(PROGRAM, package="qemu-utils", purpose="to check disk images")
    return process.json_object(process.run([program, "info", "--output=json", "-f", DRIVERS[image_format], str(path)]))
