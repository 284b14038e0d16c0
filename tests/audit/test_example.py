"""The example distribution, built for real once per session (the ``published`` fixture): its packages
and images pass the audit under its own policy, and every ELF verdict agrees with readelf."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tarfile
from datetime import date
from pathlib import Path

import pytest

from tributary.audit.rpms import AuditError, audit_rpm_files, select_rpms
from tributary.config import load_project
from tributary.image.build import build_image

# --------------------------------------------------------------------------------------------- RPMs


def test_example_packages_pass_with_their_waivers(published, trib, tmp_path) -> None:
    root = published.project.root
    report_file = tmp_path / "audit-rpms.json"
    result = trib("-C", str(root), "audit", "rpms", "-a", "--report", str(report_file))
    assert result.code == 0, result.out + result.err
    report = json.loads(report_file.read_text())
    assert report["summary"]["fail"] == 0 and report["summary"]["warn"] == 0
    greet = {f["check"]: f["status"] for f in report["findings"] if f["subject"] == "/usr/bin/greet"}
    assert greet == {"pie": "pass", "relro": "pass", "stack-protector": "pass", "fortify": "pass",
                     "nx-stack": "pass", "cet": "waived", "rpath": "pass"}
    # Everything waived is waived for a reason from base/audit.toml.
    assert all(f["waiver"] for f in report["findings"] if f["status"] == "waived")
    # The same report as its own baseline: nothing regressed.
    again = trib("-C", str(root), "-O", "markdown", "audit", "rpms", "-a", "--baseline", str(report_file))
    assert again.code == 0 and "0 regression(s)" in again.out


# The test's own rules, written from the ABI documents and glibc, not imported from the code under
# test: a mistake there must not be repeated here.
STACK_SYMBOLS = {"__stack_chk_fail", "__stack_chk_fail_local", "__stack_chk_guard"}
CHK = re.compile(r"^__\w+_chk$")


def glibc_fortifiable() -> set[str]:
    """The functions glibc can fortify, from glibc itself: every ``__<name>_chk`` that libc.so.6 exports."""
    libc = subprocess.run(["gcc", "-print-file-name=libc.so.6"], capture_output=True, text=True, check=True).stdout.strip()
    symbols = subprocess.run(["readelf", "-W", "--dyn-syms", libc], capture_output=True, text=True, check=True).stdout
    return {found.group(1) for line in symbols.splitlines() if len(line.split()) >= 8
            if (found := re.match(r"__(\w+)_chk(@|$)", line.split()[7]))}


LIBRARY_DIRS = ("/usr/lib64", "/usr/lib", "/lib64", "/lib")


def in_library_dirs(entry: str, installed: str) -> bool:
    """One RPATH/RUNPATH entry, $ORIGIN being the installed file's directory, inside LIBRARY_DIRS."""
    entry = entry.replace("${ORIGIN}", "$ORIGIN").replace("$ORIGIN", str(Path(installed).parent))
    if not entry.startswith("/") or "$" in entry:
        return False
    normal = os.path.normpath(entry)
    return any(normal == root or normal.startswith(root + "/") for root in LIBRARY_DIRS)


def readelf_verdicts(path: Path, installed: str, fortifiable: set[str]) -> dict[str, str]:
    """Each check decided from readelf's text output alone (binutils, not pyelftools)."""
    def readelf(*flags: str) -> str:
        return subprocess.run(["readelf", "-W", *flags, str(path)], capture_output=True, text=True, check=True).stdout

    header, segments, dynamic, notes = readelf("-h"), readelf("-l"), readelf("-d"), readelf("-n")
    symbols = readelf("-s")
    kind = re.search(r"Type:\s+(\w+)", header).group(1)
    machine = re.search(r"Machine:\s+(.+)", header).group(1).strip()
    has_dynamic = re.search(r"^\s+DYNAMIC\s", segments, re.MULTILINE) is not None
    flags_1 = re.search(r"\(FLAGS_1\)\s+Flags:(.*)", dynamic)
    flags = re.search(r"\(FLAGS\)\s+(.*)", dynamic)
    verdict = {}
    interp = re.search(r"^\s+INTERP\s", segments, re.MULTILINE) is not None
    df_1_pie = bool(flags_1 and "PIE" in flags_1.group(1).split())
    verdict["pie"] = "fail" if kind == "EXEC" else ("pass" if interp or df_1_pie else "n/a")
    bind_now = (flags and "BIND_NOW" in flags.group(1)) or (flags_1 and "NOW" in flags_1.group(1).split()) \
        or "(BIND_NOW)" in dynamic
    relro = re.search(r"^\s+GNU_RELRO\s", segments, re.MULTILINE) is not None
    verdict["relro"] = "pass" if relro and (bind_now or not has_dynamic) else "fail"
    names, undefined = set(), set()
    for line in symbols.splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[0].endswith(":") and fields[0][:-1].isdigit():
            name = fields[7].split("@")[0]
            names.add(name)
            if fields[6] == "UND":
                undefined.add(name)
    verdict["stack-protector"] = "pass" if names & STACK_SYMBOLS else "fail"
    pool = undefined if has_dynamic else names
    if any(CHK.match(name) for name in pool):
        verdict["fortify"] = "pass"
    elif pool & fortifiable or not names:
        verdict["fortify"] = "fail"
    else:
        verdict["fortify"] = "n/a"
    stack = re.search(r"^\s+GNU_STACK\s.*\s(R?W?E?)\s+0x\w+$", segments, re.MULTILINE)
    verdict["nx-stack"] = "pass" if stack and "E" not in stack.group(1) else "fail"
    if "X86-64" not in machine:
        verdict["cet"] = "n/a"
    else:
        feature = re.search(r"x86 feature: (.*)", notes)
        verdict["cet"] = "pass" if feature and {"IBT", "SHSTK"} <= {f.strip() for f in feature.group(1).split(",")} else "fail"
    paths = [p for found in re.findall(r"\((?:RPATH|RUNPATH)\)\s+Library (?:rpath|runpath): \[(.*)\]", dynamic)
             for p in found.split(":")]
    verdict["rpath"] = "pass" if all(in_library_dirs(p, installed) for p in paths) else "fail"
    return verdict


def test_elf_verdicts_agree_with_readelf_for_every_example_binary(published, tmp_path) -> None:
    rpms = select_rpms(published.project, None)
    ours: dict[tuple[str, str], dict[str, str]] = {}
    for finding in audit_rpm_files(rpms):
        ours.setdefault((finding.rpm, finding.subject), {})[finding.check] = finding.status
    theirs: dict[tuple[str, str], dict[str, str]] = {}
    fortifiable = glibc_fortifiable()
    assert {"printf", "strcpy", "memcpy", "read"} <= fortifiable
    for rpm_path in rpms:
        # An independent extraction: rpm2archive's tar, not rpm's Python payload reader.
        archive = subprocess.run(["rpm2archive", "-"], stdin=rpm_path.open("rb"), capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            for member in tar:
                if not member.isreg():
                    continue
                data = tar.extractfile(member).read()
                kind = data[16:18]  # e_type, little-endian: 2 EXEC, 3 DYN
                if data[:4] != b"\x7fELF" or kind not in (b"\x02\x00", b"\x03\x00"):
                    continue
                target = tmp_path / "elf"
                target.write_bytes(data)
                installed = member.name.removeprefix(".")
                theirs[(rpm_path.name, installed)] = readelf_verdicts(target, installed, fortifiable)
    assert len(theirs) >= 3  # greet, greetings, libgreet.so.1
    assert ours == theirs


# --------------------------------------------------------------------------------------------- images


@pytest.fixture(scope="module")
def image_project(published, tmp_path_factory):
    """The published example, with its own output and work directories so image builds here touch
    nothing another test reads; the published repositories are linked in."""
    base = tmp_path_factory.mktemp("audit-images")
    (base / "out").mkdir()
    (base / "out" / "repo").symlink_to(published.channel.parent)
    override = base / "dirs.toml"
    override.write_text(f'[project]\noutput-dir = "{base}/out"\nwork-dir = "{base}/work"\n')
    root = published.project.root
    project = load_project(root, extra_files=[root.parent / "mirror.toml", override])
    from tributary.image.definition import load_image
    from tributary.sbom.write import image_embedder

    spec = load_image(project, "container-distroless").spec
    # The SBOM stage's own embedder: the audit must agree with the document it really writes.
    build_image(project, "container-distroless", embed=image_embedder(project, version=spec.version, formats=spec.formats))
    build_image(project, "wsl")
    return project, [root.parent / "mirror.toml", override]


def test_example_image_with_its_sbom_passes(image_project, trib) -> None:
    project, extra = image_project
    args = ["-C", str(project.root), *(a for path in extra for a in ("--config-file", str(path)))]
    result = trib(*args, "-O", "json", "audit", "image", "container-distroless", "--all")
    assert result.code == 0, result.out + result.err
    report = json.loads(result.out)
    assert report["source"].endswith("/oci")
    statuses = {f["check"]: f["status"] for f in report["findings"]}
    assert statuses == {"selinux-config": "pass", "selinux-policy": "n/a", "sysctl": "pass", "setuid": "pass",
                        "world-writable": "pass", "fips": "n/a", "sbom-rpmdb": "pass"}
    evidence = {f["check"]: f["evidence"] for f in report["findings"]}
    assert evidence["selinux-config"] == "SELINUX=enforcing, SELINUXTYPE=targeted"
    assert "/usr/lib/sysctl.d/50-tribex-hardening.conf" in evidence["sysctl"]


def test_example_image_without_an_embedded_sbom_fails_only_that(image_project, trib) -> None:
    from tributary.audit.image import audit_image

    project, _ = image_project
    report = audit_image(project, "wsl", today=date(2026, 6, 1))
    assert report.source.endswith(".wsl")
    assert [(f.check, f.evidence) for f in report.violations] == [
        ("sbom-rpmdb", "image has no embedded SBOM at /usr/share/tributary/sbom/wsl.spdx.json")]


def test_disk_images_are_audited_from_the_disk_itself(image_project, trib) -> None:
    """A disk is audited from its own root partition (read back by debugfs), in whichever disk format
    was built: the work directory's root plays no part."""
    project, extra = image_project
    args = ["-C", str(project.root), *(a for path in extra for a in ("--config-file", str(path)))]
    statuses = []
    for image_format, suffix in (("raw", ".raw"), ("qcow2", ".qcow2")):
        built = trib(*args, "image", "build", "vm-base", "--format", image_format)
        assert built.code == 0, built.out + built.err
        shutil.rmtree(project.work_dir / "images" / "vm-base")
        audited = trib(*args, "-O", "json", "audit", "image", "vm-base", "--all")
        assert audited.code == 0, audited.out + audited.err
        report = json.loads(audited.out)
        assert report["source"].endswith(f"vm-base-1.0{suffix} (root partition)")
        findings = {f["check"]: f["status"] for f in report["findings"]}
        assert findings["selinux-config"] == findings["sbom-rpmdb"] == findings["sysctl"] == "pass"
        statuses.append(sorted((f["check"], f["subject"], f["status"]) for f in report["findings"]))
    assert statuses[0] == statuses[1]


def test_unbuilt_image_is_an_input_error(image_project, trib) -> None:
    project, extra = image_project
    args = ["-C", str(project.root), *(a for path in extra for a in ("--config-file", str(path)))]
    result = trib(*args, "audit", "image", "container-base")
    assert result.code == 2 and "is not built" in result.err
    assert trib(*args, "audit", "image", "no-such").code == 2


def test_only_the_current_build_of_each_component_is_audited(published) -> None:
    """rpms/ also keeps earlier releases' files; the build cache's record says which ones are current."""
    current = select_rpms(published.project, ["greet"])
    assert current and all(path.name.startswith("greet-") and "/rpms/" in str(path) for path in current)
    everything = select_rpms(published.project, None)
    assert set(current) <= set(everything) and not any(path.name.endswith(".src.rpm") for path in everything)
    with pytest.raises(AuditError, match="no current build of no-such-component"):
        select_rpms(published.project, ["no-such-component"])


def test_payload_reader_reads_elf_files_whole_and_closes_what_it_opens(published) -> None:
    import os

    from tributary.audit.rpms import elf_files

    rpms = select_rpms(published.project, None)
    before = len(os.listdir("/proc/self/fd"))
    found = {member.path: (path, member.content) for path in rpms for member in elf_files(path)}
    greet, content = found["/usr/bin/greet"]
    # Stopped part-way (the generator closed early): its files are closed too.
    partial = elf_files(greet)
    next(partial)
    partial.close()
    assert len(os.listdir("/proc/self/fd")) == before
    archive = subprocess.run(["rpm2archive", "-"], stdin=greet.open("rb"), capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert content == tar.extractfile("./usr/bin/greet").read()
