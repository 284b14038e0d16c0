"""VM disks: GPT + ESP + ext4 made without loop devices, converted by qemu-img, and booted under qemu.

The disks are read back by other programs than the ones that wrote them (sfdisk -J, blkid, e2fsck,
fsck.vfat, debugfs, qemu-img, busybox cpio) and booted with Debian's cloud kernel under TCG.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import lzma
import os
import subprocess
import tarfile
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from support import Published

from tributary.image.boottest import (
    boot_check,
    cpio_newc,
    find_kernel,
    make_initramfs,
    module_bytes,
    module_dependencies,
    modules_to_load,
    parse_console,
)
from tributary.image.disk import (
    ESP_MIB,
    MIB,
    Content,
    DiskResult,
    DiskTooSmallError,
    content_of,
    fstab_text,
    minimum_root_mib,
    plan_layout,
    sfdisk_script,
    write_disks,
)
from tributary.image.diskroot import write_root_tar
from tributary.image.rootfs import ImageError, RootfsResult, build_rootfs
from tributary.image.spec import ImageSpec
from tributary.image.vhd import (
    COOKIE,
    FIXED,
    FOOTER_SIZE,
    checksum,
    parse_footer,
    read_footer,
    with_identity,
)

PACKAGES = ("filesystem", "glibc", "bash", "greet", "tribex-release")
FORMATS = ("raw", "qcow2", "vhd-fixed")
SMALL = Content(7 * MIB, 200)


def vm_spec(**changes) -> ImageSpec:
    return replace(ImageSpec(name="vm", version="1.0", formats=FORMATS, packages=PACKAGES), **changes)


@dataclass(frozen=True)
class Disks:
    rootfs: RootfsResult
    result: DiskResult
    out: Path


@pytest.fixture(scope="module")
def vm_root(published: Published, tmp_path_factory) -> RootfsResult:
    return build_rootfs(published.project, vm_spec(), [published.channel], tmp_path_factory.mktemp("vm") / "rootfs")


@pytest.fixture(scope="module")
def disks(vm_root: RootfsResult, tmp_path_factory) -> Disks:
    out = tmp_path_factory.mktemp("disks")
    return Disks(vm_root, write_disks(vm_root, vm_spec(), FORMATS, out, out / "work"), out)


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "MTOOLS_SKIP_CHECK": "1"})


def extract(disk: Path, offset: int, size: int, target: Path) -> Path:
    with open(disk, "rb") as reader, open(target, "wb") as writer:
        reader.seek(offset)
        writer.write(reader.read(size))
    return target


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- layout, pure ------------------------------------------------------------------------------------

def test_the_layout_is_whole_mib_with_gpt_room_at_both_ends() -> None:
    layout = plan_layout(vm_spec(), SMALL)
    assert layout.esp.start == 2048 and layout.esp.size == ESP_MIB * MIB
    assert layout.root.start == layout.esp.start + layout.esp.sectors
    assert layout.root.offset + layout.root.size == layout.size - MIB  # 1 MiB left for the backup GPT
    assert layout.size % MIB == 0 and layout.root.size >= minimum_root_mib(SMALL) * MIB
    assert plan_layout(vm_spec(), SMALL) == layout  # every identifier derived, nothing random
    other = plan_layout(vm_spec(name="vm2"), SMALL)
    assert other.root_uuid != layout.root_uuid and other.disk_guid != layout.disk_guid
    assert uuid.UUID(layout.root_uuid).version == 5


def test_a_given_disk_size_is_used_exactly() -> None:
    layout = plan_layout(vm_spec(disk_size_mib=300), SMALL)
    assert layout.size_mib == 300 and layout.root.size == (300 - ESP_MIB - 2) * MIB


def test_a_disk_too_small_for_its_content_is_a_clear_error() -> None:
    spec = vm_spec(disk_size_mib=80, source=Path("/p/images/vm.image.toml"))
    with pytest.raises(DiskTooSmallError) as caught:
        plan_layout(spec, Content(40 * MIB, 500))
    text = str(caught.value)
    assert text.startswith("/p/images/vm.image.toml: image 'vm': disk-size-mib 80 is too small")
    needed = minimum_root_mib(Content(40 * MIB, 500))
    assert f"a root of at least {needed} MiB, so a disk of at least {needed + ESP_MIB + 2} MiB" in text


def test_sfdisk_script_and_fstab_name_the_derived_identifiers() -> None:
    layout = plan_layout(vm_spec(), Content(MIB, 10))
    script = sfdisk_script(layout)
    assert f"label-id: {layout.disk_guid}" in script
    assert "type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B" in script and 'name="root-x86-64"' in script
    fstab = fstab_text(layout)
    assert f"UUID={layout.root_uuid} / ext4 defaults 0 1" in fstab
    assert f"UUID={layout.esp_uuid} /boot/efi vfat" in fstab


def test_vhd_footer_identity_and_checksum() -> None:
    footer = bytearray(FOOTER_SIZE)
    footer[:8] = COOKIE
    footer[60:64] = FIXED.to_bytes(4, "big")
    fixed = with_identity(bytes(footer), epoch=1743465600, unique_id=uuid.UUID(int=7))
    parsed = parse_footer(fixed)
    assert parsed.checksum_ok and parsed.timestamp == 1743465600 and parsed.unique_id == uuid.UUID(int=7)
    assert parsed.checksum == checksum(fixed)
    broken = bytearray(fixed)
    broken[100] ^= 1
    assert not parse_footer(bytes(broken)).checksum_ok


# --- the disks themselves ----------------------------------------------------------------------------

def test_the_partition_table_reads_back_with_sfdisk(disks: Disks) -> None:
    layout = disks.result.layout
    raw = disks.result.files["raw"]
    assert raw.stat().st_size == layout.size
    proc = run("sfdisk", "--json", str(raw))
    table = json.loads(proc.stdout)["partitiontable"]
    assert table["label"] == "gpt" and table["id"] == layout.disk_guid
    assert [(p["start"], p["size"], p["uuid"], p["name"]) for p in table["partitions"]] == [
        (part.start, part.sectors, part.guid, part.name) for part in (layout.esp, layout.root)]
    assert run("sfdisk", "--verify", str(raw)).returncode == 0


def test_both_file_systems_are_clean_and_carry_their_uuids(disks: Disks, tmp_path: Path) -> None:
    layout = disks.result.layout
    raw = disks.result.files["raw"]
    root = extract(raw, layout.root.offset, layout.root.size, tmp_path / "root.ext4")
    esp = extract(raw, layout.esp.offset, layout.esp.size, tmp_path / "esp.vfat")
    fsck = run("e2fsck", "-fn", str(root))
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert run("fsck.vfat", "-n", str(esp)).returncode == 0
    probe = run("blkid", "--probe", "--offset", str(layout.root.offset), str(raw)).stdout
    assert f'UUID="{layout.root_uuid}"' in probe and 'LABEL="root"' in probe and 'TYPE="ext4"' in probe
    probe = run("blkid", "--probe", "--offset", str(layout.esp.offset), str(raw)).stdout
    assert f'UUID="{layout.esp_uuid}"' in probe and 'TYPE="vfat"' in probe
    assert "BOOT" in run("mdir", "-i", str(esp), "::/EFI").stdout


def test_the_root_holds_the_image_with_fstab_by_uuid_and_fixed_times(disks: Disks, tmp_path: Path) -> None:
    layout = disks.result.layout
    root = extract(disks.result.files["raw"], layout.root.offset, layout.root.size, tmp_path / "root.ext4")
    assert run("debugfs", "-R", "cat /etc/fstab", str(root)).stdout == fstab_text(layout)
    greet = run("debugfs", "-R", "stat /usr/bin/greet", str(root)).stdout
    assert "Mode:  0755" in greet and "User:     0" in greet
    epoch = f"{disks.rootfs.source_date_epoch:08x}"
    for path in ("/", "/etc/fstab", "/boot/efi", "/usr/bin/greet", "/lost+found"):
        stat = run("debugfs", "-R", f"stat {path}", str(root)).stdout
        times = [line.split()[1] for line in stat.splitlines() if line.strip().split(":")[0] in ("ctime", "atime", "mtime", "crtime")]
        assert times == [f"0x{epoch}:00000000"] * 4, (path, stat)


def test_qcow2_and_vhd_hold_the_same_disk(disks: Disks) -> None:
    files = disks.result.files
    for image_format, driver in (("qcow2", "qcow2"), ("vhd-fixed", "vpc")):
        info = json.loads(run("qemu-img", "info", "--output=json", "-f", driver, str(files[image_format])).stdout)
        assert info["virtual-size"] == disks.result.layout.size
        compared = run("qemu-img", "compare", "-f", "raw", "-F", driver, str(files["raw"]), str(files[image_format]))
        assert compared.returncode == 0, compared.stdout + compared.stderr
    vhd = files["vhd-fixed"]
    assert vhd.stat().st_size == disks.result.layout.size + FOOTER_SIZE
    footer = read_footer(vhd)
    assert footer.cookie == COOKIE and footer.disk_type == FIXED and footer.checksum_ok
    assert footer.timestamp == disks.rootfs.source_date_epoch


def test_two_builds_give_identical_disks(disks: Disks, tmp_path: Path) -> None:
    again = write_disks(disks.rootfs, vm_spec(), FORMATS, tmp_path, tmp_path / "work")
    for image_format in FORMATS:
        assert sha256(again.files[image_format]) == sha256(disks.result.files[image_format]), image_format
    assert not (tmp_path / "work").exists()


def test_only_the_wanted_formats_are_written(disks: Disks, tmp_path: Path) -> None:
    result = write_disks(disks.rootfs, vm_spec(), ["qcow2"], tmp_path, tmp_path / "work")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vm-1.0.qcow2"]
    assert sha256(result.files["qcow2"]) == sha256(disks.result.files["qcow2"])


# --- the boot test -----------------------------------------------------------------------------------

def test_the_initramfs_is_a_cpio_busybox_reads(test_kernel: Path, tmp_path: Path) -> None:
    archive = tmp_path / "initramfs.cpio"
    archive.write_bytes(cpio_newc([("bin", 0o40755, b""), ("bin/hello", 0o100644, b"hi\n"),
                                   ("odd", 0o100644, b"12345")]))
    listed = subprocess.run(["busybox", "cpio", "-t"], stdin=archive.open("rb"), capture_output=True, text=True, check=False)
    assert listed.stdout.split() == ["bin", "bin/hello", "odd"]
    kernel = find_kernel(test_kernel)
    # Debian 12's kernel ships plain .ko files with virtio as modules; Debian 13's ships .ko.xz files and
    # has virtio, virtio_ring and virtio_pci built in, so virtio_blk depends on no module there.
    names = [path.name.split(".ko")[0] for path in modules_to_load(kernel)]
    virtio_blk = next(p for p in modules_to_load(kernel) if p.name.split(".ko")[0] == "virtio_blk")
    dependencies = module_dependencies(virtio_blk)
    assert set(dependencies) <= {"virtio", "virtio_ring"}
    assert all(names.index(d) < names.index("virtio_blk") for d in dependencies)
    if "virtio_ring" in names:
        assert names.index("virtio_ring") < names.index("virtio") < names.index("virtio_pci")
        assert sorted(dependencies) == ["virtio", "virtio_ring"]
    assert module_bytes(virtio_blk).startswith(b"\x7fELF")
    assert len(make_initramfs(kernel)) > 100_000


def test_compressed_modules_are_read_plain_and_other_compressions_are_named(tmp_path: Path) -> None:
    elf = b"\x7fELF" + bytes(60)
    (tmp_path / "plain.ko").write_bytes(elf)
    (tmp_path / "debian13.ko.xz").write_bytes(lzma.compress(elf))
    (tmp_path / "other.ko.gz").write_bytes(gzip.compress(elf))
    (tmp_path / "zstd.ko.zst").write_bytes(b"(\xb5/\xfd")
    (tmp_path / "broken.ko.xz").write_bytes(b"not xz")
    assert [module_bytes(tmp_path / name) for name in ("plain.ko", "debian13.ko.xz", "other.ko.gz")] == [elf] * 3
    with pytest.raises(ImageError, match=r"zstd\.ko\.zst: the boot test reads \.ko, \.ko\.xz and \.ko\.gz modules, not \.zst"):
        module_bytes(tmp_path / "zstd.ko.zst")
    with pytest.raises(ImageError, match=r"broken\.ko\.xz: cannot read the module"):
        module_bytes(tmp_path / "broken.ko.xz")


def test_the_vm_boots_to_its_own_shell_and_powers_off(disks: Disks, test_kernel: Path, tmp_path: Path) -> None:
    kernel = find_kernel(test_kernel)
    result = boot_check(disks.result.files["qcow2"], "qcow2", root_uuid=disks.result.layout.root_uuid,
                        kernel=kernel, work=tmp_path)
    assert result.ok, result.console[-2000:]
    assert result.os_release_name == "Tributary Example Linux"
    assert result.fstab_root == f"UUID={disks.result.layout.root_uuid}"
    assert "TRIB-CHECK root-device /dev/vda2" in (tmp_path / "console-qcow2.log").read_text()


def test_a_root_without_a_shell_fails_the_boot_check(test_kernel: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for directory in ("etc", "dev", "proc", "sys", "run", "bin"):
        (tree / directory).mkdir(parents=True)
    (tree / "etc" / "os-release").write_text('NAME="Shell-less"\n')
    rootfs = RootfsResult(tree, "bare", (), 1743465600, "1", ())
    result = write_disks(rootfs, vm_spec(name="bare"), ["raw"], tmp_path, tmp_path / "work")
    booted = boot_check(result.files["raw"], "raw", root_uuid=result.layout.root_uuid,
                        kernel=find_kernel(test_kernel), work=tmp_path / "boot")
    assert not booted.ok and not booted.finished and not booted.timed_out
    assert booted.os_release_name is None


def test_a_boot_that_overruns_its_time_is_stopped(disks: Disks, test_kernel: Path, tmp_path: Path) -> None:
    result = boot_check(disks.result.files["raw"], "raw", root_uuid=disks.result.layout.root_uuid,
                        kernel=find_kernel(test_kernel), work=tmp_path, timeout=0.3)
    assert result.timed_out and not result.ok


def test_console_parsing_reports_failures_and_panics() -> None:
    console = "noise\r\nTRIB-CHECK os-release Tribex\r\nTRIB-FAIL cannot mount /dev/vda2\r\n[ 1.0] Kernel panic - x\n"
    result = parse_console(console)
    assert result.os_release_name == "Tribex" and not result.finished
    assert result.failures == ("cannot mount /dev/vda2", "[ 1.0] Kernel panic - x")
    finished = parse_console("TRIB-CHECK os-release Tribex\nTRIB-CHECK fstab-root UUID=x\nTRIB-CHECK done\n")
    assert finished.ok and finished.fstab_root == "UUID=x"


@pytest.mark.builds
def test_many_small_files_get_the_inodes_they_need(tmp_path: Path) -> None:
    """mkfs's default of one inode per 16 KiB runs out long before the blocks do for tiny files."""
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "os-release").write_text('NAME="Many"\n')
    many = tree / "usr" / "share" / "many"
    many.mkdir(parents=True)
    for number in range(12_000):
        (many / f"f{number}").write_bytes(b"x")
    content = content_of(tree)
    assert content.entries > 12_000 and minimum_root_mib(content) * MIB // 16384 < content.entries
    rootfs = RootfsResult(tree, "many", (), 1743465600, "1", ())
    result = write_disks(rootfs, vm_spec(name="many"), ["raw"], tmp_path, tmp_path / "work")
    layout = result.layout
    root = extract(result.files["raw"], layout.root.offset, layout.root.size, tmp_path / "root.ext4")
    assert run("e2fsck", "-fn", str(root)).returncode == 0
    assert "f11999" in run("debugfs", "-R", "ls /usr/share/many", str(root)).stdout


# --- the CLI -----------------------------------------------------------------------------------------

def test_the_cli_builds_and_boot_tests_the_example_vm(published: Published, trib, test_kernel: Path) -> None:
    project = published.project
    args = ["-C", str(project.root), "--config-file", str(project.files[-1].path)]
    built = trib(*args, "-O", "json", "image", "build", "vm-base", "--format", "raw", "--format", "qcow2",
                 "--format", "vhd-fixed")
    assert built.code == 0, built.err
    out = project.output_dir / "images" / "vm-base"
    manifest = json.loads((out / "manifest.json").read_text())
    assert [entry["format"] for entry in manifest["formats"]] == ["raw", "qcow2", "vhd-fixed"]
    assert manifest["osReleaseName"] == "Tributary Example Linux"
    assert all(entry["virtualSize"] == 192 * MIB for entry in manifest["formats"])  # <size unit="M">192</size>
    tested = trib(*args, "-O", "json", "image", "test", "vm-base", "--kernel", str(test_kernel))
    assert tested.code == 0, tested.out + tested.err
    checks = {row["check"]: row for row in json.loads(tested.out)}
    assert checks["fixed VHD footer and size (Azure)"]["ok"]
    for image_format in FORMATS:
        assert checks[f"boots the {image_format} disk"]["detail"].startswith("'Tributary Example Linux' up and powered off")
    again = trib(*args, "image", "build", "vm-base", "--format", "raw", "--format", "qcow2", "--format", "vhd-fixed")
    assert again.code == 0, again.err
    rebuilt = json.loads((out / "manifest.json").read_text())
    assert [entry["sha256"] for entry in rebuilt["formats"]] == [entry["sha256"] for entry in manifest["formats"]]


def test_the_cli_refuses_a_disk_too_small_and_writes_nothing(published: Published, trib, tmp_path: Path) -> None:
    project = published.project
    (tmp_path / "tiny.image.toml").write_text(f'formats = ["raw"]\npackages = {list(PACKAGES)!r}\ndisk-size-mib = 67\n'
                                              .replace("'", '"'))
    extra = tmp_path / "tiny.toml"
    extra.write_text('[images.tiny]\ndefinition = { type = "native", path = "tiny.image.toml" }\n')
    result = trib("-C", str(project.root), "--config-file", str(project.files[-1].path), "--config-file", str(extra),
                  "image", "build", "tiny")
    assert result.code == 2
    assert "tiny.image.toml: image 'tiny': disk-size-mib 67 is too small" in result.err
    assert not (project.output_dir / "images" / "tiny").exists()


@pytest.mark.builds
def test_a_disk_root_reads_back_as_a_tar_with_set_id_bits_and_owners(tmp_path: Path) -> None:
    """What the audit reads: the root partition of the disk file, modes from debugfs' listing."""
    tree = tmp_path / "tree"
    (tree / "usr" / "bin").mkdir(parents=True)
    (tree / "etc").mkdir()
    (tree / "etc" / "os-release").write_text('NAME="Back"\n')
    tool = tree / "usr" / "bin" / "su"
    tool.write_bytes(b"#!/bin/sh\n")
    os.chown(tool, 0, 0)
    tool.chmod(0o4755)
    (tree / "usr" / "bin" / "sh").symlink_to("busybox")
    home = tree / "home" / "alice"
    home.mkdir(parents=True)
    os.chown(home, 1000, 1000)
    rootfs = RootfsResult(tree, "back", (), 1743465600, "1", ())
    result = write_disks(rootfs, vm_spec(name="back"), ["raw", "qcow2"], tmp_path, tmp_path / "work")
    partitions = result.layout.to_json()["partitions"]
    members = {}
    for image_format in ("raw", "qcow2"):
        write_root_tar(result.files[image_format], image_format, partitions, tmp_path / f"{image_format}.tar")
        with tarfile.open(tmp_path / f"{image_format}.tar") as archive:
            members[image_format] = {m.name: (m.type, m.mode, m.uid, m.gid, m.linkname) for m in archive}
            assert archive.extractfile("etc/os-release").read() == b'NAME="Back"\n'
    assert members["raw"] == members["qcow2"]
    listed = members["raw"]
    assert listed["usr/bin/su"] == (tarfile.REGTYPE, 0o4755, 0, 0, "")
    assert listed["usr/bin/sh"][0] == tarfile.SYMTYPE and listed["usr/bin/sh"][4] == "busybox"
    assert listed["home/alice"][2:4] == (1000, 1000)
    assert "etc/fstab" in listed and "lost+found" in listed
