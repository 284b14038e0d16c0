"""qemu-system-x86_64, the program: boot a disk image under software emulation (TCG) and read its
serial console.

The kernel and initramfs are given directly (``-kernel``/``-initrd``), the disk is attached as virtio
with ``snapshot=on`` so a boot never changes the image it tests, and ``-no-reboot`` turns the guest's
reboot or panic into qemu exiting: a guest that goes wrong ends instead of looping.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tributary.tools import process
from tributary.tools.qemu_img import DRIVERS

PROGRAM = "qemu-system-x86_64"


@dataclass(frozen=True)
class Boot:
    console: str
    """Everything the guest wrote to its serial port."""
    returncode: int | None
    """qemu's exit status; None when it was stopped at the time limit."""


def boot_args(*, kernel: Path, initrd: Path, append: str, disk: Path, disk_format: str,
              memory_mib: int = 256, program: str = PROGRAM) -> list[str]:
    return [program, "-nodefaults", "-no-user-config", "-machine", "pc", "-accel", "tcg", "-m", str(memory_mib),
            "-display", "none", "-serial", "stdio", "-no-reboot",
            "-kernel", str(kernel), "-initrd", str(initrd), "-append", append,
            "-drive", f"file={disk},format={DRIVERS[disk_format]},if=virtio,snapshot=on"]


def boot(*, kernel: Path, initrd: Path, append: str, disk: Path, disk_format: str, timeout: float) -> Boot:
    """Boot ``disk`` and return its console once qemu exits, or what it printed by ``timeout`` seconds."""
    program = process.require(PROGRAM, package="qemu-system-x86", purpose="to boot-test VM images")
    command = boot_args(kernel=kernel, initrd=initrd, append=append, disk=disk, disk_format=disk_format,
                        program=program)
    try:
        proc = process.run_bytes(command, timeout=timeout, ok=None, name=PROGRAM)
    except process.ToolError as error:
        if error.timed_out:
            return Boot(error.stdout, None)
        raise
    if proc.returncode != 0 and not proc.stdout:
        raise process.ToolError(f"{PROGRAM} failed: {process.last_line(process.decoded(proc.stderr))}",
                                command=command, stderr=process.decoded(proc.stderr), returncode=proc.returncode)
    return Boot(process.decoded(proc.stdout), proc.returncode)

