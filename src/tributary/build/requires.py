"""What a spec needs to build and what its packages provide, read by rpm's own parser.

rpm is the only complete reader of spec files (conditionals, ``%{lua:}``, ``%{load:}``, macros from
files), so we ask it through its Python bindings (``tributary.rpmspec``: one lock over rpm's one macro
table, each parse from a fresh configuration with our macro files loaded and the spec's directory as
``%_sourcedir``, where its ``<name>.azl.macros`` lies) rather than approximating it.

Parsing runs the spec's ``%(...)`` shell and ``%{lua:}`` expansions on the host, as rpmspec does; only
the build order relies on it. The build itself reads BuildRequires from the SRPM header made in the
sandbox, by the buildroot's own rpm.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from tributary.errors import TribError
from tributary.rpmspec import RPM_LOCK
from tributary.rpmspec import SpecParseError as SpecParseError  # raised by the parses below
from tributary.rpmspec import parsed_spec as _parsed

_RPMLIB = "rpmlib("


def requirement_name(requirement: str) -> str:
    """The capability a requirement asks for: ``libgreet-devel`` in ``libgreet-devel >= 2.0``."""
    return requirement.split()[0] if requirement.strip() else requirement


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

    What the spec states (the package's own name, also with its ``(x86-64)`` suffix, and its
    ``Provides:`` lines, with ``%dist`` from the macros), plus what rpm's dependency generators will
    derive from the files its ``%files`` lists and that specs commonly ask for by name: a ``.pc`` file
    gives ``pkgconfig(NAME)``, a Perl module ``perl(Module::Name)``, a Python distribution's metadata
    ``python3dist(name)`` (``predicted_provides``). The build order needs them before anything is
    built; the exact list is read from the RPMs afterwards (``BuildResult.provides``).
    """
    import rpm

    with _parsed(spec_path, macros_files) as spec:
        return {package.header[rpm.RPMTAG_NAME]: _dependencies(rpm, package.header, "providename")
                + predicted_provides(package.fileList or "") for package in spec.packages}


_DIRECTIVE = re.compile(r"^%(?:attr|config|verify|lang|caps)\([^)]*\)\s*"
                        r"|^%(?:doc|license|dir|ghost|readme|docdir|exclude)\s+")
_PERL_DIRS = re.compile(r"^(?:perl5|vendor_perl|site_perl|5\.\d+(?:\.\d+)?"
                        r"|%\{?perl_(?:vendorlib|vendorarch|privlib|archlib)\}?)$")
_PYTHON_METADATA = re.compile(r"/site-packages/([A-Za-z0-9_.]+?)-[^/-]+\.(?:dist|egg)-info/?$")


def predicted_provides(file_list: str) -> list[str]:
    """``pkgconfig()``, ``perl()`` and ``python3dist()`` capabilities the files of a ``%files`` list give.

    Only these, because they are what BuildRequires name; sonames and file paths need the built files.
    """
    found: list[str] = []
    for line in file_list.splitlines():
        path = line.strip()
        while (match := _DIRECTIVE.match(path)) is not None:
            path = path[match.end():]
        if not path or (path.startswith("%") and not path.startswith(("%{perl_", "%perl_"))):
            continue
        parts = path.rstrip("/").split("/")
        if path.endswith(".pc") and len(parts) >= 2 and parts[-2] == "pkgconfig":
            found.append(f"pkgconfig({parts[-1][:-3]})")
        elif path.endswith(".pm"):
            bases = [index for index, part in enumerate(parts) if _PERL_DIRS.match(part)]
            if bases and bases[-1] < len(parts) - 1:
                found.append(f"perl({'::'.join(parts[bases[-1] + 1:])[:-3]})")
        elif (match := _PYTHON_METADATA.search(path)) is not None:
            found.append(f"python3dist({match.group(1).lower().replace('_', '-')})")
    return list(dict.fromkeys(found))


def _dependencies(rpm, header, tag: str) -> list[str]:
    # DNEVR() is "R name >= 1.0" / "P name = 1.0-1.tribex10": a kind letter, a space, the dependency.
    return [dependency.DNEVR()[2:] for dependency in rpm.ds(header, tag)]


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


def package_name(path: Path) -> str:
    """The name of the package an RPM file holds, from its header."""
    import rpm

    return str(_read_header(path)[rpm.RPMTAG_NAME])


def package_arch(path: Path) -> str:
    """The architecture an RPM file is built for (``x86_64``, ``noarch``), from its header."""
    import rpm

    return str(_read_header(path)[rpm.RPMTAG_ARCH])


def _read_header(path: Path):
    """An RPM file's header, without signature checks (we made the file; the host has no keyring)."""
    import rpm

    with RPM_LOCK:
        transactions = rpm.TransactionSet()
        transactions.setVSFlags(rpm.RPMVSF_MASK_NOSIGNATURES | rpm.RPMVSF_MASK_NODIGESTS)
        try:
            with open(path, "rb") as handle:
                return transactions.hdrFromFdno(handle.fileno())
        except rpm.error as error:
            raise TribError(f"cannot read the RPM header: {error}", where=str(path)) from None
