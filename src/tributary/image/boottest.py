"""Boot a VM disk image under qemu (TCG) and check, from inside, that its root came up.

The image is booted with a kernel given from outside (tests and the demo use Debian's cloud kernel,
unpacked by ``make setup``), because a distribution's own kernel is not what is under test here: the
disk is. A tiny initramfs made on the spot (a static busybox, the kernel's virtio modules, an
``/init`` script) loads the disk driver, finds the root by the UUID the manifest records, mounts it
read-only and switches into it, where the image's own ``/bin/sh`` runs a check: it prints the
os-release NAME and the root entry of the image's fstab, then powers the machine off through sysrq.
A guest that goes wrong ends too: a failure powers off, a panic reboots and ``-no-reboot`` makes qemu
exit; a hang is stopped at the time limit.

The check's lines start with ``TRIB-CHECK`` (or ``TRIB-FAIL``) so they stand out of the kernel's log.
"""

from __future__ import annotations

import gzip
import lzma
import re
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile

from tributary.image.errors import ImageError
from tributary.tools import qemu

# What the initramfs must be able to load to see a virtio disk and mount ext4 (built-in ones are skipped).
MODULES = ("virtio_pci", "virtio_blk", "ext4")
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
DEFAULT_TIMEOUT_S = 120.0

INIT = r"""#!/bin/busybox sh
# tributary boot check: load the disk driver, mount the image's root, run the check inside it.
/bin/busybox mkdir -p /usr/bin /sbin /usr/sbin
/bin/busybox --install -s
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
fail() { echo "TRIB-FAIL $*"; echo o > /proc/sysrq-trigger; sleep 5; }
while read -r module; do insmod "/modules/$module.ko" || fail "cannot load module $module"; done < /modules/order
for arg in $(cat /proc/cmdline); do case "$arg" in root=*) root="${arg#root=}";; esac; done
tries=0
until device=$(findfs "$root" 2>/dev/null); do
    tries=$((tries + 1)); [ "$tries" -gt 400 ] && fail "no disk has $root"; usleep 25000
done
echo "TRIB-CHECK root-device $device"
mount -o ro -t ext4 "$device" /root || fail "cannot mount $device"
mount -t tmpfs run /root/run || fail "the image has no /run to mount on"
cp /check.sh /root/run/trib-check.sh
mount --move /dev /root/dev && mount --move /proc /root/proc && mount --move /sys /root/sys \
    || fail "the image lacks /dev, /proc or /sys"
# From here the image runs. Without a /bin/sh in it, switch_root fails, pid 1 exits and the kernel
# panics: the console shows the panic, and -no-reboot ends qemu.
exec switch_root /root /bin/sh /run/trib-check.sh
"""

# Runs with the image's own shell; builtins only, so it needs nothing but /bin/sh in the image.
CHECK = r"""# tributary boot check, inside the booted root
if [ -r /etc/os-release ]; then . /etc/os-release; echo "TRIB-CHECK os-release $NAME"
else echo "TRIB-FAIL no /etc/os-release"; fi
while read -r spec mountpoint rest; do
    [ "$mountpoint" = / ] && echo "TRIB-CHECK fstab-root $spec"
done < /etc/fstab
echo "TRIB-CHECK done"
echo o > /proc/sysrq-trigger
# The power-off happens asynchronously; the shell must not exit first (pid 1 exiting is a panic).
while :; do :; done
"""

_LINE = re.compile(r"^(TRIB-CHECK|TRIB-FAIL) ?(\S*) ?(.*?)\s*$")


@dataclass(frozen=True)
class TestKernel:
    """A kernel unpacked from a distribution package: ``boot/vmlinuz-<release>`` and its modules."""

    vmlinuz: Path
    modules: Path
    release: str


@dataclass(frozen=True)
class BootResult:
    os_release_name: str | None
    fstab_root: str | None
    failures: tuple[str, ...]
    finished: bool
    """The check ran to its end (and then powered off)."""
    timed_out: bool
    seconds: float
    console: str

    @property
    def ok(self) -> bool:
        return self.finished and not self.failures and not self.timed_out


SETUP_KERNEL = Path(".cache/test-kernel/current")
"""Where ``make setup`` unpacks the test kernel, relative to the checkout it ran in."""


def default_kernel_dir(project_root: Path) -> Path | None:
    """The kernel ``make setup`` fetched: ``.cache/test-kernel/current`` of the project's directory or the
    nearest directory above it that has one (the checkout holding ``examples/distro``); None if none."""
    for directory in (project_root, *project_root.parents):
        candidate = directory / SETUP_KERNEL
        if (candidate / "boot").is_dir():
            return candidate
    return None


def find_kernel(directory: Path) -> TestKernel:
    """The kernel in ``directory``: an unpacked kernel package (``boot/vmlinuz-*``, ``lib/modules/*``)."""
    directory = Path(directory)
    kernels = sorted((directory / "boot").glob("vmlinuz-*"))
    if len(kernels) != 1:
        found = "none" if not kernels else ", ".join(k.name for k in kernels)
        raise ImageError(f"{directory}: expected one boot/vmlinuz-* for the boot test, found {found}",
                         hint="pass --kernel DIR, a kernel package unpacked with dpkg-deb -x (make setup fetches one)")
    release = kernels[0].name.removeprefix("vmlinuz-")
    modules = next((base / release for base in (directory / "lib" / "modules", directory / "usr" / "lib" / "modules")
                    if (base / release).is_dir()), None)
    if modules is None:
        raise ImageError(f"{directory}: no lib/modules/{release} beside boot/vmlinuz-{release}")
    return TestKernel(kernels[0], modules, release)


# Debian 13's kernel packages compress their modules with xz (Debian 12's do not); the initramfs carries
# them plain, so that insmod needs no decompressor.
_DECOMPRESSORS: dict[str, Callable[[bytes], bytes]] = {".ko": bytes, ".xz": lzma.decompress, ".gz": gzip.decompress}


def module_bytes(module: Path) -> bytes:
    """The plain ELF of a kernel module file: ``.ko``, or ``.ko.xz``/``.ko.gz`` decompressed."""
    decompress = _DECOMPRESSORS.get(module.suffix)
    if decompress is None:
        raise ImageError(f"{module}: the boot test reads .ko, .ko.xz and .ko.gz modules, not {module.suffix}")
    try:
        return decompress(module.read_bytes())
    except (lzma.LZMAError, EOFError, OSError) as error:
        raise ImageError(f"{module}: cannot read the module: {error}") from None


def module_dependencies(module: Path) -> list[str]:
    """The modules ``module`` needs loaded first, from the ``depends=`` entry of its ``.modinfo``."""
    data = module_bytes(module)
    match = re.search(rb"(?:^|\0)depends=([^\0]*)\0", data)
    return [name for name in match.group(1).decode().split(",") if name] if match else []


def modules_to_load(kernel: TestKernel, wanted: Iterable[str] = MODULES) -> list[Path]:
    """The module files to insmod, dependencies first; modules built into the kernel are left out."""
    builtin = set()
    builtin_list = kernel.modules / "modules.builtin"
    if builtin_list.is_file():
        builtin = {_module_name(Path(line)) for line in builtin_list.read_text().split()}
    files = {_module_name(path): path for path in kernel.modules.rglob("*.ko*")}
    order: list[Path] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        key = name.replace("-", "_")
        if key in seen or key in builtin:
            return
        seen.add(key)
        path = files.get(key)
        if path is None:
            raise ImageError(f"kernel {kernel.release}: module {name} is neither built in nor in {kernel.modules}")
        for dependency in module_dependencies(path):
            visit(dependency)
        order.append(path)

    for name in wanted:
        visit(name)
    return order


def _module_name(path: Path) -> str:
    return path.name.split(".ko")[0].replace("-", "_")


def cpio_newc(entries: Sequence[tuple[str, int, bytes]]) -> bytes:
    """A cpio archive in the "newc" format the kernel unpacks as an initramfs: (path, mode, content)."""
    out = bytearray()
    for inode, (name, mode, data) in enumerate([*entries, ("TRAILER!!!", 0, b"")], start=1):
        encoded = name.encode() + b"\0"
        fields = (inode, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
        out += b"070701" + "".join(f"{value:08X}" for value in fields).encode() + encoded
        out += bytes(-len(out) % 4)  # the name ends on a 4-byte boundary
        out += data
        out += bytes(-len(out) % 4)  # and so does the data
    return bytes(out)


def make_initramfs(kernel: TestKernel, busybox: Path | None = None) -> bytes:
    """The boot check's initramfs (gzip-compressed cpio), for ``kernel``."""
    busybox = busybox or _static_busybox()
    modules = modules_to_load(kernel)
    directories = ("bin", "dev", "proc", "sys", "root", "modules")
    entries: list[tuple[str, int, bytes]] = [(d, stat.S_IFDIR | 0o755, b"") for d in directories]
    entries += [("bin/busybox", stat.S_IFREG | 0o755, busybox.read_bytes()),
                ("init", stat.S_IFREG | 0o755, INIT.encode()), ("check.sh", stat.S_IFREG | 0o644, CHECK.encode()),
                ("modules/order", stat.S_IFREG | 0o644, "".join(f"{_module_name(m)}\n" for m in modules).encode())]
    entries += [(f"modules/{_module_name(m)}.ko", stat.S_IFREG | 0o644, module_bytes(m)) for m in modules]
    return gzip.compress(cpio_newc(entries), compresslevel=1, mtime=0)


def _static_busybox() -> Path:
    for candidate in BUSYBOX_CANDIDATES:
        path = Path(candidate)
        if path.is_file() and _is_static(path):
            return path
    raise ImageError("the boot test needs a statically linked busybox on the host",
                     hint="apt-get install busybox-static")


def _is_static(path: Path) -> bool:
    """True for an ELF file without a PT_INTERP program header (no dynamic loader)."""
    with open(path, "rb") as handle:
        return not any(segment["p_type"] == "PT_INTERP" for segment in ELFFile(handle).iter_segments())


def boot_check(disk: Path, disk_format: str, *, root_uuid: str, kernel: TestKernel, work: Path,
               timeout: float = DEFAULT_TIMEOUT_S) -> BootResult:
    """Boot ``disk`` and run the check; the console is also written to ``work/console-<format>.log``."""
    work.mkdir(parents=True, exist_ok=True)
    initrd = work / "initramfs.img"
    initrd.write_bytes(make_initramfs(kernel))
    append = f"console=ttyS0 root=UUID={root_uuid} panic=-1 quiet"
    started = time.monotonic()
    boot = qemu.boot(kernel=kernel.vmlinuz, initrd=initrd, append=append, disk=disk, disk_format=disk_format,
                     timeout=timeout)
    seconds = time.monotonic() - started
    (work / f"console-{disk_format}.log").write_text(boot.console)
    return parse_console(boot.console, timed_out=boot.returncode is None, seconds=seconds)


def parse_console(console: str, *, timed_out: bool = False, seconds: float = 0.0) -> BootResult:
    """What the check reported, read from the serial console."""
    values: dict[str, str] = {}
    failures: list[str] = []
    for line in console.splitlines():
        match = _LINE.match(line.strip("\r"))
        if not match:
            continue
        kind, key, rest = match.groups()
        if kind == "TRIB-FAIL":
            failures.append(f"{key} {rest}".strip())
        else:
            values.setdefault(key, rest)
    if "Kernel panic" in console:
        failures.append(next(line.strip() for line in console.splitlines() if "Kernel panic" in line))
    return BootResult(values.get("os-release"), values.get("fstab-root"), tuple(failures), "done" in values,
                      timed_out, seconds, console)


def console_tail(console: str, lines: int = 8) -> str:
    """The last lines the guest printed, to show when a boot went wrong."""
    kept = [line.rstrip() for line in console.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])

