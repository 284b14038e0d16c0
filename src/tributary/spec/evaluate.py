"""A spec read the way rpm's parser reads it, for the few facts render needs: which version it builds and
which files it names.

Lines are joined as rpm joins them (a ``\\`` at the end, or a ``%{``/``%(``/``%[`` still open), each
line is macro-expanded (see :mod:`tributary.spec.macros`), conditionals are decided, ``%include`` and
``%{load:}`` read their files, and preamble tags define ``%{name}``, ``%{version}``, ``%{SOURCEn}``...
as rpm does. Where rpm would need something we do not have (a macro from a package of the upstream
distribution, an architecture when none is given), a condition is *unknown*: both of its branches are
read, so that nothing the spec might name is missed.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from tributary.errors import TribError
from tributary.spec import expression
from tributary.spec.conditionals import DIRECTIVES, Directive
from tributary.spec.macros import Loader, Lua, MacroExpander, Shell, matching_close, unexpanded
from tributary.spec.sections import SECTION_NAMES

ARCH_GROUPS: dict[str, str] = {
    "ix86": "i386 i486 i586 i686 pentium3 pentium4 athlon geode",
    "x86_64": "x86_64 amd64 em64t",
    "arm32": "armv3l armv4b armv4l armv4tl armv5tl armv5tel armv5tejl armv6l armv6hl armv7l armv7hl armv7hnl",
    "arm64": "aarch64",
    "power64": "ppc64 ppc64p7 ppc64le",
    "mips": "mips mipsel mips64 mips64el",
    "riscv": "riscv64",
}
"""The architecture groups rpm's own macros define, for ``%ifarch %{ix86}`` and the like."""

BUILD_SCRIPTS = frozenset({"%prep", "%conf", "%build", "%install", "%check", "%generate_buildrequires"})
_TAG = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*?)(\([^)]*\))?\s*(\d*)\s*:\s*(.*?)\s*$", re.DOTALL)
_TAG_MACROS = frozenset({"name", "version", "release", "epoch", "summary", "license", "url"})
_OPENER = re.compile(r"%[{(\[]")


class SpecEvaluationError(TribError):
    """The spec cannot be read: a file it includes is missing."""


class Decision(Enum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


@dataclass
class SpecFacts:
    """What the spec says once its macros are expanded (values as rpm would see them)."""

    name: str | None = None
    epoch: str | None = None
    version: str | None = None
    release: str | None = None
    sources: dict[int, str] = field(default_factory=dict)
    patches: dict[int, str] = field(default_factory=dict)
    listed: list[str] = field(default_factory=list)
    """Entries of ``%sourcelist`` and ``%patchlist``."""
    included: list[str] = field(default_factory=list)
    """Files read by ``%include`` and ``%{load:}``, as the spec names them (expanded)."""
    scripts: list[str] = field(default_factory=list)
    """Expanded lines of the build scripts (%prep ... %check)."""
    hidden: bool = False
    """A preamble line could not be expanded and may stand for tags (``%{lua:}`` that did not run)."""


@dataclass
class _Frame:
    """One open ``%if``: whether a branch was taken already, and whether the current one is read."""

    taken: Decision
    active: bool
    parent_active: bool


def evaluate(
    text: str,
    *,
    macros: Mapping[str, str] | None = None,
    macro_file: str = "",
    sourcedir: str = ".",
    arch: str | None = None,
    shell: Shell | None = None,
    lua: Lua | None = None,
    loader: Loader | None = None,
) -> SpecFacts:
    """Read ``text`` as rpm would (``arch`` None: every ``%ifarch`` is unknown, both branches read).

    ``macros`` and the definitions in ``macro_file`` (rpm's macros-file syntax, parametric macros
    allowed) are defined before the spec is read, as a distribution's macro files are.
    """
    expander = MacroExpander(shell=shell, lua=lua, loader=loader)
    expander.define("nil", "")
    for name, body in ARCH_GROUPS.items():
        expander.define(name, body)
    for name, body in (macros or {}).items():
        expander.define(name, body)
    expander.load_macro_file(macro_file)
    expander.define("_sourcedir", sourcedir)
    expander.define("_builddir", sourcedir)
    if arch is not None:
        expander.define("_arch", arch)
        expander.define("_target_cpu", arch)
    return _Reader(expander, arch, loader).read(text)


class _Reader:
    def __init__(self, expander: MacroExpander, arch: str | None, loader: Loader | None):
        self.expander = expander
        self.arch = arch
        self.loader = loader
        self.facts = SpecFacts()
        self.frames: list[_Frame] = []
        self.section = ""
        self.main_package = True

    @property
    def active(self) -> bool:
        return not self.frames or self.frames[-1].active

    def read(self, text: str) -> SpecFacts:
        pending: deque[str] = deque(text.split("\n"))
        while pending:
            line = pending.popleft()
            while pending and _continues(line):
                line += "\n" + pending.popleft()
            self._line(line, pending)
        self.facts.included.extend(self.expander.loaded)
        return self.facts

    def _line(self, line: str, pending: deque[str]) -> None:
        stripped = line.lstrip()
        token = stripped.split(None, 1)[0] if stripped else ""
        lowered = token.lower()
        directive = DIRECTIVES.get(lowered)
        if directive is not None and stripped[:1] == "%":
            self._conditional(directive, lowered, stripped[len(token) :])
            return
        if not self.active:
            return
        if lowered == "%include":
            self._include(stripped[len(token) :], pending)
            return
        if lowered in SECTION_NAMES:
            self.section = lowered
            self.main_package = False if lowered == "%package" else self.main_package
            return
        if self.section == "%changelog":
            return
        expanded = self.expander.expand(line)
        for piece in expanded.split("\n"):
            self._content(piece)

    def _content(self, line: str) -> None:
        if self.section in ("", "%package"):
            self._preamble(line)
        elif self.section in ("%sourcelist", "%patchlist"):
            entry = line.strip()
            if entry and not entry.startswith("#"):
                self.facts.listed.append(entry)
        elif self.section in BUILD_SCRIPTS:
            self.facts.scripts.append(line)

    def _preamble(self, line: str) -> None:
        if line[:1] == "#" or not line.strip():
            return
        match = _TAG.match(line)
        if match is None:
            if "%{lua:" in line:
                self.facts.hidden = True
            return
        name, _, number, value = match.groups()
        lowered = name.lower()
        if lowered in ("source", "patch"):
            self._file_tag(lowered, int(number) if number else None, value)
        elif number:
            return
        elif lowered in _TAG_MACROS and (self.section == "" or lowered not in ("name", "version", "release", "epoch")):
            self.expander.define(lowered, value)
            if self.section == "" and lowered in ("name", "version", "release", "epoch"):
                setattr(self.facts, lowered, value)

    def _file_tag(self, kind: str, number: int | None, value: str) -> None:
        table = self.facts.sources if kind == "source" else self.facts.patches
        if number is None:
            number = max(table) + 1 if table else 0
        table[number] = value
        sourcedir = self.expander.lookup("_sourcedir")
        path = f"{sourcedir.body if sourcedir else '.'}/{value.rsplit('/', 1)[-1]}"
        self.expander.define(f"{kind.upper()}{number}", path)
        plural = "sources" if kind == "source" else "patches"
        self.expander.undefine(plural)
        self.expander.define(plural, " ".join(f"%{{{kind.upper()}{n}}}" for n in sorted(table)))

    def _include(self, argument: str, pending: deque[str]) -> None:
        name = self.expander.expand(argument.strip())
        text = self.loader(name) if self.loader is not None and not unexpanded(name) else None
        if text is None:
            raise SpecEvaluationError(f"%include {argument.strip()}: file not found")
        self.facts.included.append(name)
        pending.extendleft(reversed(text.split("\n")))

    # -- conditionals -----------------------------------------------------------------------

    def _conditional(self, directive: Directive, token: str, argument: str) -> None:
        if directive is Directive.OPEN:
            decision = self._decide(token, argument) if self.active else Decision.NO
            self.frames.append(_Frame(decision, self.active and decision is not Decision.NO, self.active))
            return
        if not self.frames:
            return  # an unmatched directive: rpm refuses the spec, we read on
        frame = self.frames[-1]
        if directive is Directive.CLOSE:
            self.frames.pop()
            return
        if not frame.parent_active or frame.taken is Decision.YES:
            frame.active = False
            return
        decision = Decision.YES if token == "%else" else self._decide(token.replace("%elif", "%if", 1), argument)
        frame.active = decision is not Decision.NO
        if decision is not Decision.NO:
            frame.taken = decision  # YES: no later branch is read; UNKNOWN: later ones may still be

    def _decide(self, token: str, argument: str) -> Decision:
        if token == "%if":
            text = self.expander.expand(argument)
            if unexpanded(text):
                return Decision.UNKNOWN
            try:
                return Decision.YES if expression.truth(expression.evaluate(text)) else Decision.NO
            except expression.ExpressionError:
                return Decision.UNKNOWN
        if token in ("%ifos", "%ifnos"):
            names = self.expander.expand(argument).split()
            return Decision.YES if ("linux" in names) == (token == "%ifos") else Decision.NO
        if self.arch is None:
            return Decision.UNKNOWN
        arches = self.expander.expand(argument).split()
        return Decision.YES if (self.arch in arches) == (token == "%ifarch") else Decision.NO


def _continues(line: str) -> bool:
    """Whether rpm reads the next physical line as part of this one."""
    if line.endswith("\\"):
        return True
    if "%" not in line:
        return False
    for opener in _OPENER.finditer(line):
        start = opener.start()
        if start > 0 and line[start - 1] == "%":
            continue
        if matching_close(line, start + 1) < 0:
            return True
    return False
