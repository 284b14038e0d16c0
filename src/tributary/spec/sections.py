"""Section headers and the package each section belongs to, exactly as azldev's editor sees them.

A section is named by its header token *as written* and by a package read verbatim from the header
(unexpanded macros included), because overlays address sections that way: ``%files devel`` and
``%files -n foo-devel`` are different targets even when rpm would resolve them to one package.
"""

from __future__ import annotations

from typing import NamedTuple

PACKAGE = "%package"

SECTION_NAMES = frozenset(
    {
        PACKAGE,
        # scripts
        "%prep",
        "%conf",
        "%build",
        "%install",
        "%check",
        "%clean",
        "%generate_buildrequires",
        # scriptlets
        "%pre",
        "%post",
        "%preun",
        "%postun",
        "%pretrans",
        "%posttrans",
        "%preuntrans",
        "%postuntrans",
        "%verify",
        # triggers and file triggers
        "%triggerin",
        "%triggerun",
        "%triggerprein",
        "%triggerpostun",
        "%filetriggerin",
        "%filetriggerun",
        "%filetriggerpostun",
        "%transfiletriggerin",
        "%transfiletriggerun",
        "%transfiletriggerpostun",
        # the rest
        "%description",
        "%files",
        "%changelog",
        "%patchlist",
        "%sourcelist",
    }
)

# Sections that belong to the whole spec rather than to one package.
_UNPACKAGED = frozenset({"%changelog", "%patchlist", "%sourcelist"})

# Header options whose next token is their argument, not a package name: %files -f LIST,
# %post -p PROGRAM, file-trigger -P PRIORITY, and -l.
_FLAGS_WITH_ARGUMENT = frozenset({"-f", "-p", "-l", "-P"})

_TRIGGER_PREFIXES = ("%trigger", "%filetrigger", "%transfiletrigger")


class Section(NamedTuple):
    """One section: lines ``start`` (its header, if any) up to ``end`` (exclusive, the next header).

    The preamble is the section ``("", "")`` and has no header line. A named tuple because a spec
    with hundreds of sub-packages builds hundreds of these per parse.
    """

    name: str
    package: str
    start: int
    end: int

    @property
    def has_header(self) -> bool:
        return self.name != ""

    @property
    def body_start(self) -> int:
        return self.start + 1 if self.name else self.start

    @property
    def is_package_section(self) -> bool:
        """Tags are only parsed here: the preamble and ``%package`` bodies."""
        return self.name == "" or self.name.lower() == PACKAGE

    def describe(self) -> str:
        if not self.name:
            return "the preamble"
        return f"{self.name} ({describe_package(self.package)})" if self.package else self.name


def describe_package(package: str) -> str:
    """How a message names a package: the empty package is the main one."""
    return f"package {package!r}" if package else "the main package"


def is_section_name(token: str) -> bool:
    """Whether a line's first token opens a section (compared case-insensitively, like azldev)."""
    return token.lower() in SECTION_NAMES


def parse_header(line: str) -> tuple[str, str] | None:
    """``(name as written, package)`` when ``line`` is a section header, else None. (A ``#`` in
    column 0 needs no special case: it makes the first token something other than a name.)"""
    tokens = line.split()
    if not tokens or not is_section_name(tokens[0]):
        return None
    return tokens[0], package_of(tokens)


def package_of(tokens: list[str]) -> str:
    """The package a header's tokens name: ``-n NAME`` wins, else the first non-option token (the
    suffix, such as ``devel``), else the main package ``""``."""
    name = tokens[0].lower()
    if len(tokens) == 1 or name in _UNPACKAGED:
        return ""
    if len(tokens) == 2 and tokens[1][:1] != "-":
        return tokens[1]  # the common `%files devel` form, without the general walk below
    trigger = name.startswith(_TRIGGER_PREFIXES)
    full = ""
    suffix = ""
    index = 1
    while index < len(tokens):
        token = tokens[index]
        if token == "--" and trigger:
            break  # what follows is the trigger condition, not a package
        if token.startswith("-"):
            if token == "-n":
                if index + 1 < len(tokens):
                    full = tokens[index + 1]
                index += 2
            elif token in _FLAGS_WITH_ARGUMENT:
                index += 2
            else:
                index += 1
            continue
        if not suffix:
            suffix = token
        index += 1
    return full or suffix
