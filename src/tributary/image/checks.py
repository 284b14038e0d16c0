"""``trib image test``: check the built artifacts themselves, not the work tree they came from.

The container check unpacks the OCI layer that was written and runs the image's command from it in a
sandbox (no network, no host files); skopeo must read the layout with the digest manifest.json
records; a WSL tarball must carry its two configuration files. A disk must read back through
``qemu-img info`` as its format with the size the manifest records (a fixed VHD also needs a valid
footer and a whole number of MiB), and must boot under qemu to its own shell, which reports the
os-release NAME and the fstab root that manifest.json says it has (see ``boottest``).
"""

from __future__ import annotations

import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tributary.config import Project
from tributary.image.boottest import (
    DEFAULT_TIMEOUT_S,
    SETUP_KERNEL,
    boot_check,
    console_tail,
    default_kernel_dir,
    find_kernel,
)
from tributary.image.definition import load_image
from tributary.image.disk import DISK_FORMATS, MIB
from tributary.image.manifest import ImageManifest, Output, read_manifest
from tributary.image.oci import read_layout
from tributary.image.testrecord import CheckResult, FormatTest, ImageTestRecord, write_test_record
from tributary.image.vhd import COOKIE, FIXED, FOOTER_SIZE, read_footer
from tributary.tools import bwrap, process, qemu_img, skopeo

COMMAND_TIMEOUT_S = 60


def test_image(project: Project, name: str, *, kernel: Path | None = None, boot_timeout: float = DEFAULT_TIMEOUT_S,
               on_step: Callable[[str], None] = lambda text: None) -> ImageTestRecord:
    """Check every output of a built image; ``kernel`` (an unpacked kernel package) boots the disks.
    ``on_step`` hears which output is being checked. The result is also written beside the image's
    manifest (``testrecord``), for the website and release notes."""
    spec = load_image(project, name).spec
    out_dir = project.output_dir / "images" / name
    manifest = read_manifest(out_dir, name)
    tests: list[FormatTest] = []
    for entry in manifest.outputs:
        artifact = entry.path
        on_step(f"checking the {entry.format} output" + (" (booting it)" if entry.format in DISK_FORMATS else ""))
        started = time.monotonic()
        results: list[CheckResult] = []
        if entry.format == "oci":
            results += _check_oci(
                artifact, entry.digest or "", spec.container.tag, [*spec.container.entrypoint, *spec.container.cmd]
            )
        elif entry.format == "wsl":
            results.append(_check_wsl(artifact))
        elif entry.format == "docker-archive":
            found = skopeo.inspect(skopeo.docker_archive_reference(artifact))
            results.append(
                CheckResult(
                    "docker-archive readable", bool(found.get("Layers")), f"{len(found.get('Layers', []))} layer(s)"
                )
            )
        elif entry.format in DISK_FORMATS:
            results += _check_disk(artifact, entry)
            results.append(_check_boot(project, name, artifact, entry, manifest, kernel, boot_timeout))
        tests.append(FormatTest(entry.format, tuple(results), time.monotonic() - started))
    record = ImageTestRecord(name, manifest.sha256, int(time.time()), tuple(tests))
    write_test_record(out_dir, record)
    return record


def _check_disk(path: Path, entry: Output) -> list[CheckResult]:
    image_format, size = entry.format, entry.details.get("virtualSize")
    if not isinstance(size, int):
        return [CheckResult(f"qemu-img reads the {image_format} disk", False,
                            "manifest.json records no virtualSize for this disk: rebuild the image")]
    info = qemu_img.info(path, image_format)
    results = [
        CheckResult(
            f"qemu-img reads the {image_format} disk",
            info.get("format") == qemu_img.DRIVERS[image_format] and info.get("virtual-size") == size,
            f"qemu-img: {info.get('format')}, {info.get('virtual-size')} bytes; manifest.json: {size} bytes",
        )
    ]
    if image_format == "vhd-fixed":
        footer = read_footer(path)
        problems = [
            text
            for bad, text in (
                (footer.cookie != COOKIE, "no conectix cookie"),
                (footer.disk_type != FIXED, f"disk type {footer.disk_type}, not fixed"),
                (not footer.checksum_ok, "bad checksum"),
                (footer.current_size != size, f"footer size {footer.current_size}"),
                (path.stat().st_size != size + FOOTER_SIZE, "file is not the disk plus a 512-byte footer"),
                (size % MIB != 0, "size is not a whole number of MiB"),
            )
            if bad
        ]
        results.append(
            CheckResult(
                "fixed VHD footer and size (Azure)", not problems, "; ".join(problems) or f"{size // MIB} MiB + footer"
            )
        )
    return results


def _check_boot(project: Project, name: str, path: Path, entry: Output, manifest: ImageManifest,
                kernel: Path | None, timeout: float) -> CheckResult:
    check = f"boots the {entry.format} disk"
    root_uuid = entry.details.get("rootUuid")
    if not isinstance(root_uuid, str):
        return CheckResult(check, False, "manifest.json records no rootUuid for this disk: rebuild the image")
    kernel = kernel or default_kernel_dir(project.root)
    if kernel is None:
        return CheckResult(check, False, "no kernel to boot with: pass --kernel DIR (an unpacked kernel package) "
                                         f"or set TRIB_TEST_KERNEL (none in {SETUP_KERNEL} above the project)")
    result = boot_check(path, entry.format, root_uuid=root_uuid, kernel=find_kernel(kernel),
                        work=project.work_dir / "images" / name / "boot", timeout=timeout)
    expected_root = f"UUID={root_uuid}"
    problems = list(result.failures)
    if result.timed_out:
        problems.append(f"no power-off within {timeout:g} s")
    elif not result.finished:
        problems.append("the check did not run to its end")
    if result.os_release_name != manifest.os_release_name:
        problems.append(f"os-release NAME {result.os_release_name!r}, expected {manifest.os_release_name!r}")
    if result.fstab_root != expected_root:
        problems.append(f"fstab root {result.fstab_root!r}, expected {expected_root}")
    if problems:
        return CheckResult(check, False, "; ".join(problems) + f" (console: {console_tail(result.console)})")
    return CheckResult(check, True, f"{result.os_release_name!r} up and powered off in {result.seconds:.1f} s")


def _check_oci(layout: Path, digest: str, tag: str, command: list[str]) -> list[CheckResult]:
    inspected = skopeo.inspect(skopeo.oci_reference(layout, tag))
    results = [CheckResult("skopeo agrees with manifest.json", inspected.get("Digest") == digest,
                           f"skopeo {inspected.get('Digest')}, manifest.json {digest}")]
    if not command:
        return [*results, CheckResult("container command", True, "the image names no command: nothing to run")]
    with tempfile.TemporaryDirectory(prefix="trib-image-test-") as scratch:
        root = Path(scratch)
        for layer in read_layout(layout).layers:
            with tarfile.open(layer) as archive:
                if hasattr(tarfile, "tar_filter"):
                    archive.extractall(root, filter="tar")
                else:  # Python before 3.11.4 (Debian 12's 3.11.2) has no extraction filters
                    archive.extractall(root)
        argv = bwrap.command(
            command,
            mounts=[
                bwrap.bind(str(root), "/"),
                bwrap.Mount("proc", "/proc"),
                bwrap.Mount("dev", "/dev"),
                bwrap.tmpfs("/tmp"),
            ],
            env={"PATH": "/usr/bin:/usr/sbin:/bin:/sbin"},
            uid=0,
            gid=0,
            chdir="/",
            hostname="image-test",
        )
        try:
            run = bwrap.run(argv, timeout=COMMAND_TIMEOUT_S)
        except bwrap.BwrapError as error:
            if not error.timed_out:
                raise
            return [
                *results,
                CheckResult("container command", False, f"{' '.join(command)} ran longer than {COMMAND_TIMEOUT_S} s"),
            ]
    said = process.last_line(process.decoded(run.stdout))
    detail = f"{' '.join(command)} -> exit {run.returncode}" + (f": {said}" if said else "")
    return [*results, CheckResult("container command runs", run.returncode == 0, detail)]


def _check_wsl(path: Path) -> CheckResult:
    with tarfile.open(path) as archive:
        names = {name.lstrip("./") for name in archive.getnames()}
    missing = [name for name in ("etc/wsl-distribution.conf", "etc/wsl.conf") if name not in names]
    return CheckResult(
        "wsl configuration files", not missing, "present" if not missing else f"missing: {', '.join(missing)}"
    )
