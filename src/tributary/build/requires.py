"""What a spec needs to build and what its packages provide, read by rpm's own parser.

rpm is the only complete reader of spec files (conditionals, ``%{lua:}``, ``%{load:}``, macros from
files), so we ask it through its Python bindings rather than approximating it. The bindings keep all
macros in one process-wide table; each parse here starts from rpm's configuration freshly read
(``rpm.reloadConfig()``), loads our macro files and the spec's directory as ``%_sourcedir`` (where
its ``<name>.azl.macros`` lies), and resets the table again afterwards, under a lock, so nothing a
spec defines can reach the next one, whichever thread parses it.

Parsing runs the spec's ``%(...)`` shell and ``%{lua:}`` expansions on the host, as rpmspec does; the
build itself never relies on this: it reads BuildRequires from the SRPM header made in the sandbox.

The host toolchain: BuildRequires the build host satisfies by itself (the sandbox shows the build
the host's ``/usr``). Everything else must come from packages this distribution has built.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from tributary.errors import TribError

# Capabilities that count as satisfied by the build host: the Fedora package (or file) names a spec
# writes for the tools and headers every Debian 12 build host here has. Only names the host really
# covers belong here (no gawk, m4, autoconf: Debian does not ship them by default).
HOST_TOOLCHAIN: tuple[str, ...] = (
    "/bin/bash", "/bin/sh", "/usr/bin/bash", "/usr/bin/sh",
    "bash", "binutils", "bzip2", "coreutils", "cpp", "diffutils", "file", "findutils",
    "gcc", "gcc-c++", "gettext", "glibc", "glibc-common", "glibc-devel", "glibc-headers",
    "grep", "gzip", "kernel-headers", "libgcc", "libstdc++", "libstdc++-devel", "make",
    "patch", "perl-interpreter", "pkg-config", "pkgconf", "pkgconf-pkg-config", "pkgconfig",
    "sed", "sh", "tar", "unzip", "util-linux", "which", "xz", "zstd",
)

_RPMLIB = "rpmlib("
_lock = threading.Lock()


class SpecParseError(TribError):
    """rpm could not parse a spec file."""


class MissingBuildRequirement(TribError):
    """A BuildRequires neither the host toolchain nor the distribution's built packages provide."""

    exit_code = 1

    def __init__(self, component: str, capabilities: Sequence[str], *, detail: str | None = None):
        listed = ", ".join(repr(c) for c in capabilities)
        message = (f"BuildRequires {listed} is provided neither by the host toolchain nor by any package "
                   "the distribution has built")
        super().__init__(message + (f": {detail}" if detail else ""), where=f"component {component}",
                         hint="build the component that provides it first, or add it to the host toolchain")
        self.component = component
        self.capabilities = list(capabilities)


def requirement_name(requirement: str) -> str:
    """The capability a requirement asks for: ``libgreet-devel`` in ``libgreet-devel >= 2.0``."""
    return requirement.split()[0] if requirement.strip() else requirement


def split_build_requires(requires: Iterable[str], host: Iterable[str] = HOST_TOOLCHAIN) -> tuple[list[str], list[str]]:
    """``(from_host, from_distro)``: which BuildRequires the host covers, which the distribution must.

    A requirement goes to the host when its capability name is in ``host``, whatever version it
    asks for (the host is declared, not resolved); rich dependencies (``(a or b)``) always go to
    the distribution. Duplicates are dropped; the order is kept.
    """
    host_names = frozenset(host)
    from_host: list[str] = []
    from_distro: list[str] = []
    for requirement in dict.fromkeys(r.strip() for r in requires if r.strip()):
        if not requirement.startswith("(") and requirement_name(requirement) in host_names:
            from_host.append(requirement)
        else:
            from_distro.append(requirement)
    return from_host, from_distro


def build_requires(spec_path: Path, macros_files: Sequence[Path] = ()) -> list[str]:
    """The spec's BuildRequires as rpm parses them: ``name`` or ``name OP [epoch:]version[-release]``.

    ``macros_files`` are loaded first, in order (``tributary.build.macros.write_macros`` gives ours).
    Dynamic BuildRequires (``%generate_buildrequires``) are not known before a build and are not
    included.
    """
    import rpm

    with _parsed(spec_path, macros_files) as spec:
        return [d for d in _dependencies(rpm, spec.sourceHeader, "requirename") if not d.startswith(_RPMLIB)]


def provides(spec_path: Path, macros_files: Sequence[Path] = ()) -> dict[str, list[str]]:
    """Every binary package the spec makes, with what it provides, as rpm parses it.

    Only what the spec states: the package's own name (also with its ``(x86-64)`` arch suffix) and
    its ``Provides:`` lines, with ``%dist`` from the macros. Capabilities rpm derives from the built
    files (sonames such as ``libgreet.so.1()(64bit)``, ``pkgconfig(...)``) exist only after a build:
    read them from the RPMs (``tributary.build.component.BuildResult.provides``).
    """
    import rpm

    with _parsed(spec_path, macros_files) as spec:
        return {package.header[rpm.RPMTAG_NAME]: _dependencies(rpm, package.header, "providename")
                for package in spec.packages}


def _dependencies(rpm, header, tag: str) -> list[str]:
    # DNEVR() is "R name >= 1.0" / "P name = 1.0-1.tribex10": a kind letter, a space, the dependency.
    return [dependency.DNEVR()[2:] for dependency in rpm.ds(header, tag)]


@contextlib.contextmanager
def _parsed(spec_path: Path, macros_files: Sequence[Path]) -> Iterator[object]:
    import rpm

    spec_path = Path(spec_path)
    if not spec_path.is_file():
        raise SpecParseError(f"{spec_path}: no such spec file")
    for path in macros_files:
        if not Path(path).is_file():
            raise SpecParseError(f"macros file {path} does not exist")
    with _lock, tempfile.TemporaryFile("w+") as messages:
        rpm.reloadConfig()
        rpm.setLogFile(messages)
        try:
            for path in macros_files:
                rpm.expandMacro(f"%{{load:{Path(path).resolve()}}}")
            directory = str(spec_path.resolve().parent)
            rpm.addMacro("_sourcedir", directory)
            rpm.addMacro("_specdir", directory)
            try:
                spec = rpm.spec(str(spec_path))
            except ValueError as error:
                messages.seek(0)
                text = " ".join(line.strip() for line in messages.read().splitlines() if line.startswith("error"))
                raise SpecParseError(f"rpm cannot parse the spec: {text or error}", where=str(spec_path)) from None
            yield spec
        finally:
            rpm.setLogFile(sys.__stderr__)  # a real file: sys.stderr may be a wrapper rpm cannot write to
            rpm.reloadConfig()


def srpm_build_requires(srpm: Path) -> list[str]:
    """The BuildRequires recorded in an SRPM's header (its ``rpmlib(...)`` features left out).

    What rpmbuild parsed in the sandbox, so reading it runs nothing from the spec.
    """
    import rpm

    header = _read_header(srpm)
    return [d for d in _dependencies(rpm, header, "requirename") if not d.startswith(_RPMLIB)]


def built_provides(packages: Iterable[Path]) -> dict[str, tuple[str, ...]]:
    """``{package name: provides}`` read from built RPM files, generated ones (sonames...) included."""
    import rpm

    result: dict[str, tuple[str, ...]] = {}
    for path in packages:
        header = _read_header(path)
        if header[rpm.RPMTAG_SOURCEPACKAGE]:
            continue
        result[header[rpm.RPMTAG_NAME]] = tuple(_dependencies(rpm, header, "providename"))
    return result


def _read_header(path: Path):
    """An RPM file's header, without signature checks (we made the file; the host has no keyring)."""
    import rpm

    with _lock:
        transactions = rpm.TransactionSet()
        transactions.setVSFlags(rpm.RPMVSF_MASK_NOSIGNATURES | rpm.RPMVSF_MASK_NODIGESTS)
        try:
            with open(path, "rb") as handle:
                return transactions.hdrFromFdno(handle.fileno())
        except rpm.error as error:
            raise TribError(f"cannot read the RPM header: {error}", where=str(path)) from None
