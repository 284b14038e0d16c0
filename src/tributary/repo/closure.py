"""Repository closure: can every Requires of every published package be met by what is published?

Read from the repository metadata, as dnf reads it, not from the RPM files: that checks what clients
will actually see. The universe is the given repositories plus the declared external ones (whose own
requirements are not checked). Versions are compared by rpm itself (``rpm.ds``), so epochs, tildes,
carets and missing releases follow rpm's rules.

Why not ``dnf repoclosure``: it is a dnf-plugins-core command (another apt package), it needs a
configured dnf, and its output names the broken package but has to be parsed back. Reading primary
and filelists with createrepo_c keeps the check in-process, fast on 30,000 packages, and gives
structured answers.

Rules:

* ``rpmlib(...)`` requirements are met by rpm itself (createrepo_c leaves them out anyway).
* A file requirement is met by a provide of that name or by a file or directory some package owns;
  filelists are read only when primary's file list and the provides leave one unmet.
* Architecture: a package of arch A is served by packages of arch A and noarch; a noarch package by any.
* Rich dependencies (``(a or b)``, ``and``, ``if``/``else``, ``unless``, ``with``, ``without``) are
  evaluated as if everything the repositories offer could be installed: ``(a if b)`` needs ``a`` only
  when something provides ``b``. A rich dependency that cannot be parsed is reported as such.
"""

from __future__ import annotations

import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import createrepo_c as cr
import rpm

from tributary.repo.errors import RepoError
from tributary.tools.rpm import nevra

NOTHING_PROVIDES = "nothing provides it"
UNPARSABLE = "rich dependency not understood"

_SENSE = {"LT": rpm.RPMSENSE_LESS, "GT": rpm.RPMSENSE_GREATER, "EQ": rpm.RPMSENSE_EQUAL,
          "LE": rpm.RPMSENSE_LESS | rpm.RPMSENSE_EQUAL, "GE": rpm.RPMSENSE_GREATER | rpm.RPMSENSE_EQUAL}
_SYMBOL = {"LT": "<", "GT": ">", "EQ": "=", "LE": "<=", "GE": ">="}
_FLAG_OF_SYMBOL = {"<": "LT", ">": "GT", "=": "EQ", "==": "EQ", "<=": "LE", "=<": "LE", ">=": "GE", "=>": "GE"}


@dataclass(frozen=True, order=True)
class Unsatisfied:
    """A requirement nothing in the universe meets, and the package that has it."""

    package: str  # name-[epoch:]version-release.arch
    requirement: str  # as rpm prints it: "libfoo >= 1.2", "(a or b)"
    repo: str  # the repository holding the package
    reason: str = NOTHING_PROVIDES

    def to_json(self) -> dict[str, str]:
        return {"package": self.package, "requirement": self.requirement, "repo": self.repo, "reason": self.reason}


@dataclass
class _Package:
    nevra: str
    arch: str
    repo: str
    requires: list[tuple[str, str | None, str | None, str | None, str | None]]
    checked: bool


@dataclass
class _Universe:
    packages: list[_Package] = field(default_factory=list)
    # capability name -> [(provider index, arch, flags, epoch, version, release)]
    provides: dict[str, list[tuple[int, str, str | None, str | None, str | None, str | None]]] = field(
        default_factory=dict
    )
    # path -> [(provider index, arch)]; from primary at first, from filelists for paths still wanted
    files: dict[str, list[tuple[int, str]]] = field(default_factory=dict)


def check_closure(repo_dirs: Sequence[Path | str], *, external: Sequence[Path | str] = ()) -> list[Unsatisfied]:
    """Every unmet requirement of every package in ``repo_dirs``, sorted by package then requirement.

    ``repo_dirs`` and ``external`` are repository roots (the directory holding ``repodata/``), as local
    paths or ``file://``, ``http://`` or ``https://`` URLs. The packages of ``external`` repositories
    provide; they are not checked. Source RPMs are skipped (their requirements are build requirements).
    """
    with tempfile.TemporaryDirectory(prefix="trib-closure-") as scratch:
        repos = [_Repository.open(location, Path(scratch) / str(index), checked=index < len(repo_dirs))
                 for index, location in enumerate([*repo_dirs, *external])]
        universe = _Universe()
        for repo in repos:
            repo.load_primary(universe)
        wanted = _unmet_file_requirements(universe)
        if wanted:
            for repo in repos:
                repo.load_files(universe, wanted)
        problems = {
            Unsatisfied(package.nevra, _render(requirement), package.repo, reason)
            for package in universe.packages if package.checked and package.arch != "src"
            for requirement in package.requires
            if (reason := _check(universe, package, requirement)) is not None
        }
    return sorted(problems)


# --- reading repositories ------------------------------------------------------------------------------


class _Repository:
    """One repository's metadata, local or fetched into a scratch directory."""

    def __init__(self, label: str, root: Path, records: dict[str, str], checked: bool, fetch: str | None):
        self.label = label
        self.root = root
        self.records = records
        self.checked = checked
        self.fetch = fetch  # base URL to download record files from, None when local
        self.indexes: dict[str, int] = {}  # pkgId -> index in the universe, to join filelists to primary

    @classmethod
    def open(cls, location: Path | str, scratch: Path, *, checked: bool) -> _Repository:
        text = str(location)
        scheme = urllib.parse.urlsplit(text).scheme
        if scheme in ("http", "https"):
            base = text if text.endswith("/") else text + "/"
            scratch.mkdir(parents=True)
            _download(base + "repodata/repomd.xml", scratch / "repomd.xml")
            repomd, root, fetch = scratch / "repomd.xml", scratch, base
        else:
            root = Path(urllib.parse.unquote(urllib.parse.urlsplit(text).path)) if scheme == "file" else Path(text)
            repomd, fetch = root / "repodata" / "repomd.xml", None
            if not repomd.is_file():
                raise RepoError(f"not a repository: {repomd} does not exist", where=text)
        try:
            records = {record.type: record.location_href for record in cr.Repomd(str(repomd)).records}
        except cr.CreaterepoCError as error:
            raise RepoError(f"cannot read repomd.xml: {error}", where=text) from error
        if "primary" not in records:
            raise RepoError("repomd.xml names no primary metadata", where=text)
        return cls(text, root, records, checked, fetch)

    def _path(self, kind: str) -> Path | None:
        href = self.records.get(kind)
        if href is None:
            return None
        if self.fetch is None:
            return self.root / href
        local = self.root / Path(href).name
        if not local.exists():
            _download(self.fetch + href, local)
        return local

    def load_primary(self, universe: _Universe) -> None:
        def take(package: cr.Package) -> bool:
            index = len(universe.packages)
            arch = package.arch
            self.indexes[package.pkgId] = index
            universe.packages.append(_Package(_nevra(package), arch, self.label, list(package.requires), self.checked))
            for name, flags, epoch, version, release, _pre in package.provides:
                universe.provides.setdefault(name, []).append((index, arch, flags, epoch, version, release))
            for _kind, directory, filename in package.files:
                universe.files.setdefault((directory or "") + (filename or ""), []).append((index, arch))
            return True

        self._parse(cr.xml_parse_primary, "primary", take, do_files=1)

    def load_files(self, universe: _Universe, wanted: set[str]) -> None:
        """Add the owners of ``wanted`` paths from filelists (every file and directory of every package)."""
        if "filelists" not in self.records:
            return
        def take(package: cr.Package) -> bool:
            index = self.indexes.get(package.pkgId)
            if index is None:
                return True  # in filelists but not in primary: not a package of this repository
            for _kind, directory, filename in package.files:
                path = (directory or "") + (filename or "")
                if path in wanted:
                    owners = universe.files.setdefault(path, [])
                    if (index, package.arch) not in owners:
                        owners.append((index, package.arch))
            return True

        self._parse(cr.xml_parse_filelists, "filelists", take)

    def _parse(self, parser, kind: str, take, **options) -> None:
        path = self._path(kind)
        if path is None:
            return
        try:
            parser(str(path), pkgcb=take, **options)
        except cr.CreaterepoCError as error:
            raise RepoError(f"cannot read {kind} metadata: {error}", where=self.label) from error


def _download(url: str, destination: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(destination, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
    except OSError as error:
        raise RepoError(f"cannot fetch repository metadata: {error}", where=url) from error


def _nevra(package: cr.Package) -> str:
    return nevra(package.name, package.epoch, package.version, package.release, package.arch)


# --- checking ------------------------------------------------------------------------------------------


def _unmet_file_requirements(universe: _Universe) -> set[str]:
    """File paths some checked package requires (directly or inside a rich dependency) not yet found."""
    wanted: set[str] = set()
    for package in universe.packages:
        if not package.checked:
            continue
        for name, *_rest in package.requires:
            candidates = [name] if not name.startswith("(") else _paths_in(name)
            wanted.update(c for c in candidates if c.startswith("/") and c not in universe.files)
    return wanted


def _paths_in(rich: str) -> list[str]:
    return [token for token in _tokens(rich) if token.startswith("/")]


def _check(universe: _Universe, package: _Package, requirement: tuple) -> str | None:
    name, flags, epoch, version, release, _pre = requirement
    if name.startswith("("):
        try:
            tree = _Parser(name).parse()
        except ValueError:
            return UNPARSABLE
        return None if _evaluate(universe, package.arch, tree) else NOTHING_PROVIDES
    return None if _providers(universe, package.arch, name, flags, _evr(epoch, version, release)) else NOTHING_PROVIDES


def _evr(epoch: str | None, version: str | None, release: str | None) -> str:
    if not version:
        return ""
    text = f"{epoch}:{version}" if epoch and epoch != "0" else version
    return f"{text}-{release}" if release else text


def _compatible(wanted: str, offered: str) -> bool:
    return wanted == "noarch" or offered == "noarch" or wanted == offered


def _providers(universe: _Universe, arch: str, name: str, flags: str | None, evr: str) -> set[int]:
    """Indexes of the packages that meet ``name [flags evr]`` for a package of ``arch``."""
    if name.startswith("rpmlib("):
        return {-1}  # rpm itself
    found: set[int] = set()
    required = rpm.ds((name, _SENSE[flags], evr), rpm.RPMTAG_REQUIRENAME) if flags in _SENSE and evr else None
    for index, offered_arch, offered_flags, o_epoch, o_version, o_release in universe.provides.get(name, ()):
        if not _compatible(arch, offered_arch):
            continue
        offered_evr = _evr(o_epoch, o_version, o_release)
        offered_sense = _SENSE.get(offered_flags or "")
        if required is None or offered_sense is None or not offered_evr:
            found.add(index)  # an unversioned requirement or provide matches any version
        elif required.Compare(rpm.ds((name, offered_sense, offered_evr), rpm.RPMTAG_PROVIDENAME)):
            found.add(index)
    if name.startswith("/") and required is None:
        found.update(index for index, owner_arch in universe.files.get(name, ()) if _compatible(arch, owner_arch))
    return found


def _render(requirement: tuple) -> str:
    name, flags, epoch, version, release, _pre = requirement
    evr = _evr(epoch, version, release)
    return f"{name} {_SYMBOL[flags]} {evr}" if flags in _SYMBOL and evr else name


# --- rich dependencies -------------------------------------------------------------------------------------

_CHAINS = ("and", "or", "with")
_OPERATORS = {"and", "or", "if", "unless", "else", "with", "without"}


def _tokens(text: str) -> Iterator[str]:
    """``(``, ``)`` and words; a word keeps balanced parentheses (``perl(Foo::Bar)``, ``foo(x86-64)``)."""
    position, length = 0, len(text)
    while position < length:
        char = text[position]
        if char.isspace():
            position += 1
        elif char in "()":
            yield char
            position += 1
        else:
            start, depth = position, 0
            while position < length and not text[position].isspace():
                if text[position] == "(":
                    depth += 1
                elif text[position] == ")":
                    if depth == 0:
                        break
                    depth -= 1
                position += 1
            yield text[start:position]


class _Parser:
    """A rich dependency as a tree: ``("dep", name, flags, evr)`` or ``(operator, operands...)``."""

    def __init__(self, text: str):
        self.tokens = list(_tokens(text))
        self.position = 0

    def parse(self) -> tuple:
        tree = self._group()
        if self.position != len(self.tokens):
            raise ValueError("text after the closing parenthesis")
        return tree

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _next(self) -> str:
        token = self._peek()
        if token is None:
            raise ValueError("unexpected end")
        self.position += 1
        return token

    def _group(self) -> tuple:
        if self._next() != "(":
            raise ValueError("expected '('")
        first = self._operand()
        operator = self._next()
        if operator == ")":
            return first
        if operator not in _OPERATORS or operator == "else":
            raise ValueError(f"unknown operator {operator!r}")
        operands = [first, self._operand()]
        if operator in _CHAINS:
            while self._peek() == operator:
                self._next()
                operands.append(self._operand())
        elif operator in ("if", "unless") and self._peek() == "else":
            self._next()
            operands.append(self._operand())
        if self._next() != ")":
            raise ValueError("expected ')'")  # e.g. mixing 'and' with 'or' without parentheses
        return (operator, *operands)

    def _operand(self) -> tuple:
        token = self._peek()
        if token == "(":
            return self._group()
        name = self._next()
        if name == ")" or name in _OPERATORS:
            raise ValueError(f"expected a capability, found {name!r}")
        if self._peek() in _FLAG_OF_SYMBOL:
            flags = _FLAG_OF_SYMBOL[self._next()]
            evr = self._next()
            if evr in ("(", ")"):
                raise ValueError("expected a version")
            return ("dep", name, flags, evr)
        return ("dep", name, None, "")


def _evaluate(universe: _Universe, arch: str, node: tuple) -> bool:
    kind = node[0]
    if kind == "dep":
        return bool(_providers(universe, arch, node[1], node[2], node[3]))
    operands = node[1:]
    if kind == "and":
        return all(_evaluate(universe, arch, operand) for operand in operands)
    if kind == "or":
        return any(_evaluate(universe, arch, operand) for operand in operands)
    if kind in ("if", "unless"):
        condition = _evaluate(universe, arch, operands[1])
        otherwise = _evaluate(universe, arch, operands[2]) if len(operands) == 3 else True
        if kind == "if":  # (A if B else C): A when B can be installed, else C
            return _evaluate(universe, arch, operands[0]) if condition else otherwise
        return otherwise if condition else _evaluate(universe, arch, operands[0])  # (A unless B else C)
    if kind in ("with", "without"):
        first = _provider_set(universe, arch, operands[0])
        if kind == "with":
            for operand in operands[1:]:
                first &= _provider_set(universe, arch, operand)
            return bool(first)
        return bool(first - _provider_set(universe, arch, operands[1]))
    raise ValueError(kind)  # pragma: no cover - the parser makes no other nodes


def _provider_set(universe: _Universe, arch: str, node: tuple) -> set[int]:
    """The packages that alone meet ``node`` (``with``/``without`` speak of one package)."""
    if node[0] == "dep":
        return _providers(universe, arch, node[1], node[2], node[3])
    if node[0] == "and":
        result = _provider_set(universe, arch, node[1])
        for operand in node[2:]:
            result &= _provider_set(universe, arch, operand)
        return result
    if node[0] == "or":
        return set().union(*(_provider_set(universe, arch, operand) for operand in node[1:]))
    return set(range(len(universe.packages))) if _evaluate(universe, arch, node) else set()
