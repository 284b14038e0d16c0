"""Hardening verdicts for one ELF file, from its headers, dynamic section, symbols and notes.

Pure: a byte stream in, one ``Verdict`` per check out, each with the evidence it rests on, so a
failure says *why* ("ET_EXEC: a position-dependent program", "uses printf and no __*_chk function").
Only what the file itself proves counts: flags the build meant to pass are not evidence
(docs/AUDIT.md). Programs and shared objects (ET_EXEC, ET_DYN) are audited; relocatable objects,
core files and anything that is not ELF are not (``audit_elf`` returns None). A file that starts
like ELF but cannot be parsed fails every check with the evidence ``malformed ELF: <reason>``: no
check can be shown to hold, and one corrupt file does not stop the audit of the others.

The checks (``ELF_CHECKS``):

* ``pie``: a position-independent program is ET_DYN with DF_1_PIE, or ET_DYN with PT_INTERP (older
  linkers set no DF_1_PIE); an ET_EXEC program fails; a shared object (ET_DYN with neither) is n/a.
* ``relro``: PT_GNU_RELRO and immediate binding (DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW); a static
  program (no PT_DYNAMIC) binds nothing lazily, so PT_GNU_RELRO alone is full RELRO there.
* ``stack-protector``: a ``__stack_chk_fail``/``__stack_chk_fail_local``/``__stack_chk_guard`` symbol
  in .dynsym or .symtab. gcc emits the canary call only in functions that need one, so a small file
  built with -fstack-protector-strong can honestly fail; waive it with that reason.
* ``fortify``: an imported ``__*_chk`` function (in a static program: one linked in); n/a when the
  file imports no function glibc can fortify; a fail names the unfortified imports.
* ``nx-stack``: PT_GNU_STACK present and not executable (without it the kernel may make the stack
  executable).
* ``cet``: x86-64 only: IBT and SHSTK both set in the GNU property note (GNU_PROPERTY_X86_FEATURE_1_AND).
  The linker keeps a feature only when every input object has it, start files included.
* ``rpath``: every DT_RPATH/DT_RUNPATH entry, with ``$ORIGIN`` resolved against the file's own
  directory, is one of ``SYSTEM_LIBRARY_DIRS`` or below it; an empty entry (the current directory)
  or an unresolvable ``$ORIGIN`` fails.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from elftools.common.exceptions import ELFError
from elftools.construct.core import ConstructError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import NoteSection, SymbolTableSection

from tributary.audit.report import Status

ELF_MAGIC = b"\x7fELF"
ELF_CHECKS = ("pie", "relro", "stack-protector", "fortify", "nx-stack", "cet", "rpath")

PASS, FAIL, NA = Status.PASS, Status.FAIL, Status.NA

SYSTEM_LIBRARY_DIRS = ("/usr/lib64", "/usr/lib", "/lib64", "/lib")

_DF_BIND_NOW = 0x8
_DF_1_NOW = 0x1
_DF_1_PIE = 0x08000000
_PF_X = 0x1
_X86_FEATURE_IBT = 0x1
_X86_FEATURE_SHSTK = 0x2

# What reading a corrupt file can raise, from pyelftools and the construct library under it.
_MALFORMED = (ELFError, ConstructError, AttributeError, TypeError, IndexError, KeyError, ValueError,
              OverflowError, OSError)

_STACK_SYMBOLS = ("__stack_chk_fail", "__stack_chk_fail_local", "__stack_chk_guard")
_CHK = re.compile(r"^__\w+_chk$")
# glibc functions with a __<name>_chk variant that _FORTIFY_SOURCE substitutes when it can.
FORTIFIABLE = frozenset("""
    asprintf confstr dprintf explicit_bzero fdelt fgets fgets_unlocked fgetws fgetws_unlocked fprintf
    fread fread_unlocked fwprintf getcwd getdomainname getgroups gethostname getlogin_r gets getwd
    longjmp mbsnrtowcs mbsrtowcs mbstowcs memcpy memmove mempcpy memset obstack_printf
    obstack_vprintf poll ppoll pread pread64 printf ptsname_r read readlink readlinkat realpath recv
    recvfrom snprintf sprintf stpcpy stpncpy strcat strcpy strncat strncpy swprintf syslog ttyname_r
    vasprintf vdprintf vfprintf vfwprintf vprintf vsnprintf vsprintf vswprintf vsyslog vwprintf
    wcpcpy wcpncpy wcrtomb wcscat wcscpy wcsncat wcsncpy wcsnrtombs wcsrtombs wcstombs wctomb
    wmemcpy wmemmove wmempcpy wmemset wprintf
""".split())


@dataclass(frozen=True)
class Verdict:
    """One check on one file: ``pass``, ``fail`` or ``n/a``, and the evidence for it."""

    check: str
    status: Status
    evidence: str


def is_elf(head: bytes) -> bool:
    return head[:4] == ELF_MAGIC


def audit_elf(stream: BinaryIO, path: str) -> list[Verdict] | None:
    """Every check of ``ELF_CHECKS`` on the ELF file in ``stream`` (installed at ``path``), in order.

    None when the stream is not a program or shared object (or not ELF at all). A file that is ELF
    but cannot be parsed fails every check with ``malformed ELF: <reason>``, rather than passing
    unseen or stopping the audit.
    """
    head = stream.read(4)
    stream.seek(0)
    if not is_elf(head):
        return None
    try:
        elf = ELFFile(stream)
        kind = elf["e_type"]
        if kind not in ("ET_EXEC", "ET_DYN"):
            return None
        facts = _Facts.read(elf)
        return [
            _pie(kind, facts),
            _relro(facts),
            _stack_protector(facts),
            _fortify(facts),
            _nx_stack(facts),
            _cet(elf["e_machine"], facts),
            _rpath(facts, path),
        ]
    except _MALFORMED as error:
        # pyelftools trusts the file's offsets and counts: a corrupt one surfaces as any of these.
        reason = str(error) or type(error).__name__
        return [Verdict(check, FAIL, f"malformed ELF: {reason}") for check in ELF_CHECKS]


@dataclass
class _Facts:
    """What the checks need, read once: segments, dynamic tags, symbols and the x86 feature bits."""

    segments: dict[str, int]  # p_type -> p_flags of the first such segment
    dynamic: bool
    tags: list[tuple[str, int | str]]
    imported: set[str]
    defined: set[str]
    has_symbols: bool
    x86_features: int | None

    @classmethod
    def read(cls, elf: ELFFile) -> _Facts:
        segments: dict[str, int] = {}
        for segment in elf.iter_segments():
            segments.setdefault(segment["p_type"], segment["p_flags"])
        tags: list[tuple[str, int | str]] = []
        imported: set[str] = set()
        defined: set[str] = set()
        has_symbols = False
        features: int | None = None
        for section in elf.iter_sections():
            if isinstance(section, DynamicSection) and section["sh_type"] == "SHT_DYNAMIC":
                for tag in section.iter_tags():
                    name = tag.entry.d_tag
                    if name in ("DT_RPATH", "DT_RUNPATH"):
                        # pyelftools sets the decoded string as an attribute named after the tag.
                        tags.append((name, vars(tag)["rpath" if name == "DT_RPATH" else "runpath"]))
                    elif name in ("DT_FLAGS", "DT_FLAGS_1", "DT_BIND_NOW"):
                        tags.append((name, tag.entry.d_val))
            elif isinstance(section, SymbolTableSection):
                has_symbols = has_symbols or section.num_symbols() > 1
                for symbol in section.iter_symbols():
                    name = symbol.name.split("@", 1)[0]
                    if not name:
                        continue
                    (imported if symbol["st_shndx"] == "SHN_UNDEF" else defined).add(name)
            elif isinstance(section, NoteSection):
                for note in section.iter_notes():
                    if note["n_type"] != "NT_GNU_PROPERTY_TYPE_0":
                        continue
                    if not isinstance(note["n_desc"], list):
                        continue  # a corrupt note: pyelftools leaves its raw bytes or size there
                    for prop in note["n_desc"]:
                        if prop.pr_type == "GNU_PROPERTY_X86_FEATURE_1_AND":
                            features = (features or 0) | int(prop.pr_data)
        return cls(segments, "PT_DYNAMIC" in segments, tags, imported, defined, has_symbols, features)

    def flag(self, tag: str) -> int:
        return sum(int(value) for name, value in self.tags if name == tag)


def _pie(kind: str, facts: _Facts) -> Verdict:
    if kind == "ET_EXEC":
        return Verdict("pie", FAIL, "ET_EXEC: a position-dependent program")
    if facts.flag("DT_FLAGS_1") & _DF_1_PIE:
        return Verdict("pie", PASS, "ET_DYN with DF_1_PIE")
    if "PT_INTERP" in facts.segments:
        return Verdict("pie", PASS, "ET_DYN with PT_INTERP")
    return Verdict("pie", NA, "shared object (ET_DYN without PT_INTERP or DF_1_PIE)")


def _relro(facts: _Facts) -> Verdict:
    if "PT_GNU_RELRO" not in facts.segments:
        return Verdict("relro", FAIL, "no PT_GNU_RELRO segment")
    if not facts.dynamic:
        return Verdict("relro", PASS, "PT_GNU_RELRO; static, nothing bound lazily")
    now = [name for name, bit in (("DF_BIND_NOW", facts.flag("DT_FLAGS") & _DF_BIND_NOW),
                                  ("DF_1_NOW", facts.flag("DT_FLAGS_1") & _DF_1_NOW)) if bit]
    if any(name == "DT_BIND_NOW" for name, _ in facts.tags):
        now.append("DT_BIND_NOW")
    if not now:
        return Verdict("relro", FAIL, "partial RELRO: PT_GNU_RELRO without BIND_NOW (lazy binding)")
    return Verdict("relro", PASS, f"PT_GNU_RELRO and {', '.join(now)}")


def _stack_protector(facts: _Facts) -> Verdict:
    found = [name for name in _STACK_SYMBOLS if name in facts.imported or name in facts.defined]
    if found:
        return Verdict("stack-protector", PASS, f"references {', '.join(found)}")
    if not facts.has_symbols:
        return Verdict("stack-protector", FAIL, "no symbol table to find __stack_chk_fail in")
    return Verdict("stack-protector", FAIL, "no __stack_chk_fail: no function has a stack canary")


def _fortify(facts: _Facts) -> Verdict:
    # A dynamic file's own __*_chk definitions (the C library's) say nothing of how it was built.
    pool = facts.imported if facts.dynamic else facts.imported | facts.defined
    fortified = sorted(name for name in pool if _CHK.match(name))
    if fortified:
        return Verdict("fortify", PASS, f"uses {_few(fortified)}")
    plain = sorted(name for name in pool if name in FORTIFIABLE)
    if not plain:
        if not facts.has_symbols:
            return Verdict("fortify", FAIL, "no symbol table to find __*_chk functions in")
        return Verdict("fortify", NA, "uses no fortifiable function")
    return Verdict("fortify", FAIL, f"uses {_few(plain)} and no __*_chk function")


def _nx_stack(facts: _Facts) -> Verdict:
    if "PT_GNU_STACK" not in facts.segments:
        return Verdict("nx-stack", FAIL, "no PT_GNU_STACK: the stack may be executable")
    if facts.segments["PT_GNU_STACK"] & _PF_X:
        return Verdict("nx-stack", FAIL, "PT_GNU_STACK is executable (RWE)")
    return Verdict("nx-stack", PASS, "PT_GNU_STACK not executable")


def _cet(machine: str, facts: _Facts) -> Verdict:
    if machine != "EM_X86_64":
        return Verdict("cet", NA, f"CET is an x86-64 feature; this file is {machine}")
    bits = facts.x86_features or 0
    missing = [name for name, bit in (("IBT", _X86_FEATURE_IBT), ("SHSTK", _X86_FEATURE_SHSTK)) if not bits & bit]
    if facts.x86_features is None:
        return Verdict("cet", FAIL, "no GNU_PROPERTY_X86_FEATURE_1_AND note (IBT, SHSTK missing)")
    if missing:
        return Verdict("cet", FAIL, f"x86 feature note lacks {', '.join(missing)}")
    return Verdict("cet", PASS, "x86 feature note has IBT and SHSTK")


def rpath_entries(facts_tags: Iterable[tuple[str, int | str]]) -> list[tuple[str, str]]:
    return [(name, entry) for name, value in facts_tags if name in ("DT_RPATH", "DT_RUNPATH")
            for entry in str(value).split(":")]


def _rpath(facts: _Facts, path: str) -> Verdict:
    entries = rpath_entries(facts.tags)
    if not entries:
        return Verdict("rpath", PASS, "no RPATH or RUNPATH")
    bad = [f"{name[3:]} {entry!r}" for name, entry in entries if not system_path(entry, path)]
    if bad:
        return Verdict("rpath", FAIL, f"outside {', '.join(SYSTEM_LIBRARY_DIRS)}: {', '.join(bad)}")
    return Verdict("rpath", PASS, "only system directories: " + ", ".join(f"{n[3:]} {e!r}" for n, e in entries))


def system_path(entry: str, path: str) -> bool:
    """Whether one RPATH/RUNPATH entry of the file installed at ``path`` stays in a system library dir."""
    if not entry:
        return False  # an empty entry means the process's current directory
    if "$ORIGIN" in entry or "${ORIGIN}" in entry:
        if not path.startswith("/"):
            return False
        entry = entry.replace("${ORIGIN}", "$ORIGIN").replace("$ORIGIN", posixpath.dirname(path))
    if "$" in entry or not entry.startswith("/"):
        return False  # $LIB, $PLATFORM or a relative path: depends on the run, not the package
    normal = posixpath.normpath(entry)
    return any(normal == root or normal.startswith(root + "/") for root in SYSTEM_LIBRARY_DIRS)


def _few(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")
