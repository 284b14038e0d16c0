"""dpkg, the program (with ``dpkg-query``, ``dpkg-divert`` and ``update-alternatives``): what a Debian
build host has installed, which files each package put where, and which paths dpkg moved or linked.

Only ``tributary.build.stage0`` uses this: it repackages the host's own toolchain as a bootstrap RPM
repository, and nothing else in tributary may know that the host is Debian. Every program runs
through ``tools.process``; a failure is a ``ToolError`` quoting dpkg's complaint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tributary.tools import process

TIMEOUT = 120.0
"""Seconds one query may take; reading the whole package database takes well under one."""

# One record per installed package; tabs separate the fields. The Conffiles field is last: its lines
# after the first start with a space, which no record's first line does.
_FIELDS = ("Package", "Architecture", "Version", "db:Status-Abbrev", "Essential",
           "Pre-Depends", "Depends", "Provides", "Conffiles")
_FORMAT = "\t".join(f"${{{field}}}" for field in _FIELDS) + "\n"
_DIVERSION = re.compile(r"^(?:local )?diversion of (?P<path>\S.*?) to (?P<to>\S.*?)(?: by (?P<by>\S+))?$")


@dataclass(frozen=True)
class Relation:
    """One alternative of a dependency clause: a package (or virtual) name, with its arch qualifier dropped."""

    name: str


@dataclass(frozen=True)
class InstalledPackage:
    """An installed package as dpkg's database records it (version constraints are not kept: the
    installed set is consistent, so which package satisfies a clause is all that matters)."""

    name: str
    architecture: str
    version: str
    essential: bool
    depends: tuple[tuple[str, ...], ...]  # Pre-Depends then Depends; each clause its alternatives
    provides: tuple[str, ...]
    conffiles: tuple[str, ...]


@dataclass(frozen=True)
class Diversion:
    """dpkg installs ``path`` of every package except ``by`` at ``to`` (``by`` None: a local diversion)."""

    path: str
    to: str
    by: str | None


@dataclass(frozen=True)
class Alternative:
    """An alternatives link group as chosen now: each link path and the file it currently resolves to."""

    name: str
    links: tuple[tuple[str, str], ...]  # (link path, current target), master first


def architecture() -> str:
    """dpkg's native architecture (``amd64``, ``arm64``...)."""
    return process.run([_program("dpkg"), "--print-architecture"], timeout=TIMEOUT).stdout.strip()


def installed() -> list[InstalledPackage]:
    """Every installed package (``ii``, or with triggers pending), sorted by name then architecture."""
    proc = process.run([_program("dpkg-query"), "--show", f"--showformat={_FORMAT}"], timeout=TIMEOUT)
    records: list[str] = []
    for line in proc.stdout.splitlines():
        if line.startswith(" ") and records:
            records[-1] += "\n" + line
        elif line:
            records.append(line)
    packages = []
    for record in records:
        fields = dict(zip(_FIELDS, record.split("\t", len(_FIELDS) - 1), strict=True))
        # The second letter is the package's state: installed, or installed with triggers pending or
        # awaited (while apt runs elsewhere on the host, libc-bin often is): its files are all there.
        if fields["db:Status-Abbrev"][1:2] not in ("i", "t", "W"):
            continue
        packages.append(InstalledPackage(
            name=fields["Package"],
            architecture=fields["Architecture"],
            version=fields["Version"],
            essential=fields["Essential"] == "yes",
            depends=parse_relations(f"{fields['Pre-Depends']},{fields['Depends']}"),
            provides=tuple(clause[0] for clause in parse_relations(fields["Provides"])),
            conffiles=tuple(line.split()[0] for line in fields["Conffiles"].splitlines()
                            if line.strip() and line.split()[-1] != "obsolete"),
        ))
    return sorted(packages, key=lambda p: (p.name, p.architecture))


def parse_relations(text: str) -> tuple[tuple[str, ...], ...]:
    """``a (>= 1) | b:any, c`` -> ``(("a", "b"), ("c",))``: names only, arch qualifiers dropped."""
    clauses = []
    for clause in text.split(","):
        names = tuple(alt.strip().split(" ")[0].split("(")[0].split(":")[0] for alt in clause.split("|"))
        names = tuple(name for name in names if name)
        if names:
            clauses.append(names)
    return tuple(clauses)


def file_lists(packages: Sequence[str]) -> dict[str, list[str]]:
    """The paths dpkg lists for each package (directories included, as dpkg records them).

    One ``dpkg-query --listfiles`` for all of them: it prints each package's list in the order asked,
    separated by a blank line, and every list starts with ``/.``, which is checked.
    """
    if not packages:
        return {}
    proc = process.run([_program("dpkg-query"), "--listfiles", *packages], timeout=TIMEOUT)
    blocks = [block.splitlines() for block in proc.stdout.strip("\n").split("\n\n")]
    if len(blocks) != len(packages) or any(not block or block[0] != "/." for block in blocks):
        raise process.ToolError(f"dpkg-query --listfiles gave {len(blocks)} file lists for {len(packages)} packages",
                                command=["dpkg-query", "--listfiles", *packages], stderr=proc.stderr)
    return {name: [path for path in block[1:] if path] for name, block in zip(packages, blocks, strict=True)}


def diversions() -> list[Diversion]:
    """Every diversion dpkg knows (``dpkg-divert --list``)."""
    proc = process.run([_program("dpkg-divert"), "--list"], timeout=TIMEOUT)
    found = []
    for line in proc.stdout.splitlines():
        match = _DIVERSION.match(line.strip())
        if match:
            found.append(Diversion(match["path"], match["to"], match["by"]))
    return sorted(found, key=lambda d: d.path)


def alternatives(values: Iterable[str]) -> list[Alternative]:
    """The alternatives whose current choice is one of ``values`` (paths), with their links resolved.

    ``--get-selections`` names every group and its current choice; only the groups that resolve to
    one of ``values`` are queried for their link paths and slaves.
    """
    wanted = set(values)
    program = _program("update-alternatives")
    selections = process.run([program, "--get-selections"], timeout=TIMEOUT).stdout
    found = []
    for line in selections.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in wanted:
            found.append(parse_query(process.run([program, "--query", parts[0]], timeout=TIMEOUT).stdout))
    return sorted(found, key=lambda a: a.name)


def parse_query(text: str) -> Alternative:
    """An ``update-alternatives --query`` answer: the group's links, each with the current choice's target."""
    stanzas = [stanza for stanza in text.strip().split("\n\n") if stanza.strip()]
    head = _stanza(stanzas[0])
    value = head["Value"][0] if head.get("Value") else ""
    links: list[tuple[str, str]] = [(head["Link"][0], value)]
    slave_links = dict(_pairs(head.get("Slaves", [])))
    for stanza in stanzas[1:]:
        fields = _stanza(stanza)
        if fields.get("Alternative", [""])[0] == value:
            for slave, target in sorted(_pairs(fields.get("Slaves", []))):
                if slave in slave_links:
                    links.append((slave_links[slave], target))
    return Alternative(head["Name"][0], tuple(links))


def _stanza(text: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    key = ""
    for line in text.splitlines():
        if line.startswith(" ") and key:
            fields[key].append(line.strip())
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = [value.strip()] if value.strip() else []
    return fields


def _pairs(lines: list[str]) -> list[tuple[str, str]]:
    return [(parts[0], parts[1]) for parts in (line.split(None, 1) for line in lines) if len(parts) == 2]


def _program(name: str) -> str:
    return process.require(name, package="dpkg", purpose="to read the build host's packages for the stage-0 repository")
