"""The rpm macros every build loads: our static policy file plus a small per-distribution file.

rpm on Debian lacks what a Fedora buildroot's redhat-rpm-config provides (``%dist``, hardening
flags, ``%build_ldflags``, SOURCE_DATE_EPOCH from the changelog...). ``macros.tributary`` in this
directory supplies it, the same for every distribution; what differs per distribution (the dist tag,
vendor and distribution name) and per build (where the sandbox mounts things) goes into a generated
``macros.build``. Both are loaded with ``rpmbuild --load`` and by the spec parser
(``tributary.build.requires``), so a spec reads the same at parse time and at build time.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from tributary.config import Project
from tributary.errors import ConfigError
from tributary.fsutil import atomic_write

MACROS_DIR = Path(__file__).resolve().parent
STATIC_MACROS = MACROS_DIR / "macros.tributary"
# Files the static macros refer to by %{_tributary_config_dir}/NAME (gcc specs for PIE).
SUPPORT_FILES = ("hardened-cc1.specs", "hardened-ld.specs")
BUILD_MACROS_NAME = "macros.build"

# When the configuration names no distribution: neutral values, never another vendor's.
NEUTRAL_VENDOR = "tributary"


def dist_tag(distro: str, release_ver: str) -> str:
    """``%dist`` for a distribution version: ``.<distro><release-ver without dots>``, lowercase.

    ``tribex`` 1.0 gives ``.tribex10``, like Fedora's ``.fc43`` or Azure Linux's ``.azl3``: short,
    and free of the characters a Release may not hold (``-``) or that would read as extra version
    fields (``.``). Anything but letters, digits and ``_`` is dropped from both parts.
    """
    name = re.sub(r"[^a-z0-9_]", "", distro.lower())
    version = re.sub(r"[^a-z0-9_]", "", release_ver.lower())
    if not name or not version:
        raise ConfigError(f"cannot make a dist tag from distro {distro!r} version {release_ver!r}: "
                          "both need a letter or digit")
    return f".{name}{version}"


def distro_macros(project: Project) -> dict[str, str]:
    """``%dist``, ``%vendor`` and ``%distribution`` for the project's target distribution.

    The vendor is the distro's description ("Tributary Example Linux"), the distribution adds the
    version ("Tributary Example Linux 1.0"); a distro without a description uses its name. A project
    with no ``default-distro`` gets neutral values and no ``%dist``.
    """
    target = project.default_distro
    if target is None:
        return {"vendor": NEUTRAL_VENDOR, "distribution": NEUTRAL_VENDOR}
    name, version, settings = target
    distro = project.distros.get(name)
    vendor = _literal(distro.description if distro and distro.description else name)
    return {
        "dist": dist_tag(name, settings.release_ver),
        "vendor": vendor,
        "distribution": f"{vendor} {version}",
    }


def build_macros_text(macros: Mapping[str, str]) -> str:
    """The text of ``macros.build``: one ``%name value`` line per macro, sorted by name."""
    lines = ["# Written by tributary for one build: distribution identity and sandbox paths."]
    for name in sorted(macros):
        lines.append(f"%{name} {_one_line(macros[name])}")
    return "\n".join(lines) + "\n"


def write_macros(project: Project, directory: Path, *, extra: Mapping[str, str] | None = None) -> list[Path]:
    """Put the static files and a fresh ``macros.build`` in ``directory``; return the files to load.

    ``extra`` adds per-build macros (the sandbox paths). The result is in load order: the static
    policy first, then ``macros.build``, whose values win.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for name in (STATIC_MACROS.name, *SUPPORT_FILES):
        shutil.copyfile(MACROS_DIR / name, directory / name)
    macros = distro_macros(project) | dict(extra or {})
    atomic_write(directory / BUILD_MACROS_NAME, build_macros_text(macros))
    return [directory / STATIC_MACROS.name, directory / BUILD_MACROS_NAME]


def _one_line(value: str) -> str:
    """A macro value on one line: a newline would end the definition early in a macros file."""
    return " ".join(value.split())


def _literal(value: str) -> str:
    """Configuration text as a macro value that expands to itself (a ``%`` would start a macro)."""
    return _one_line(value).replace("%", "%%")
