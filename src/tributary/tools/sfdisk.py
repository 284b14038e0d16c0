"""sfdisk, the program: writing and reading a GPT partition table in a disk image file.

sfdisk works on a plain file with ``--no-reread --no-tell-kernel``, so partitioning needs no loop
device and no root. The table is given as sfdisk's script format, with every identifier fixed by the
caller so two runs write the same bytes.
"""

from __future__ import annotations

from pathlib import Path

from tributary.tools import process

PROGRAM = "sfdisk"


def write_table(image: Path, script: str) -> None:
    """Partition ``image`` (an existing file of the final size) as ``script`` describes."""
    program = process.require(PROGRAM, package="fdisk", purpose="to partition disk images")
    process.run([program, "--quiet", "--no-reread", "--no-tell-kernel", str(image)], input=script)


def verify(image: Path) -> None:
    """``sfdisk --verify``: a ToolError when the table is inconsistent (overlaps, a bad backup GPT)."""
    program = process.require(PROGRAM, package="fdisk", purpose="to check disk images")
    process.run([program, "--verify", str(image)])
