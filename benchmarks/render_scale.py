"""Benchmark: render an Azure-Linux-sized distribution, re-render it unchanged, and parse its specs.

Generates a synthetic distribution of about 7,600 local-spec components (one directory each under
``base/comps/``, discovered by a component group's ``specs`` glob, so most need no TOML at all; the
project is one git commit, as a real one is a git checkout, unless ``--no-git``) with
realistic Fedora-shaped specs: 2-40 KB (median about 8 KB), ``%global``/``%bcond``, subpackages, ``%if``
blocks (also around whole sections), the usual scripts, a long ``%changelog``, and 0-3 patches each.
About 100 components carry about 230 overlays in Azure Linux's mix (reference section 2.8: most of them
spec-search-replace), and some have build options or ``build.check.skip``. Every overlay is written
against the spec generated for it, so each one changes something (tributary rejects one that does not).

Measured in one run (2 render processes by default):

1. ``load_project`` (reported separately), then a full render of every component into a fresh
   rendered-specs directory; every outcome must be ok;
2. a no-op re-render: the same call again, nothing changed;
3. parse + serialise of every rendered spec with ``tributary.spec`` (``str(parse(text))``) against
   packit's ``specfile`` (``str(Specfile(content=text, sourcedir=...))``, which parses through rpm)
   on the same files; specfile is timed on a fixed random sample and its per-spec time extrapolated.

Targets on 2 cores: full render <= 60 s, no-op re-render <= 3 s, parse+serialise >= 20x specfile.

    python benchmarks/render_scale.py [--json] [--components N] [--keep DIR] [--jobs N] [--no-git]
                                      [--specfile-sample N] [--repeat N] [--profile N]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import pstats
import random
import shutil
import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from _common import (
    Target,
    git_commit_all,
    machine,
    median_seconds,
    report,
    scratch_dir,
    timed,
    tributary_commit,
)

from tributary.config import load_project
from tributary.render.render import render_many
from tributary.spec import parse

AZURE_COMPONENTS = 7600
AZURE_OVERLAY_COMPONENTS = 97
SEED = 20260224
SPECFILE_API = "str(specfile.Specfile(content=text, sourcedir=<copy of the rendered component dir>))"
SPECFILE_STRUCTURED_API = "the same plus `with spec.sections()` and `with spec.tags()` (their lossless model)"

# ---------------------------------------------------------------------------------------------------
# Overlay mix: Azure Linux's 233 overlays over 97 components (reference section 2.8), as "bundles"
# that go into one component together: file-add comes with the tag naming the file, a file-rename
# with the update-tag of its PatchN, a remove-section with the other two sections of its subpackage.
# spec-search-replace is split by target; 61 of Azure Linux's 93 name no section.

BUNDLES: dict[str, tuple[int, tuple[str, ...]]] = {
    # kind: (count at full size, overlay types in application order)
    "sr-br": (25, ("spec-search-replace",)),
    "sr-global": (8, ("spec-search-replace",)),
    "sr-requires": (8, ("spec-search-replace",)),
    "sr-flag": (10, ("spec-search-replace",)),
    "sr-path": (10, ("spec-search-replace",)),
    "sr-build": (12, ("spec-search-replace",)),
    "sr-install": (8, ("spec-search-replace",)),
    "sr-files": (5, ("spec-search-replace",)),
    "sr-prep": (4, ("spec-search-replace",)),
    "sr-check": (2, ("spec-search-replace",)),
    "sr-post": (1, ("spec-search-replace",)),
    "add-tag": (19, ("spec-add-tag",)),
    "add-source": (3, ("file-add", "spec-add-tag")),
    "insert-source": (11, ("file-add", "spec-insert-tag")),
    "replace-file": (2, ("file-remove", "file-add")),
    "append": (18, ("spec-append-lines",)),
    "remove-tag": (15, ("spec-remove-tag",)),
    "update-tag": (11, ("spec-update-tag",)),
    "rename-patch": (3, ("file-rename", "spec-update-tag")),
    "remove-subpackage": (4, ("spec-remove-section",) * 3),
    "file-sr": (10, ("file-search-replace",)),
    "patch-add": (9, ("patch-add",)),
    "prepend": (5, ("spec-prepend-lines",)),
    "set-tag": (2, ("spec-set-tag",)),
    "patch-remove": (1, ("patch-remove",)),
}

# Build options (reference section 8): without 19, with 3, defines 7 components; check.skip 5 in the
# component's own file plus 182 through a group.
BUILD_OPTION_COMPONENTS = 29
CHECK_SKIP_OWN = 5
CHECK_SKIP_GROUP = 182

# ---------------------------------------------------------------------------------------------------
# Vocabulary

CONSONANTS = "b c d f g h j k l m n p r s t v w z br ch cl cr dr fl gl gr kr pl pr sh sk sl sp st th tr".split()
VOWELS = "a e i o u a e i o ai ea io ou".split()
ENDINGS = ["", "", "", "x", "n", "r", "s", "t", "l", "m", "d"]
PREFIXES = [("", 48), ("python-", 14), ("perl-", 9), ("rust-", 7), ("golang-github-", 5), ("lib", 8),
            ("ghc-", 3), ("texlive-", 3), ("nodejs-", 2), ("R-", 1)]
WORDS = ("fast small simple portable secure modern robust minimal flexible extensible lightweight generic "
         "library tool daemon parser engine format protocol client server toolkit framework interface "
         "binding utility service driver backend frontend plugin module compiler runtime scanner "
         "network file text image audio video data config cache index archive stream buffer queue "
         "support handling access management processing conversion validation rendering encoding").split()
FEATURES = ("acl xattr selinux systemd zlib lzma bzip2 zstd lz4 openssl gnutls nss curl ssh gssapi ldap "
            "kerberos pam audit caps seccomp dbus udev libmount blkid uuid pcre2 readline ncurses gpm "
            "nls rpath largefile threads ipv6 unicode debug tests docs manpages examples static shared "
            "lua python perl tcl ruby gtk qt x11 wayland opengl vulkan egl gbm drm pulse alsa jack "
            "sqlite mysql postgresql odbc redis xml json yaml toml protobuf grpc avahi bluetooth "
            "polkit introspection vala gettext iconv icu idn psl brotli sodium gcrypt gpgme tpm "
            "fuse nfs smb iscsi lvm raid crypt").split()
PROSE = frozenset(WORDS) | {"azl", "fedora", "name", "version", "release", "buildroot", "dist", "with", "check"}
LICENSES = ["MIT", "BSD-3-Clause", "GPL-2.0-or-later", "GPL-3.0-or-later", "LGPL-2.1-or-later", "Apache-2.0",
            "MPL-2.0", "ISC", "Zlib", "MIT AND BSD-3-Clause", "GPL-2.0-only WITH Linux-syscall-note",
            "LGPL-2.1-or-later AND GPL-2.0-or-later", "Apache-2.0 OR MIT", "Artistic-1.0-Perl OR GPL-1.0-or-later"]
C_BUILDREQUIRES = ["gcc", "gcc-c++", "make", "autoconf", "automake", "libtool", "pkgconfig(glib-2.0)",
                   "pkgconfig(zlib)", "pkgconfig(openssl)", "pkgconfig(libxml-2.0)", "pkgconfig(libcurl)",
                   "pkgconfig(dbus-1)", "pkgconfig(json-c)", "pkgconfig(libffi)", "bison", "flex",
                   "gettext-devel", "ncurses-devel", "readline-devel", "libselinux-devel", "libcap-devel",
                   "libacl-devel", "xz-devel", "bzip2-devel", "libzstd-devel", "lz4-devel", "pcre2-devel",
                   "help2man", "texinfo", "doxygen", "graphviz", "python3-sphinx", "chrpath", "libuuid-devel"]
PACKAGERS = ["Fedora Release Engineering <releng@fedoraproject.org>", "Tomas Novak <tnovak@redhat.com>",
             "Jane Smith <jsmith@fedoraproject.org>", "Petr Dvorak <pdvorak@redhat.com>",
             "Miro Hroncok <mhroncok@redhat.com>", "Kalev Lember <klember@redhat.com>",
             "Adam Williamson <awilliam@redhat.com>", "Sergio Basto <sergio@serjux.com>"]
CHANGES = ["Rebuilt for https://fedoraproject.org/wiki/Fedora_{f}_Mass_Rebuild",
           "Update to {v} (rhbz#{bug})", "Fix FTBFS with GCC {gcc} (rhbz#{bug})",
           "Fix CVE-{year}-{cve} (rhbz#{bug})", "Convert license tag to SPDX",
           "Use the autosetup macro and drop obsolete scriptlets", "Drop i686 support (rhbz#{bug})",
           "Backport upstream fix for a crash on empty input", "Add missing BuildRequires on make",
           "Enable the test suite on all architectures", "Split the documentation into a subpackage",
           "Rebuild for the new soname of a dependency", "Switch to the meson build system",
           "Remove unneeded ldconfig scriptlets", "Modernise the spec file"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(rng.choice((2, 2, 3)))) + rng.choice(
        ENDINGS
    )


def make_names(count: int, rng: random.Random) -> list[str]:
    prefixes, weights = zip(*PREFIXES, strict=True)
    names: set[str] = set()
    while len(names) < count:
        name = rng.choices(prefixes, weights)[0] + _word(rng)
        if rng.random() < 0.08:
            name += rng.choice(["-utils", "-tools", "-libs", "-data", "2", "3", "-common", "-fonts"])
        names.add(name)
    return sorted(names)


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random, sentences: int) -> list[str]:
    text = " ".join(_sentence(rng, rng.randint(6, 14)) for _ in range(sentences))
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > 76:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return lines + [current]


def regex_escape(text: str) -> str:
    """A regex matching ``text`` literally, valid in Python's re and in Go's RE2 alike."""
    return "".join("\\" + char if char in ".^$*+?()[]{}|\\" else char for char in text)


def toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------------
# A spec as parts, so the overlays can be written against what it holds


class Unique:
    """Words that are unique in one spec and never a substring of each other (nor of the fixed names
    registered with ``reserve``), so a regex built from one hits only the lines meant."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.taken: list[str] = []

    def reserve(self, *words: str) -> None:
        self.taken.extend(words)

    def __call__(self, pool: list[str] | None = None) -> str:
        for attempt in range(1000):
            if pool and attempt < 20:
                word = self.rng.choice(pool)
            else:
                word = _word(self.rng)
                if len(word) < 5 or any(w in word or word in w for w in PROSE):
                    continue
            if not any(word in other or other in word for other in self.taken):
                self.taken.append(word)
                return word
        raise AssertionError("no unique word left")


@dataclass
class Subpackage:
    package: str  # as the headers write it: "devel", "python3-%{srcname}"
    header: str  # what follows "%package ": "devel", "-n python3-%{srcname}"
    summary: str
    tags: list[str]  # "Tag: value" lines beyond Summary
    requires: list[str]  # Requires values (overlays may target them)
    description: list[str]
    files: list[str]
    condition: str | None = None  # "%{with docs}": the three sections are wrapped in %if
    removable: bool = False  # no scriptlets, nothing requires it


@dataclass
class Spec:
    name: str
    ecosystem: str
    version: str
    release: int
    url: str
    summary: str
    license: str
    globals: list[tuple[str, str]] = field(default_factory=list)
    bconds: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    patches: list[tuple[str, str]] = field(default_factory=list)
    buildrequires: list[str] = field(default_factory=list)
    conditional_buildrequires: list[tuple[str, list[str]]] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    extra_tags: list[str] = field(default_factory=list)
    description: list[str] = field(default_factory=list)
    python_description: bool = False
    subpackages: list[Subpackage] = field(default_factory=list)
    main_files: list[str] | None = field(default_factory=list)
    prep: list[str] = field(default_factory=list)
    generate_buildrequires: list[str] | None = None
    build: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # the lines of %build holding one option each
    install: list[str] = field(default_factory=list)
    check: list[str] | None = None
    check_condition: str | None = None
    scriptlets: list[tuple[str, list[str]]] = field(default_factory=list)
    changelog: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # beside the spec (patches, small sources)
    autosetup: bool = True
    # what overlays may target, each used at most once
    pool_buildrequires: list[str] = field(default_factory=list)
    pool_requires: list[str] = field(default_factory=list)
    pool_globals: list[tuple[str, str]] = field(default_factory=list)
    pool_flags: list[str] = field(default_factory=list)
    pool_install: list[tuple[str, str, str]] = field(default_factory=list)  # (line, path, unique word)
    pool_prep: list[str] = field(default_factory=list)
    pool_files: list[tuple[str, str]] = field(default_factory=list)  # (package, unique word of a line)
    pool_check: list[str] = field(default_factory=list)
    pool_loose_files: list[str] = field(default_factory=list)  # small files, editable
    pool_colon_patches: list[tuple[str, str]] = field(default_factory=list)  # (tag, file name)
    fedora_only_patch: str | None = None
    service: bool = False

    def text(self) -> str:
        out: list[str] = []
        add = out.append
        for name, value in self.globals:
            add(f"%global {name} {value}")
        if self.python_description:
            add("")
            add("%global _description %{expand:")
            out.extend(self.description)
            add("}")
        if self.bconds:
            add("")
            out.extend(self.bconds)
        add("")
        add(f"Name:           {self.name}")
        add(f"Version:        {self.version}")
        add(f"Release:        {self.release}%{{?dist}}")
        add(f"Summary:        {self.summary}")
        add("")
        add(f"License:        {self.license}")
        add(f"URL:            {self.url}")
        for tag, value in self.sources:
            add(f"{tag + ':':<16}{value}")
        for tag, value in self.patches:
            add(f"{tag + ':':<16}{value}")
        add("")
        for value in self.buildrequires:
            add(f"BuildRequires:  {value}")
        for condition, values in self.conditional_buildrequires:
            add(f"%if {condition}")
            out.extend(f"BuildRequires:  {value}" for value in values)
            add("%endif")
        for value in self.requires:
            add(f"Requires:       {value}")
        out.extend(self.extra_tags)
        add("")
        add("%description %_description" if self.python_description else "%description")
        if not self.python_description:
            out.extend(self.description)
        add("")
        for sub in self.subpackages:
            if sub.condition:
                add(f"%if {sub.condition}")
            add(f"%package {sub.header}")
            add(f"Summary:        {sub.summary}")
            out.extend(sub.tags)
            out.extend(f"Requires:       {value}" for value in sub.requires)
            add("")
            if sub.description:
                add(f"%description {sub.header}")
                out.extend(sub.description)
            else:  # Fedora's Python idiom: the description is a macro
                add(f"%description {sub.header} %_description")
            if sub.condition:
                add("%endif")
            add("")
        if self.generate_buildrequires is not None:
            add("%generate_buildrequires")
            out.extend(self.generate_buildrequires)
            add("")
        add("%prep")
        out.extend(self.prep)
        add("")
        add("%build")
        out.extend(self.build)
        add("")
        add("%install")
        out.extend(self.install)
        add("")
        if self.check is not None:
            if self.check_condition:
                add(f"%if {self.check_condition}")
            add("%check")
            out.extend(self.check)
            if self.check_condition:
                add("%endif")
            add("")
        for header, body in self.scriptlets:
            add(header)
            out.extend(body)
            add("")
        if self.main_files is not None:
            add("%files")
            out.extend(self.main_files)
            add("")
        for sub in self.subpackages:
            if sub.condition:
                add(f"%if {sub.condition}")
            add(f"%files {sub.header}")
            out.extend(sub.files)
            if sub.condition:
                add("%endif")
            add("")
        add("%changelog")
        out.extend(self.changelog)
        return "\n".join(out) + "\n"


@dataclass
class Needs:
    """What a component's overlays require of its spec."""

    counts: Counter[str] = field(default_factory=Counter)
    check: bool = False
    rich: bool = False  # carries overlays: C-shaped, with devel/tools subpackages, a service

    def __getitem__(self, key: str) -> int:
        return self.counts[key]


def make_spec(name: str, rng: random.Random, target: int, needs: Needs) -> Spec:
    """A Fedora-shaped spec of about ``target`` bytes for ``name``."""
    unique = Unique(rng)
    unique.reserve(name)
    if needs.rich:
        ecosystem = "c"
    elif name.startswith("python-"):
        ecosystem = "python"
    elif name.startswith("perl-"):
        ecosystem = "perl"
    elif name.startswith(("rust-", "golang-")):
        ecosystem = "compiled"
    else:
        ecosystem = rng.choice(["c", "c", "cmake", "meson"])
    major = rng.randint(0, 12)
    version = f"{major}.{rng.randint(0, 40)}" + (f".{rng.randint(0, 15)}" if rng.random() < 0.7 else "")
    srcname = name.split("-", 1)[1] if ecosystem in ("python", "perl") else name
    unique.reserve(srcname)
    with_url_macro = rng.random() < 0.4
    url = f"https://github.com/{_word(rng)}/{srcname}" if rng.random() < 0.6 else f"https://{srcname}.example.org"
    spec = Spec(name=name, ecosystem=ecosystem, version=version, release=rng.randint(1, 12), url=url,
                summary=_sentence(rng, rng.randint(3, 8))[:-1], license=rng.choice(LICENSES))
    budget = target * rng.uniform(0.45, 0.75)  # the rest is %changelog

    # -- %global and %bcond --------------------------------------------------------------------------
    if ecosystem in ("python", "perl"):
        spec.globals.append(("srcname", srcname))
    for _ in range(rng.randint(0, 3) + needs["sr-global"]):
        key = unique(["so_version", "api_version", "major_version", "abi", "gittag", "snapdate", "pkgdir"])
        value = str(rng.randint(1, 40)) if rng.random() < 0.7 else f"{rng.randint(0, 9)}.{rng.randint(0, 99)}"
        spec.globals.append((key, value))
        spec.pool_globals.append((key, value))
    if rng.random() < 0.06 and not needs.rich:
        spec.globals.append(("commit", "".join(rng.choice("0123456789abcdef") for _ in range(40))))
        spec.globals.append(("shortcommit", "%(c=%{commit}; echo ${c:0:7})"))
    spec.python_description = ecosystem == "python"
    spec.description = _paragraph(rng, rng.randint(1, 4))
    has_docs = needs.rich or rng.random() < 0.4
    has_check = needs.check or rng.random() < 0.75
    if has_docs:
        spec.bconds.append("%bcond docs 1" if rng.random() < 0.5 else "%bcond_without docs")
    if has_check and rng.random() < 0.4:
        spec.bconds.append("%bcond check 1")
        spec.check_condition = "%{with check}"
    if rng.random() < 0.25:
        spec.bconds.append("%bcond_with static")

    # -- sources, patches and the small files beside the spec ----------------------------------------
    tarball = f"%{{name}}-%{{version}}.tar.{rng.choice(['gz', 'xz', 'bz2'])}"
    spec.sources.append(("Source0", f"%{{url}}/archive/v%{{version}}/{tarball}" if with_url_macro
                         else f"https://download.example.org/{srcname}/{tarball}"))
    extras: list[tuple[str, str]] = []
    loose_needed = needs["file-sr"] + needs["replace-file"]
    spec.service = needs.rich or rng.random() < 0.2
    if spec.service:
        extras.append((f"{name}.service", _service_file(name, rng)))
    if needs.rich or rng.random() < 0.15:
        extras.append((f"{name}.conf", _conf_file(name, rng)))
    if needs.rich or rng.random() < 0.08:
        extras.append((f"{name}.sysusers", f'u {name} - "{name} daemon" /var/lib/{name}\n'))
    while len(extras) < loose_needed + (1 if needs.rich else 0):
        extras.append((f"{name}-{unique()}.conf", _conf_file(name, rng)))
    for index, (file_name, content) in enumerate(extras, start=1):
        spec.sources.append((f"Source{index}", file_name.replace(name, "%{name}", 1)))
        spec.files[file_name] = content
        spec.pool_loose_files.append(file_name)
    patch_count = rng.choices([0, 1, 2, 3], [45, 30, 15, 10])[0]
    patch_count = max(patch_count, needs["rename-patch"] + needs["patch-remove"] + (1 if needs.rich else 0))
    spec.autosetup = needs.rich or rng.random() < 0.7
    for index in range(patch_count):
        if index < needs["rename-patch"]:
            file_name = f"{name}-{version}-{unique()}:{unique()}.patch"
            spec.pool_colon_patches.append((f"Patch{index}", file_name))
        elif index == needs["rename-patch"] and needs["patch-remove"]:
            file_name = f"{name}-{version}-fedora-only.patch"
            spec.fedora_only_patch = file_name
        else:
            file_name = f"{name}-{version}-{unique()}.patch"
        value = file_name if rng.random() < 0.5 else file_name.replace(f"{name}-{version}", "%{name}-%{version}", 1)
        spec.patches.append((f"Patch{index}", value))
        spec.files[file_name] = _patch_file(rng, unique)

    # -- dependencies ----------------------------------------------------------------------------------
    base = {"c": ["gcc", "make"], "cmake": ["gcc-c++", "cmake"], "meson": ["gcc", "meson"],
            "python": ["python3-devel"], "perl": ["perl-generators", "perl-interpreter", "perl(ExtUtils::MakeMaker)"],
            "compiled": ["gcc"]}[ecosystem]
    spec.buildrequires.extend(base)
    unique.reserve(*base)
    wanted = rng.randint(2, 6) + int(budget // 1500) + needs["sr-br"] + needs["remove-tag"]
    while len(spec.buildrequires) < wanted:
        if rng.random() < 0.5:
            value = unique(C_BUILDREQUIRES) if ecosystem != "perl" else f"perl({unique().title()}::{unique().title()})"
        else:
            value = f"pkgconfig({unique()})" if rng.random() < 0.6 else f"{unique()}-devel"
        spec.buildrequires.append(value)
    spec.pool_buildrequires = [v for v in spec.buildrequires if v not in base]
    if spec.service:
        spec.buildrequires.append("systemd-rpm-macros")
    if has_docs:
        spec.conditional_buildrequires.append(
            ("%{with docs}", ["doxygen" if "doxygen" not in spec.buildrequires else "graphviz-devel"])
        )
    for _ in range(rng.randint(0, 3) + needs["sr-requires"]):
        value = f"{unique()}{rng.choice(['', '-libs', '-common'])}"
        spec.requires.append(value)
        spec.pool_requires.append(value)
    if spec.service:
        spec.extra_tags.append("Requires(post): systemd")
        spec.extra_tags.append("Requires(preun): systemd")
    if rng.random() < 0.2:
        spec.extra_tags.append(f"Provides:       {srcname}-compat = %{{version}}-%{{release}}")

    # -- subpackages -----------------------------------------------------------------------------------
    _add_subpackages(spec, rng, unique, budget, needs, srcname, has_docs)

    # -- scripts -----------------------------------------------------------------------------------------
    _add_scripts(spec, rng, unique, budget, needs, srcname, has_check)

    # -- %changelog up to the target size --------------------------------------------------------------
    body = len(spec.text())
    day = date(2025, 10, 1) - timedelta(days=rng.randint(0, 120))
    release = spec.release
    fedora = 43
    entries: list[str] = []
    size = body
    while size < target or len(entries) < 2:
        who = rng.choice(PACKAGERS)
        evr = f"{version}-{release}" if release > 0 else f"{major}.{rng.randint(0, 40)}-1"
        lines = [f"* {day.strftime('%a %b %d %Y')} {who} - {evr}"]
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            change = rng.choice(CHANGES).format(
                f=fedora,
                v=version,
                bug=rng.randint(1000000, 2399999),
                gcc=rng.randint(10, 15),
                year=rng.randint(2018, 2025),
                cve=rng.randint(1000, 49999),
            )
            lines.append(f"- {change}")
        lines.append("")
        entries.extend(lines)
        size += sum(len(line) + 1 for line in lines)
        day -= timedelta(days=rng.randint(20, 200))
        release -= 1
        fedora = max(20, fedora - rng.choice((0, 1)))
    while entries and entries[-1] == "":
        entries.pop()
    spec.changelog = entries
    return spec


def _add_subpackages(spec: Spec, rng: random.Random, unique: Unique, budget: float, needs: Needs, srcname: str,
                     has_docs: bool) -> None:
    name = spec.name
    kinds: list[str] = []
    if spec.ecosystem == "python":
        spec.main_files = None  # only python3-<srcname> is built
        kinds.append("python3")
    elif spec.ecosystem == "perl":
        kinds.append("perl-tests" if rng.random() < 0.5 else "tools")
    if spec.ecosystem in ("c", "cmake", "meson") and (needs.rich or rng.random() < 0.7):
        kinds += ["libs", "devel"]
    if has_docs:
        kinds.append("doc")
    if needs.rich:
        kinds.append("tools")
    if any("static" in b for b in spec.bconds) and "devel" in kinds:
        kinds.append("static")
    removable_needed = needs["remove-subpackage"]
    extra = max(0, int((budget - 2500) // 1400)) + removable_needed + (1 if needs.rich else 0)
    kinds += ["plugin"] * min(extra, 14)
    for kind in kinds:
        summary = f"{_sentence(rng, rng.randint(2, 5))[:-1]} for %{{name}}"
        description = _paragraph(rng, rng.randint(1, 2))
        tags: list[str] = []
        requires: list[str] = []
        files: list[str] = []
        words: list[str] = []
        condition = None
        removable = False
        if kind == "python3":
            package = f"python3-{srcname}" if "%" in srcname else "python3-%{srcname}"
            header = f"-n {package}"
            description = []  # "%description -n ... %_description" below
            files = ["%license LICENSE", "%doc README.md", "%{python3_sitelib}/%{srcname}/",
                     "%{python3_sitelib}/%{srcname}-%{version}.dist-info/"]
            words = [unique() for _ in range(rng.randint(0, 3))]
            files += [f"%{{_bindir}}/{w}" for w in words]
        elif kind == "libs":
            package = header = "libs"
            files = ["%license COPYING", f"%{{_libdir}}/lib{name}.so.{rng.randint(0, 9)}{{,.*}}"]
            words = [unique() for _ in range(rng.randint(0, 2))]
            files += [f"%{{_libdir}}/lib{name}-{w}.so.*" for w in words]
        elif kind == "devel":
            package = header = "devel"
            requires = ["%{name}-libs%{?_isa} = %{version}-%{release}"]
            requires += [f"pkgconfig({unique()})" for _ in range(rng.randint(0, 2) + (1 if needs.rich else 0))]
            files = [f"%{{_includedir}}/{name}/", f"%{{_libdir}}/lib{name}.so", f"%{{_libdir}}/pkgconfig/{name}.pc"]
            words = [unique() for _ in range(rng.randint(0, 4))]
            files += [f"%{{_includedir}}/{name}/{w}.h" for w in words]
        elif kind == "doc":
            package = header = "doc"
            condition = "%{with docs}"
            tags = ["BuildArch:      noarch"]
            words = [unique()]
            files = ["%doc docs/html", f"%doc %{{_docdir}}/%{{name}}/{words[0]}/"]
            removable = True
        elif kind == "static":
            package = header = "static"
            condition = "%{with static}"
            requires = ["%{name}-devel%{?_isa} = %{version}-%{release}"]
            files = [f"%{{_libdir}}/lib{name}.a"]
        elif kind == "perl-tests":
            package = header = "tests"
            requires = ["perl-Test-Harness"]
            words = [unique() for _ in range(2)]
            files = [f"%{{_libexecdir}}/%{{name}}/{w}" for w in words]
            removable = True
        else:  # tools, plugin
            package = header = kind if kind == "tools" else f"plugin-{unique()}"
            requires = ["%{name}%{?_isa} = %{version}-%{release}"]
            words = [unique() for _ in range(rng.randint(2, 6) + int(budget // 6000))]
            files = [_file_line(rng, w) for w in words]
            removable = True
        sub = Subpackage(package, header, summary, tags, requires, description, files, condition, removable)
        spec.subpackages.append(sub)
        spec.pool_files += [(package, w) for w in words]
    if spec.main_files is not None:
        files = ["%license COPYING", "%doc README.md NEWS"]
        if spec.ecosystem == "perl":
            files += ["%{perl_vendorlib}/*", "%{_mandir}/man3/*.3*"]
        else:
            files += [f"%{{_bindir}}/{name}", f"%{{_mandir}}/man1/{name}.1*"]
        words = [unique() for _ in range(rng.randint(1, 4) + int(budget // 4000))]
        files += [_file_line(rng, w) for w in words]
        if spec.service:
            files += ["%{_unitdir}/%{name}.service", "%dir %{_sysconfdir}/%{name}"]
        if f"{name}.conf" in spec.files:
            files.append("%config(noreplace) %{_sysconfdir}/%{name}/%{name}.conf")
        spec.main_files = files
        spec.pool_files += [("", w) for w in words]


def _file_line(rng: random.Random, word: str) -> str:
    return rng.choice([f"%{{_bindir}}/{word}", f"%{{_datadir}}/%{{name}}/{word}/", f"%{{_libexecdir}}/%{{name}}/{word}",
                       f"%{{_mandir}}/man8/{word}.8*", f"%{{_libdir}}/%{{name}}/{word}.so",
                       f"%config(noreplace) %{{_sysconfdir}}/%{{name}}/{word}.conf"])


def _add_scripts(spec: Spec, rng: random.Random, unique: Unique, budget: float, needs: Needs, srcname: str,
                 has_check: bool) -> None:
    eco = spec.ecosystem
    # %prep
    if spec.autosetup:
        spec.prep.append("%autosetup -p1" + (f" -n {srcname}-%{{version}}" if eco in ("python", "perl") else ""))
    else:
        spec.prep.append("%setup -q")
        spec.prep += [f"%patch -P{tag[5:]} -p1" for tag, _ in spec.patches]
    for _ in range(rng.randint(0, 2) + needs["sr-prep"] + (1 if needs.rich else 0)):
        word = unique()
        line = rng.choice([f"rm -rf bundled/{word}", f"sed -i 's/-Werror//' src/{word}/Makefile.am",
                           f"sed -i 's|/usr/bin/env python|%{{python3}}|' scripts/{word}.py",
                           f"chmod -x examples/{word}.c", f"cp -p %{{SOURCE0}} {word}.orig"])
        spec.prep.append(line)
        spec.pool_prep.append(line)
    if eco == "python":
        spec.generate_buildrequires = ["%pyproject_buildrequires" + (" -t" if has_check else "")]
    # %build: one option per line, the way long configure calls are written
    option_count = rng.randint(1, 4) + int(budget // 2500) + needs["sr-flag"] + needs["sr-build"]
    if eco in ("c", "cmake", "meson"):
        opener = {"c": "%configure \\", "cmake": "%cmake \\", "meson": "%meson \\"}[eco]
        spec.build.append(opener)
        for index in range(option_count):
            feature = unique(FEATURES)
            option = {"c": rng.choice([f"--enable-{feature}", f"--disable-{feature}", f"--with-{feature}",
                                       f"--without-{feature}"]),
                      "cmake": f"-DENABLE_{feature.upper()}={rng.choice(['ON', 'OFF'])}",
                      "meson": f"-D{feature}={rng.choice(['enabled', 'disabled', 'true', 'false'])}"}[eco]
            line = f"    {option}" + (" \\" if index < option_count - 1 else "")
            spec.build.append(line)
            spec.flags.append(line)
            spec.pool_flags.append(option)
        spec.build.append({"c": "%make_build", "cmake": "%cmake_build", "meson": "%meson_build"}[eco])
    elif eco == "python":
        spec.build.append("%pyproject_wheel")
    elif eco == "perl":
        spec.build.append("perl Makefile.PL INSTALLDIRS=vendor NO_PACKLIST=1 NO_PERLLOCAL=1")
        spec.build.append("%{make_build}")
    else:
        spec.build.append("export CFLAGS=\"%{optflags} -fno-strict-aliasing\"")
        spec.build.append("%{__make} %{?_smp_mflags} all")
    if rng.random() < 0.3:
        spec.build.append("%if %{with docs}" if any("docs" in b for b in spec.bconds) else "%if 0%{?fedora}")
        spec.build.append(f"%make_build -C doc {unique()}")
        spec.build.append("%endif")
    # %install
    spec.install.append({"c": "%make_install", "cmake": "%cmake_install", "meson": "%meson_install",
                         "python": "%pyproject_install", "perl": "%{make_install}",
                         "compiled": "%make_install DESTDIR=%{buildroot}"}[eco])
    if eco == "python":
        spec.install.append("%pyproject_save_files -l %{srcname}")
    if eco in ("c", "cmake"):
        spec.install.append("find %{buildroot} -type f -name '*.la' -delete")
    for file_name in spec.files:
        if file_name.endswith(".service"):
            spec.install.append("install -D -p -m 0644 %{SOURCE1} %{buildroot}%{_unitdir}/%{name}.service")
    line_count = rng.randint(1, 3) + int(budget // 2000) + needs["sr-path"] + needs["sr-install"]
    for _ in range(line_count):
        word = unique()
        path = rng.choice([f"%{{_sysconfdir}}/%{{name}}/{word}.d", f"%{{_localstatedir}}/lib/%{{name}}/{word}",
                           f"%{{_datadir}}/%{{name}}/{word}", f"%{{_docdir}}/%{{name}}/{word}"])
        line = rng.choice([f"mkdir -p %{{buildroot}}{path}", f"install -d -m 0755 %{{buildroot}}{path}",
                           f"rm -rf %{{buildroot}}{path}", f"touch %{{buildroot}}{path}/.keep"])
        spec.install.append(line)
        spec.pool_install.append((line, path, word))
    if rng.random() < 0.3:
        spec.install.append("%find_lang %{name}")
    # %check
    if has_check:
        spec.check = []
        for _ in range(1 + needs["sr-check"]):
            word = unique()
            line = {"python": f"%pytest -v -k \"not test_{word}\"", "perl": f"make test TEST_FILES=t/{word}.t",
                    "meson": f"%meson_test --suite {word}", "cmake": f"%ctest -E {word}"}.get(
                eco, f"make check TESTS={word} %{{?_smp_mflags}}")
            spec.check.append(line)
            spec.pool_check.append(line)
    # scriptlets
    if spec.service:
        spec.scriptlets.append(("%post", ["%systemd_post %{name}.service"]))
        spec.scriptlets.append(("%preun", ["%systemd_preun %{name}.service"]))
        spec.scriptlets.append(("%postun", ["%systemd_postun_with_restart %{name}.service"]))


def _service_file(name: str, rng: random.Random) -> str:
    return (f"[Unit]\nDescription={name} daemon\nAfter=network-online.target\nWants=network-online.target\n\n"
            f"[Service]\nType={rng.choice(['simple', 'notify', 'forking'])}\nExecStart=/usr/bin/{name} --foreground\n"
            f"Restart=on-failure\nRestartSec={rng.randint(1, 30)}\n\n[Install]\nWantedBy=multi-user.target\n")


def _conf_file(name: str, rng: random.Random) -> str:
    return (
        f"# Configuration for {name}\n# See {name}.conf(5).\n\nLogLevel=info\nMaxConnections={rng.randint(8, 512)}\n"
        f"DataDir=/var/lib/{name}\nVendor=fedora\n"
    )


def _patch_file(rng: random.Random, unique: Unique) -> str:
    path = f"src/{_word(rng)}.c"
    out = [f"From {''.join(rng.choice('0123456789abcdef') for _ in range(40))} Mon Sep 17 00:00:00 2001",
           f"From: {rng.choice(PACKAGERS)}", "Date: Tue, 4 Mar 2025 10:00:00 +0100",
           f"Subject: [PATCH] {_sentence(rng, rng.randint(4, 9))[:-1]}", "", "---",
           f" {path} | 4 ++--", " 1 file changed, 2 insertions(+), 2 deletions(-)", "",
           f"diff --git a/{path} b/{path}", "index 3b18e51..a1f2c7d 100644", f"--- a/{path}", f"+++ b/{path}"]
    for hunk in range(rng.randint(1, 8)):
        line = rng.randint(10, 900) + hunk * 1000
        out.append(f"@@ -{line},7 +{line},7 @@")
        out += [f" \t{_word(rng)}({_word(rng)}, {rng.randint(0, 64)});" for _ in range(3)]
        out.append(f"-\tif ({_word(rng)} == NULL)")
        out.append(f"+\tif ({_word(rng)} == NULL || {_word(rng)} < 0)")
        out += [f" \t\treturn -{rng.choice(['EINVAL', 'ENOMEM', 'EIO'])};" for _ in range(3)]
    return "\n".join(out) + "\n-- \n2.47.1\n"


# ---------------------------------------------------------------------------------------------------
# Overlays written against a generated spec


class Claim:
    """Hands out each target of a spec once, so no overlay undoes what another one needs."""

    def __init__(self, spec: Spec, rng: random.Random) -> None:
        self.spec = spec
        self.rng = rng
        self.removed: set[str] = set()
        self.tags_updated: set[tuple[str, str]] = set()
        self.requires_taken: set[tuple[str, str]] = set()
        self.counter = 0

    def take(self, pool: list[Any], what: str) -> Any:
        if not pool:
            raise AssertionError(f"{self.spec.name}: no {what} left for an overlay")
        return pool.pop(self.rng.randrange(len(pool)))

    def fresh(self) -> str:
        self.counter += 1
        return f"azl{self.counter}"

    def packages(self) -> list[str]:
        return [s.package for s in self.spec.subpackages if s.package not in self.removed]

    def requires(self) -> list[tuple[str, str]]:
        """(package, value) of subpackage Requires no overlay has taken yet."""
        return [(s.package, v) for s in self.spec.subpackages if s.package not in self.removed
                for v in s.requires if (s.package, v) not in self.requires_taken]


def make_overlays(spec: Spec, kinds: list[str], rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The overlays of ``kinds`` for ``spec``, and the files they add (relative to the component)."""
    claim = Claim(spec, rng)
    overlays: list[dict[str, Any]] = []
    added: dict[str, str] = {}
    # Removals first in the plan so later overlays know which subpackages are gone; they are applied in
    # the order written, which is the order of ``kinds`` (shuffled by the caller).
    for kind in kinds:
        if kind == "remove-subpackage":
            candidates = [s for s in spec.subpackages if s.removable and s.package not in claim.removed]
            claim.removed.add(claim.take(candidates, "removable subpackage").package)
    removal_queue = sorted(claim.removed)
    name = spec.name

    def describe(text: str) -> dict[str, str]:
        return {"description": text} if rng.random() < 0.84 else {}

    for kind in kinds:
        if kind == "sr-br":
            value = claim.take(spec.pool_buildrequires, "BuildRequires")
            anchored = rng.random() < 0.3
            regex = (
                f"^BuildRequires:\\s+{regex_escape(value)}$" if anchored else f"BuildRequires:\\s+{regex_escape(value)}"
            )
            new = value.replace("(", "(azl-", 1) if "(" in value else f"azl-{value}"
            overlays.append({"type": "spec-search-replace", "regex": regex, "replacement": f"BuildRequires:  {new}",
                             **describe(f"Azure Linux ships {value} as {new}")})
        elif kind == "sr-global":
            key, value = claim.take(spec.pool_globals, "%global")
            overlays.append({"type": "spec-search-replace", "regex": f"^%global {key} {regex_escape(value)}$",
                             "replacement": f"%global {key} {value}0", **describe(f"different {key}")})
        elif kind == "sr-requires":
            value = claim.take(spec.pool_requires, "Requires")
            overlays.append({"type": "spec-search-replace", "regex": f"Requires:(\\s+){regex_escape(value)}$",
                             "replacement": f"Requires:       {value}-azl", **describe("renamed dependency")})
        elif kind in ("sr-flag", "sr-build"):
            option = claim.take(spec.pool_flags, "build option")
            delete = rng.random() < 0.3
            new = "" if delete else _flipped(option)
            regex = regex_escape(option) + ("\\s*" if delete else "")
            overlay = {"type": "spec-search-replace", "regex": regex, "replacement": new,
                       **describe(f"drop {option}" if delete else f"{new} instead of {option}")}
            if kind == "sr-build":
                overlay["section"] = "%build"
            overlays.append(overlay)
        elif kind == "sr-path":
            _, path, _ = claim.take(spec.pool_install, "install line")
            overlays.append({"type": "spec-search-replace", "regex": regex_escape(path),
                             "replacement": path + "-azl", **describe("different location")})
        elif kind == "sr-install":
            line, _, word = claim.take(spec.pool_install, "install line")
            if rng.random() < 0.3:
                overlays.append({"type": "spec-search-replace", "section": "%install",
                                 "regex": f"^{regex_escape(line)}$", "replacement": "", **describe("not needed")})
            else:
                overlays.append(
                    {
                        "type": "spec-search-replace",
                        "section": "%install",
                        "regex": regex_escape("/" + word),
                        "replacement": f"/{word}-azl",
                        **describe("different location"),
                    }
                )
        elif kind == "sr-files":
            candidates = [(p, w) for p, w in spec.pool_files if p not in claim.removed]
            package, word = claim.take(candidates, "%files line")
            spec.pool_files.remove((package, word))
            overlay = {"type": "spec-search-replace", "section": "%files", "regex": regex_escape(word),
                       "replacement": f"{word}-azl", **describe("follow the renamed file")}
            if package:
                overlay["package"] = package
            overlays.append(overlay)
        elif kind == "sr-prep":
            line = claim.take(spec.pool_prep, "%prep line")
            overlays.append({"type": "spec-search-replace", "section": "%prep", "regex": f"^{regex_escape(line)}$",
                             "replacement": line + " || :", **describe("tolerate a missing path")})
        elif kind == "sr-check":
            line = claim.take(spec.pool_check, "%check line")
            overlays.append({"type": "spec-search-replace", "section": "%check", "regex": f"^{regex_escape(line)}$",
                             "replacement": line + " || :", **describe("flaky in the build chroot")})
        elif kind == "sr-post":
            overlays.append({"type": "spec-search-replace", "section": "%post", "regex": "^%systemd_post ",
                             "replacement": "%systemd_post_azl ", **describe("Azure Linux preset handling")})
        elif kind == "add-tag":
            packages = claim.packages()
            if packages and rng.random() < 0.35:
                package = rng.choice(packages)
                overlays.append({"type": "spec-add-tag", "package": package, "tag": "Requires",
                                 "value": f"azurelinux-{claim.fresh()}", **describe("runtime dependency")})
            else:
                tag, value = rng.choice(
                    [
                        ("Provides", f"{name}-compat = %{{version}}-%{{release}}"),
                        ("BuildRequires", "azurelinux-rpm-config"),
                        ("Obsoletes", f"{name}-legacy < %{{version}}"),
                        ("Requires", f"azurelinux-{claim.fresh()}"),
                    ]
                )
                overlays.append(
                    {"type": "spec-add-tag", "tag": tag, "value": value, **describe(f"{tag} for Azure Linux")}
                )
        elif kind in ("add-source", "insert-source"):
            file_name = f"{name}-{claim.fresh()}.conf"
            added[f"azl/{file_name}"] = f"# Azure Linux settings for {name}\nEnabled=yes\n"
            overlays.append({"type": "file-add", "file": file_name, "source": f"azl/{file_name}",
                             **describe("Azure Linux configuration")})
            number = 50 + claim.counter if kind == "add-source" else 100 + claim.counter
            overlays.append({"type": "spec-add-tag" if kind == "add-source" else "spec-insert-tag",
                             "tag": f"Source{number}", "value": file_name, **describe("ship it")})
        elif kind == "replace-file":
            file_name = claim.take(spec.pool_loose_files, "loose file")
            added[f"azl/{file_name}"] = f"# Azure Linux's own {file_name}\n"
            overlays.append({"type": "file-remove", "file": file_name, **describe("replaced below")})
            overlays.append({"type": "file-add", "file": file_name, "source": f"azl/{file_name}",
                             **describe("Azure Linux's version")})
        elif kind == "append":
            section, package, lines = _append_target(spec, claim, rng)
            overlay = {
                "type": "spec-append-lines",
                "section": section,
                "lines": lines,
                **describe("Azure Linux addition"),
            }
            if package:
                overlay["package"] = package
            overlays.append(overlay)
        elif kind == "remove-tag":
            candidates = claim.requires()
            if candidates and rng.random() < 0.33:
                package, value = rng.choice(candidates)
                claim.requires_taken.add((package, value))
                overlays.append({"type": "spec-remove-tag", "package": package, "tag": "Requires", "value": value,
                                 **describe("not in Azure Linux")})
            else:
                value = claim.take(spec.pool_buildrequires, "BuildRequires")
                overlays.append({"type": "spec-remove-tag", "tag": "BuildRequires", "value": value,
                                 **describe("not in Azure Linux")})
        elif kind == "update-tag":
            choices = [("", t) for t in ("Release", "URL", "Summary", "License")]
            choices += [(p, "Summary") for p in claim.packages()]
            choices = [c for c in choices if c not in claim.tags_updated]
            package, tag = claim.take(choices, "tag to update")
            claim.tags_updated.add((package, tag))
            value = {"Release": f"{spec.release + 1}%{{?dist}}", "URL": f"https://mirror.azurelinux.invalid/{name}",
                     "Summary": f"{spec.summary} (Azure Linux)", "License": "MIT"}[tag]
            overlay = {"type": "spec-update-tag", "tag": tag, "value": value, **describe(f"Azure Linux {tag}")}
            if package:
                overlay["package"] = package
            overlays.append(overlay)
        elif kind == "rename-patch":
            tag, file_name = claim.take(spec.pool_colon_patches, "patch to rename")
            new = file_name.replace(":", "-")
            overlays.append({"type": "file-rename", "file": file_name, "replacement": new,
                             **describe("no ':' in file names")})
            overlays.append({"type": "spec-update-tag", "tag": tag, "value": new, **describe("follow the rename")})
        elif kind == "remove-subpackage":
            package = removal_queue.pop()
            for section in ("%package", "%description", "%files"):
                overlays.append({"type": "spec-remove-section", "section": section, "package": package,
                                 **describe(f"no {package} subpackage in Azure Linux")})
        elif kind == "file-sr":
            file_name = claim.take(spec.pool_loose_files, "loose file")
            text = spec.files[file_name]
            if file_name.endswith(".service"):
                regex, replacement = "Restart=on-failure", "Restart=always"
            elif "Vendor=fedora" in text:
                regex, replacement = "Vendor=fedora", "Vendor=azurelinux"
            else:
                regex, replacement = "(?m)^u ", "u! "
            overlays.append({"type": "file-search-replace", "file": file_name, "regex": regex,
                             "replacement": replacement, **describe("Azure Linux default")})
        elif kind == "patch-add":
            file_name = f"{name}-{claim.fresh()}.patch"
            added[f"azl/{file_name}"] = _patch_file(rng, Unique(rng))
            overlays.append({"type": "patch-add", "source": f"azl/{file_name}", **describe("Azure Linux fix")})
        elif kind == "prepend":
            section = rng.choice(
                ["%build", "%build", "%install", "%prep"] + (["%check"] if spec.check is not None else [])
            )
            overlays.append(
                {
                    "type": "spec-prepend-lines",
                    "section": section,
                    "lines": [
                        'export CFLAGS="%{optflags} -std=gnu17"'
                        if section == "%build"
                        else f"# Azure Linux: {claim.fresh()}"
                    ],
                    **describe("build fix"),
                }
            )
        elif kind == "set-tag":
            tag = "Vendor" if not any(o.get("tag") == "Vendor" for o in overlays) else "Distribution"
            overlays.append({"type": "spec-set-tag", "tag": tag, "value": "Microsoft Corporation" if tag == "Vendor"
                             else "Azure Linux", **describe(f"{tag} of Azure Linux")})
        elif kind == "patch-remove":
            assert spec.fedora_only_patch
            overlays.append({"type": "patch-remove", "file": "*-fedora-only.patch", **describe("Fedora-only change")})
        else:  # pragma: no cover - BUNDLES and this function disagree
            raise AssertionError(kind)
    return overlays, added


def _flipped(option: str) -> str:
    """The opposite setting of a configure/cmake/meson option."""
    for old, new in (("--enable-", "--disable-"), ("--disable-", "--enable-"), ("--without-", "--with-"),
                     ("--with-", "--without-"), ("=ON", "=OFF"), ("=OFF", "=ON"), ("=enabled", "=disabled"),
                     ("=disabled", "=enabled"), ("=true", "=false"), ("=false", "=true")):
        if old in option:
            return option.replace(old, new, 1)
    return option + "-azl"


def _append_target(spec: Spec, claim: Claim, rng: random.Random) -> tuple[str, str, list[str]]:
    choice = rng.choice(["%install"] * 7 + ["%files"] * 5 + ["%prep"] * 2 + ["%build"] * 2
                        + (["%check"] if spec.check is not None else []))
    if choice == "%files":
        packages = [p for p in claim.packages() if p == "devel"]
        if packages and rng.random() < 0.3:
            return "%files", "devel", [f"%{{_includedir}}/{spec.name}/{claim.fresh()}.h"]
        if spec.main_files is None:
            return "%install", "", [f"rm -f %{{buildroot}}%{{_bindir}}/{claim.fresh()}"]
        return "%files", "", [f"%{{_datadir}}/%{{name}}/{claim.fresh()}.conf"]
    if choice == "%install":
        return "%install", "", [f"rm -f %{{buildroot}}%{{_libdir}}/lib{claim.fresh()}.a"]
    return choice, "", [f"# Azure Linux: {claim.fresh()}"]


# ---------------------------------------------------------------------------------------------------
# The distribution


@dataclass
class Plan:
    names: list[str]
    overlay_kinds: dict[str, list[str]]  # component -> bundle kinds
    build_options: dict[str, dict[str, Any]]
    check_skip_own: list[str]
    check_skip_group: list[str]


def plan_distribution(count: int, rng: random.Random) -> Plan:
    names = make_names(count, rng)
    scale = count / AZURE_COMPONENTS
    bundles: list[str] = []
    for kind, (full, _) in BUNDLES.items():
        bundles += [kind] * max(1, round(full * scale))
    total = sum(len(BUNDLES[k][1]) for k in bundles)
    components = max(4, round(AZURE_OVERLAY_COMPONENTS * scale))
    sizes = _overlay_counts(components, total)
    chosen = rng.sample(names, components)
    # Bundles of 2 and 3 overlays go where there is most room; single overlays fill what is left.
    room = list(sizes)
    kinds: dict[int, list[str]] = {i: [] for i in range(components)}
    rng.shuffle(bundles)
    for kind in sorted(bundles, key=lambda k: -len(BUNDLES[k][1])):
        slot = max(range(components), key=lambda i: room[i]) if len(BUNDLES[kind][1]) > 1 else \
            next((i for i in range(components) if room[i] > 0), None)
        if slot is None:
            slot = min(range(components), key=lambda i: len(kinds[i]))
        kinds[slot].append(kind)
        room[slot] -= len(BUNDLES[kind][1])
    overlay_kinds = {chosen[i]: k for i, k in kinds.items() if k}
    for kinds_of_one in overlay_kinds.values():
        rng.shuffle(kinds_of_one)
    # build options: half on components with overlays, half on components with a file for them only
    others = [n for n in names if n not in overlay_kinds]
    with_options = max(2, round(BUILD_OPTION_COMPONENTS * scale))
    targets = rng.sample(list(overlay_kinds), min(len(overlay_kinds), with_options // 2)) + rng.sample(
        others, with_options - with_options // 2
    )
    build_options: dict[str, dict[str, Any]] = {}
    for index, name in enumerate(targets):
        if index % 10 == 0:
            build_options[name] = {"with": ["static"]}
        elif index % 4 == 1:
            build_options[name] = {"defines": {"azurelinux_version": "4", "with_va": "0"}}
        else:
            build_options[name] = {"without": ["docs"]}
    rest = [n for n in others if n not in build_options]
    check_own = rng.sample(rest, max(1, round(CHECK_SKIP_OWN * scale)))
    rest = [n for n in rest if n not in check_own]
    check_group = rng.sample(rest, max(1, round(CHECK_SKIP_GROUP * scale)))
    return Plan(names, overlay_kinds, build_options, check_own, check_group)


def _overlay_counts(components: int, total: int) -> list[int]:
    """Overlays per component in Azure Linux's shape: half carry one, a quarter two, two carry up to 17,
    the rest share what is left."""
    ones = round(components * 49 / 97)
    twos = round(components * 26 / 97)
    rest = components - ones - twos
    left = total - ones - 2 * twos
    if rest <= 0 or left < 3 * rest:
        base, extra = divmod(total, components)
        return [base + (1 if i < extra else 0) for i in range(components)]
    heavy = [min(17, left // 4) for _ in range(min(2, rest))]
    left -= sum(heavy)
    others = rest - len(heavy)
    if others == 0:
        heavy[0] += left
        return [1] * ones + [2] * twos + heavy
    base, extra = divmod(left, others)
    return [1] * ones + [2] * twos + heavy + [base + (1 if i < extra else 0) for i in range(others)]


def spec_target_size(rng: random.Random) -> int:
    """Spec size in bytes: log-normal around 8 KB, kept within 2-40 KB."""
    return int(min(40_000, max(2_000, rng.lognormvariate(math.log(8_000), 0.65))))


def generate(root: Path, count: int) -> dict[str, Any]:
    """Write the synthetic distribution; return what it holds."""
    rng = random.Random(SEED)
    plan = plan_distribution(count, rng)
    comps = root / "base/comps"
    comps.mkdir(parents=True)
    (root / "azldev.toml").write_text(
        'includes = ["distro/azurelinux.distro.toml", "base/comps/components.toml"]\n'
        '[project]\ndescription = "synthetic distribution for benchmarks/render_scale.py"\n'
        'default-distro = { name = "azurelinux", version = "4.0" }\n'
    )
    (root / "distro").mkdir()
    (root / "distro/azurelinux.distro.toml").write_text(
        '[distros.azurelinux]\ndefault-version = "4.0"\n[distros.azurelinux.versions."4.0"]\nrelease-ver = "4.0"\n'
    )
    (comps / "components.toml").write_text(
        'includes = ["**/*.comp.toml", "component-check-disablement.toml"]\n\n'
        "# Every <name>/<name>.spec below this directory is a component with a local spec.\n"
        '[component-groups.local-specs]\ndescription = "components whose spec lives in this repository"\n'
        'specs = ["**/*.spec"]\n'
    )
    (comps / "component-check-disablement.toml").write_text(
        '[component-groups.check-skip]\ndescription = "test suites that fail in the build chroot"\ncomponents = [\n'
        + "".join(f'  "{name}",\n' for name in sorted(plan.check_skip_group))
        + ']\ndefault-component-config.build.check = { skip = true, skip_reason = "fails in the build chroot" }\n'
    )
    needs_check = set(plan.check_skip_own) | set(plan.check_skip_group)
    sizes: list[int] = []
    overlay_types: Counter[str] = Counter()
    files = 0
    for name in plan.names:
        crng = random.Random(f"{SEED}:{name}")
        kinds = plan.overlay_kinds.get(name, [])
        needs = Needs(Counter(kinds), check=name in needs_check or "sr-check" in kinds, rich=bool(kinds))
        spec = make_spec(name, crng, spec_target_size(crng), needs)
        text = spec.text()
        overlays, added = make_overlays(spec, kinds, crng) if kinds else ([], {})
        directory = comps / name
        directory.mkdir()
        (directory / f"{name}.spec").write_text(text)
        sizes.append(len(text.encode()))
        for relative, content in {**spec.files, **added}.items():
            path = directory / relative
            path.parent.mkdir(exist_ok=True)
            path.write_text(content)
        files += 1 + len(spec.files) + len(added)
        options = plan.build_options.get(name)
        if overlays or options or name in plan.check_skip_own:
            overlay_types.update(o["type"] for o in overlays)
            (directory / f"{name}.comp.toml").write_text(
                component_toml(name, overlays, options, name in plan.check_skip_own)
            )
            files += 1
    sizes.sort()
    return {
        "components": len(plan.names),
        "overlay_components": len(plan.overlay_kinds),
        "overlays": sum(overlay_types.values()),
        "overlay_types": dict(overlay_types.most_common()),
        "build_option_components": len(plan.build_options),
        "check_skip_components": len(plan.check_skip_own) + len(plan.check_skip_group),
        "files": files,
        "spec_bytes_total": sum(sizes),
        "spec_kb": {"min": round(sizes[0] / 1024, 1), "median": round(statistics.median(sizes) / 1024, 1),
                    "max": round(sizes[-1] / 1024, 1)},
    }


def component_toml(name: str, overlays: list[dict[str, Any]], options: dict[str, Any] | None, check_skip: bool,
                   *, local: bool = True) -> str:
    """A component's TOML: its local spec (unless ``local`` is false: the distro's default spec then
    applies), release calculation, build options and overlays."""
    out = [f"[components.{toml_string(name)}]"]
    if local:
        out.append(f'spec = {{ type = "local", path = "{name}.spec", reason = "synthetic benchmark component" }}')
    if overlays and any(o["type"] == "spec-update-tag" and o["tag"] == "Release" for o in overlays):
        out.append('release = { calculation = "manual" }')
    build: list[str] = []
    if options:
        for key, value in options.items():
            if isinstance(value, dict):
                build.append(f"{key} = {{ " + ", ".join(f"{k} = {toml_string(v)}" for k, v in value.items()) + " }")
            else:
                build.append(f"{key} = [" + ", ".join(toml_string(v) for v in value) + "]")
    if check_skip:
        build.append('check = { skip = true, skip_reason = "needs network access" }')
    if build:
        out.append("build = { " + ", ".join(build) + " }")
    for overlay in overlays:
        out.append("")
        out.append(f"[[components.{toml_string(name)}.overlays]]")
        for key, value in overlay.items():
            if isinstance(value, list):
                out.append(f"{key} = [" + ", ".join(toml_string(v) for v in value) + "]")
            else:
                out.append(f"{key} = {toml_string(value)}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------------
# Measurements


def render_all(project: Any, names: list[str], jobs: int) -> tuple[float, list[Any]]:
    seconds, outcomes = timed(lambda: render_many(project, names, jobs=jobs))
    failed = [o for o in outcomes if o.status != "ok"]
    if failed or len(outcomes) != len(names):
        for outcome in failed[:10]:
            print(f"render failed: {outcome.component}: {outcome.error}", file=sys.stderr)
        raise SystemExit(f"{len(failed)} of {len(names)} components failed to render (first ones above)")
    return seconds, outcomes


def tributary_parse(texts: list[str]) -> None:
    for text in texts:
        str(parse(text))


def tributary_parse_structured(texts: list[str]) -> None:
    """Parse and also build what overlays use: sections, every tag, the conditional nesting."""
    for text in texts:
        document = parse(text)
        _ = document.sections, list(document.all_tags()), document.conditionals
        str(document)


def specfile_parse(items: list[tuple[str, Path]]) -> None:
    """specfile's parse + serialise: the constructor reads the lines and parses them through rpm (two
    ``rpm.spec`` passes, macros expanded); ``str`` joins the lines again."""
    from specfile import Specfile

    for text, sourcedir in items:
        str(Specfile(content=text, sourcedir=sourcedir))


def specfile_parse_structured(items: list[tuple[str, Path]]) -> None:
    """As above, plus specfile's own lossless model: sections and the preamble's tags (written back
    into the lines when each context manager exits)."""
    from specfile import Specfile

    for text, sourcedir in items:
        spec = Specfile(content=text, sourcedir=sourcedir)
        with spec.sections() as sections:
            len(sections)
        with spec.tags() as tags:
            len(tags)
        str(spec)


def check_specfile_round_trip(items: list[tuple[str, Path]]) -> None:
    """Every sampled spec must parse with specfile (so rpm accepts it) and come back byte for byte."""
    from specfile import Specfile
    from specfile.exceptions import SpecfileException

    for text, sourcedir in items:
        try:
            out = str(Specfile(content=text, sourcedir=sourcedir))
        except SpecfileException as error:
            raise SystemExit(f"specfile cannot parse {sourcedir}: {error}") from None
        if out != text:
            raise SystemExit(f"specfile does not reproduce {sourcedir} byte for byte")


def profile_render(project: Any, names: list[str], top: int) -> str:
    """The full render and then the no-op re-render, each in this process (jobs=1) under cProfile:
    the top functions by own time and by cumulative time, as text."""
    stream = io.StringIO()
    for label in ("full render", "no-op re-render"):
        profiler = cProfile.Profile()
        profiler.enable()
        render_many(project, names, jobs=1)
        profiler.disable()
        stream.write(f"==== {label}, {len(names)} components, jobs=1 ====\n")
        stats = pstats.Stats(profiler, stream=stream)
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
    return stream.getvalue()


def check_cost(project: Any, names: list[str]) -> dict[str, Any]:
    """The render check's share of a full render (issue 18: at most 20% over the render without it),
    measured in this process (jobs=1) so both figures come from the same interval of a shared machine:
    every ``verify_render`` call is timed inside one full render; the render without the check is the
    rest. Also how many components got rpm's parse (those whose overlays or build options change the
    spec) and how many warnings the check gave."""
    import time

    from tributary.render import render as render_module

    checked = render_module.verify_render
    spent = [0.0]

    def timed_check(*args: Any, **kwargs: Any) -> list[str]:
        start = time.perf_counter()
        try:
            return checked(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    render_module.verify_render = timed_check  # type: ignore[assignment]
    try:
        total, outcomes = timed(lambda: render_many(project, names, jobs=1, force=True))
    finally:
        render_module.verify_render = checked
    failed = [o for o in outcomes if o.status != "ok"]
    if failed:
        raise SystemExit(f"{len(failed)} components failed to render, e.g. {failed[0].component}: {failed[0].error}")
    without = total - spent[0]
    return {"render_with_check_s": round(total, 2), "check_s": round(spent[0], 2),
            "render_without_check_s": round(without, 2), "check_overhead_pct": round(100 * spent[0] / without, 1),
            "check_warnings": sum(len(o.warnings) for o in outcomes)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--components", type=int, default=AZURE_COMPONENTS, help="distribution size (default %(default)s)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="render processes (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each parse measurement (median reported)")
    parser.add_argument(
        "--specfile-sample", type=int, default=300, help="specs parsed by specfile (default %(default)s)"
    )
    parser.add_argument("--keep", type=Path, help="write the tree here and keep it")
    parser.add_argument("--no-git", action="store_true", help="leave the tree out of git (by default it is one commit)")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="instead of measuring, render and re-render in-process under cProfile; print the top N functions",
    )
    parser.add_argument(
        "--check-cost",
        action="store_true",
        help="instead of measuring, one full render in-process (jobs=1) with the render check timed apart",
    )
    args = parser.parse_args()
    commit = tributary_commit()  # now: the code this process imports, even if HEAD moves during the run
    load_average = os.getloadavg()[0]  # other work on the machine inflates every figure
    with scratch_dir(args.keep, "trib-bench-render-") as root:
        generate_s, facts = timed(lambda: generate(root, args.components))
        if not args.no_git:
            generate_s += timed(lambda: git_commit_all(root, "synthetic distribution", ignore=("/build/", "/specs/")))[
                0
            ]
        load_s, project = timed(lambda: load_project(root))
        names = project.component_names
        if len(names) != facts["components"]:
            raise SystemExit(f"load_project found {len(names)} components, {facts['components']} were generated")
        if args.profile:
            print(profile_render(project, names, args.profile))
            return 0
        if args.check_cost:
            figures = {"components": len(names), **check_cost(project, names), "machine": machine(),
                       "loadavg_1m_at_start": load_average, "tributary_commit": commit}
            print(json.dumps(figures) if args.json else "\n".join(f"{k}: {v}" for k, v in figures.items()))
            return 0
        full_s, _ = render_all(project, names, args.jobs)
        noop_s, again = render_all(project, names, args.jobs)
        changed = [o.component for o in again if o.changed]
        if changed:
            print(
                f"warning: the no-op re-render changed {len(changed)} components, e.g. {changed[:5]}", file=sys.stderr
            )

        rendered = {o.component: o.output_dir for o in again}
        texts = {name: (rendered[name] / f"{name}.spec").read_text() for name in names}
        everything = list(texts.values())
        tributary_all_s = median_seconds(lambda: tributary_parse(everything), args.repeat)
        if any(str(parse(t)) != t for t in everything):
            raise SystemExit("tributary.spec does not reproduce every rendered spec byte for byte")

        # specfile writes dummy source files into the source directory while it parses, so it works
        # on copies of the sampled component directories, made before the clock starts.
        sample_names = sorted(random.Random(SEED).sample(names, min(args.specfile_sample, len(names))))
        copies = root / "build/specfile-sample"
        for name in sample_names:
            shutil.copytree(rendered[name], copies / name)
        sample = [(texts[name], copies / name) for name in sample_names]
        check_specfile_round_trip(sample)
        sample_texts = [t for t, _ in sample]
        specfile_repeat = max(1, args.repeat // 2)
        specfile_s = median_seconds(lambda: specfile_parse(sample), specfile_repeat)
        specfile_structured_s = median_seconds(lambda: specfile_parse_structured(sample), specfile_repeat)
        tributary_sample_s = median_seconds(lambda: tributary_parse(sample_texts), args.repeat)
        tributary_structured_s = median_seconds(lambda: tributary_parse_structured(sample_texts), args.repeat)
        per_spec_ms = specfile_s / len(sample) * 1000

    result: dict[str, Any] = {
        "components": facts["components"],
        "load_s": round(load_s, 3),
        "full_render_s": round(full_s, 2),
        "noop_render_s": round(noop_s, 2),
        "noop_changed": len(changed),
        "speedup_vs_specfile": round(specfile_s / tributary_sample_s, 1),
        "tributary_parse_all_s": round(tributary_all_s, 3),
        "tributary_parse_per_spec_ms": round(tributary_all_s / len(everything) * 1000, 4),
        "specfile_sample": len(sample),
        "specfile_per_spec_ms": round(per_spec_ms, 2),
        "specfile_all_extrapolated_s": round(per_spec_ms * len(everything) / 1000, 1),
        "specfile_api": SPECFILE_API,
        "speedup_vs_specfile_structured": round(specfile_structured_s / tributary_structured_s, 1),
        "specfile_structured_per_spec_ms": round(specfile_structured_s / len(sample) * 1000, 2),
        "tributary_structured_per_spec_ms": round(tributary_structured_s / len(sample) * 1000, 4),
        "specfile_structured_api": SPECFILE_STRUCTURED_API,
        "jobs": args.jobs,
        "git": not args.no_git,
        "tributary_commit": commit,
        "overlays": facts["overlays"],
        "overlay_components": facts["overlay_components"],
        "overlay_types": facts["overlay_types"],
        "build_option_components": facts["build_option_components"],
        "check_skip_components": facts["check_skip_components"],
        "files": facts["files"],
        "spec_bytes_total": facts["spec_bytes_total"],
        "spec_kb": facts["spec_kb"],
        "generate_s": round(generate_s, 1),
        **machine(),
        "loadavg_1m_at_start": round(load_average, 2),
    }
    targets = [
        Target("full_render_s", 60.0),
        Target("noop_render_s", 3.0),
        Target("speedup_vs_specfile", 20.0, at_least=True),
    ]
    notes = [
        (f"specfile timed on a fixed random sample of {len(sample)} specs (median of {specfile_repeat}); "
         f"speed-up = its time / tributary's on the same {len(sample)} specs; *_structured: both sides also "
         "build sections and tags (tributary: sections, all tags, conditionals)"),
        "targets are for the full size (7600 components) on 2 cores",
    ]
    report(result, targets, as_json=args.json, notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
