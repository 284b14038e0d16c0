"""ELF verdicts on programs compiled here with gcc: hardened like our macros, and with each hardening
flag removed, so each check is seen both passing and failing on real compiler output."""

from __future__ import annotations

import io
import random
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from tributary.audit.elf import ELF_CHECKS, _Facts, audit_elf, system_path
from tributary.config.model import AUDIT_ELF_CHECKS

PROGRAM = r"""
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    char buffer[64];
    strcpy(buffer, argc > 1 ? argv[1] : "none");
    printf("%s\n", buffer);
    return 0;
}
"""
HARDENED = ["-O2", "-fPIE", "-pie", "-fstack-protector-strong", "-U_FORTIFY_SOURCE", "-D_FORTIFY_SOURCE=3",
            "-fcf-protection", "-Wl,-z,relro", "-Wl,-z,now"]
SOFT = ["-O2", "-fno-pie", "-no-pie", "-fno-stack-protector", "-U_FORTIFY_SOURCE", "-Wl,-z,norelro",
        "-Wl,-z,lazy", "-Wl,-z,execstack", "-Wl,-rpath,/opt/tribex/lib"]


def compile_c(directory: Path, name: str, source: str, flags: list[str]) -> Path:
    (directory / f"{name}.c").write_text(source)
    out = directory / name
    subprocess.run(["gcc", *flags, "-o", str(out), str(directory / f"{name}.c")], check=True, capture_output=True)
    return out


def verdicts(path: Path, installed: str = "/usr/bin/x") -> dict[str, tuple[str, str]]:
    with path.open("rb") as handle:
        result = audit_elf(handle, installed)
    assert result is not None
    return {v.check: (v.status, v.evidence) for v in result}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("elf")
    return {"hardened": compile_c(directory, "hardened", PROGRAM, HARDENED),
            "soft": compile_c(directory, "soft", PROGRAM, SOFT),
            "shared": compile_c(directory, "libx.so", "int f(int x) { return x + 1; }\n",
                                ["-O2", "-fPIC", "-shared", "-Wl,-z,relro,-z,now", "-Wl,-rpath,$ORIGIN/../lib64/x"])}


def test_check_names_match_the_config_model() -> None:
    assert ELF_CHECKS == AUDIT_ELF_CHECKS


def test_hardened_program_passes_everything_but_cet(built) -> None:
    found = verdicts(built["hardened"])
    assert {check: status for check, (status, _) in found.items()} == {
        "pie": "pass", "relro": "pass", "stack-protector": "pass", "fortify": "pass", "nx-stack": "pass",
        # Debian 12's crt1.o/crti.o have no IBT/SHSTK note, so no program linked here can have CET.
        "cet": "fail", "rpath": "pass"}
    assert "__strcpy_chk" in found["fortify"][1] or "__printf_chk" in found["fortify"][1]


def test_soft_program_fails_each_check_with_its_evidence(built) -> None:
    found = verdicts(built["soft"])
    assert {check for check, (status, _) in found.items() if status == "fail"} == set(ELF_CHECKS)
    assert found["pie"][1].startswith("ET_EXEC")
    assert "PT_GNU_RELRO" in found["relro"][1]
    assert "strcpy" in found["fortify"][1] and "no __*_chk" in found["fortify"][1]
    assert "executable" in found["nx-stack"][1]
    assert "/opt/tribex/lib" in found["rpath"][1]


def test_shared_object_pie_not_applicable_and_origin_rpath_inside_lib64(built) -> None:
    found = verdicts(built["shared"], installed="/usr/lib64/libx.so")
    assert found["pie"][0] == "n/a"
    assert found["relro"][0] == "pass"
    assert found["fortify"] == ("n/a", "uses no fortifiable function")
    assert found["rpath"][0] == "pass", found["rpath"]
    # The same file installed elsewhere resolves $ORIGIN outside the system directories.
    assert verdicts(built["shared"], installed="/opt/x/lib/libx.so")["rpath"][0] == "fail"


def test_cet_note_read_from_an_object_compiled_with_cf_protection(tmp_path) -> None:
    (tmp_path / "t.c").write_text("int f(int x) { return x * 2; }\n")
    subprocess.run(["gcc", "-c", "-fcf-protection", "-o", str(tmp_path / "t.o"), str(tmp_path / "t.c")], check=True)
    with (tmp_path / "t.o").open("rb") as handle:
        assert audit_elf(handle, "/x.o") is None  # relocatable objects are not audited...
        assert _Facts.read(ELFFile(handle)).x86_features == 3  # ...but their IBT|SHSTK note is read


def test_cet_passes_when_every_input_object_has_the_note(tmp_path) -> None:
    # No start files: the only input object is ours, so the linker keeps IBT and SHSTK.
    source = "void _start(void) { for (;;) { } }\n"
    program = compile_c(tmp_path, "bare", source, ["-O2", "-fcf-protection", "-nostdlib", "-static-pie", "-fPIE"])
    assert verdicts(program)["cet"] == ("pass", "x86 feature note has IBT and SHSTK")


def test_not_elf_and_truncated_elf(tmp_path) -> None:
    assert audit_elf(io.BytesIO(b"#!/bin/sh\necho hi\n"), "/usr/bin/s") is None
    broken = audit_elf(io.BytesIO(b"\x7fELF\x02\x01\x01" + b"\0" * 9), "/usr/bin/b")
    assert broken is not None and {v.status for v in broken} == {"fail"}


@pytest.mark.parametrize(("entry", "path", "ok"), [
    ("/usr/lib64", "/usr/bin/x", True),
    ("/usr/lib64/private", "/usr/bin/x", True),
    ("/lib", "/usr/bin/x", True),
    ("$ORIGIN/../lib64", "/usr/bin/x", True),
    ("${ORIGIN}/../lib64", "/usr/bin/x", True),
    ("$ORIGIN", "/usr/lib64/x.so", True),
    ("$ORIGIN/../../../tmp", "/usr/lib64/x.so", False),
    ("/usr/lib64/../../opt", "/usr/bin/x", False),
    ("/usr/local/lib", "/usr/bin/x", False),
    ("/usr/lib64x", "/usr/bin/x", False),
    ("", "/usr/bin/x", False),
    ("lib", "/usr/bin/x", False),
    ("$LIB", "/usr/bin/x", False),
])
def test_rpath_entries(entry, path, ok) -> None:
    assert system_path(entry, path) is ok


def mutations(data: bytes, count: int, seed: int):
    """``count`` corrupt copies of ``data``, the same ones every run: header bytes changed, bytes
    anywhere changed, or the file cut short."""
    rng = random.Random(seed)
    for index in range(count):
        blob = bytearray(data)
        if index % 3 == 0:
            for _ in range(rng.randint(1, 8)):
                blob[rng.randrange(4, 64)] = rng.randrange(256)
        elif index % 3 == 1:
            for _ in range(rng.randint(1, 16)):
                blob[rng.randrange(4, len(blob))] = rng.randrange(256)
        else:
            del blob[rng.randrange(16, len(blob)):]
        yield bytes(blob)


@pytest.mark.parametrize("which", ["hardened", "/usr/bin/true"])
def test_corrupt_elf_never_stops_the_audit(built, which) -> None:
    data = (built[which] if which in built else Path(which)).read_bytes()
    outcomes = set()
    for blob in mutations(data, 300, seed=20260101):
        result = audit_elf(io.BytesIO(blob), "/usr/bin/x")
        if result is None:
            outcomes.add("not audited")
            continue
        assert [v.check for v in result] == list(ELF_CHECKS)
        malformed = [v for v in result if v.evidence.startswith("malformed ELF: ")]
        assert not malformed or (len(malformed) == len(ELF_CHECKS) and {v.status for v in malformed} == {"fail"})
        outcomes.add("malformed" if malformed else "audited")
    assert {"malformed", "audited"} <= outcomes  # both paths were taken


def test_a_corrupt_property_note_is_skipped_not_fatal(built) -> None:
    """pyelftools leaves a property note's n_desc as raw bytes when the note's owner is not "GNU";
    iterating those gave ints, and an AttributeError stopped the whole audit."""
    data = bytearray(built["hardened"].read_bytes())
    with built["hardened"].open("rb") as handle:
        note = ELFFile(handle).get_section_by_name(".note.gnu.property")
        offset = note["sh_offset"]
    assert data[offset + 12:offset + 16] == b"GNU\0"
    data[offset + 12:offset + 16] = b"GNX\0"
    found = audit_elf(io.BytesIO(bytes(data)), "/usr/bin/x")
    assert found is not None and {v.check: v.status for v in found}["cet"] == "fail"
    assert not any(v.evidence.startswith("malformed") for v in found)


def test_pie_without_df_1_pie_is_known_by_its_interpreter(built, tmp_path) -> None:
    """Older linkers mark no DF_1_PIE: an ET_DYN with PT_INTERP is still a PIE program."""
    data = bytearray(built["hardened"].read_bytes())
    with built["hardened"].open("rb") as handle:
        elf = ELFFile(handle)
        dynamic = elf.get_section_by_name(".dynamic")
        index = next(i for i, tag in enumerate(dynamic.iter_tags()) if tag.entry.d_tag == "DT_FLAGS_1")
        at = dynamic["sh_offset"] + index * dynamic["sh_entsize"] + 8
    value = int.from_bytes(data[at:at + 8], "little")
    assert value & 0x08000000
    data[at:at + 8] = (value & ~0x08000000).to_bytes(8, "little")
    patched = tmp_path / "no-df-1-pie"
    patched.write_bytes(bytes(data))
    assert verdicts(patched)["pie"] == ("pass", "ET_DYN with PT_INTERP")
    assert verdicts(built["hardened"])["pie"] == ("pass", "ET_DYN with DF_1_PIE")
    assert verdicts(built["shared"])["pie"] == ("n/a", "shared object (ET_DYN without PT_INTERP or DF_1_PIE)")
