"""A render is checked before it is written: what rpm would refuse is a render error, naming its overlay.

An overlay that applies cleanly can still leave a spec rpm refuses: a second ``Source9999``, a
``%patch1`` line for a patch that was removed. azldev renders those as "ok" and the build fails hours
later. Every rendered component gets cheap structural checks, on tributary's own reading of the spec:

* no ``SourceN``/``PatchN`` number is declared twice where rpm reads both (different branches of one
  ``%if`` are fine);
* every ``%patchN``/``%patch -P N``/``%patch N`` names a declared patch;
* every file a ``SourceN``/``PatchN`` names is in the rendered directory or among the verified sources
  (the ``sources`` file, the component's ``source-files``);
* a macro the spec defined before its overlays and no longer defines, but still uses, is reported (a
  warning: azldev's output may still build; ``render.keep-used-macros`` keeps such definitions when a
  section removal took them).

The components whose overlays or build options change the spec are also parsed by rpm itself (the
host's rpm through its bindings, ``tributary.rpmspec``), with the distribution's own macros where the
project has them (the ``macros``/``macros.*`` files of its rpm-config component, see
``distribution_macros``); an ``error:`` rpm logs is a finding. The other components keep upstream's
spec as it is (and their parse would cost 4-20 ms each, over thousands).

A finding is a render error only when it can be judged here and the overlays caused it. Which overlay:
the component's sources are rendered again from upstream's, one overlay at a time, checking after
each (``blame``); the first after which the finding shows is named, with its TOML file:line. A
finding already there before any overlay is upstream's own (a warning: tributary does not judge
upstream's spec). What cannot be judged without a macro rpm does not define here (a Fedora macro
package's ``%gometa``, ``%{py3_dist ...}``), or is syntax this host's rpm is too old for
(``BuildSystem:`` before rpm 4.20), is a warning too: the check never cries wolf on a correct spec.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tributary.config import Project, ResolvedComponent
from tributary.config.model import Overlay
from tributary.errors import OverlayError, TribError
from tributary.overlays import ComponentTree, SpecOverlay, apply_overlay
from tributary.render.macros import build_macros
from tributary.render.spec_view import component_macros, read_spec
from tributary.spec import SpecDocument, parse, patch_number
from tributary.spec.definitions import macro_definitions, use_pattern
from tributary.spec.evaluate import SpecEvaluationError, SpecFacts
from tributary.spec.macros import unexpanded
from tributary.spec.patch_lines import patch_lines
from tributary.upstream.lookaside import read_sources

OverlayStep = Callable[[Overlay, int | None, ComponentTree], None]
"""What render does with each overlay (``render.apply_overlays``): apply it, or record what it does."""
Replay = Callable[[Path, OverlayStep], None]
"""Renders the component's sources into an empty directory again, calling the step for each overlay."""

NEWER_TAGS = {"buildsystem": (4, 20), "buildoption": (4, 20), "sourcelicense": (4, 19)}
"""Preamble tags rpm learnt late, and the rpm that knows them: an older host's "Unknown tag" is no finding."""

RPM_CONFIG_CAPABILITY = "system-rpm-config"
_PROVIDES_RPM_CONFIG = re.compile(r"^Provides:\s*" + re.escape(RPM_CONFIG_CAPABILITY) + r"\b", re.MULTILINE | re.I)
_LINE = re.compile(r"^line (\d+): ")
_UNKNOWN_TAG = re.compile(r"Unknown tag: ([A-Za-z][A-Za-z0-9]*)")


class Kind:
    STRUCTURE = "structure"
    RPM = "rpm"
    MACROS = "macros"


@dataclass(frozen=True)
class Finding:
    """One thing the check found: ``key`` identifies it across renders whose line numbers differ."""

    kind: str
    key: str
    message: str
    judged: bool = True  # False: it cannot be judged here (an undefined macro, a newer rpm's syntax)
    fatal: bool = True  # False: reported, never an error (a lost macro: azldev's output may still build)


# --- the checks -------------------------------------------------------------------------------------


def structural_findings(text: str, files: set[str], verified: set[str], facts: SpecFacts | None) -> list[Finding]:
    """Duplicate tag numbers, ``%patch`` lines naming no patch, and files no one can supply: ``files``
    are the component directory's (``tree_files``), ``verified`` the names the sources file and
    ``source-files`` supply."""
    doc = parse(text)
    findings = _duplicates(doc) + _patch_lines(doc, facts)
    if facts is not None:
        findings += _missing_files(files, verified, facts)
    return findings


def tree_files(root: Path) -> set[str]:
    """Every file and directory below ``root`` as a relative path (``.git`` left out)."""
    found: set[str] = set()
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        relative = os.path.relpath(directory, root)
        prefix = "" if relative == "." else relative + "/"
        found.update(prefix + name for name in (*dirnames, *filenames))
    return found


def verified_sources(tree: Path, component: ResolvedComponent) -> set[str]:
    """The file names the ``sources`` file in ``tree`` and the component's ``source-files`` supply."""
    try:
        names = {entry.filename for entry in read_sources(tree)}
    except TribError:
        names = set()
    return names | {item.filename for item in component.config.source_files}


def _duplicates(doc: SpecDocument) -> list[Finding]:
    seen: dict[tuple[str, int], list[int]] = {}
    for tag in doc.all_tags():
        lower = tag.name.lower()
        family = "Source" if lower.startswith("source") else "Patch" if lower.startswith("patch") else None
        digits = lower[len(family):] if family else ""
        if family is None or not (digits.isascii() and digits.isdigit()):
            continue
        seen.setdefault((family, int(digits)), []).append(tag.index)
    conditionals = doc.conditionals
    findings = []
    for (family, number), lines in sorted(seen.items()):
        clashing = [(a, b) for i, a in enumerate(lines) for b in lines[i + 1:] if not conditionals.exclusive(a, b)]
        if clashing:
            first, second = clashing[0]
            findings.append(Finding(Kind.STRUCTURE, f"{family}{number} twice",
                                    f"{family}{number} is declared twice (spec lines {first + 1} and {second + 1}); "
                                    f"rpm refuses the spec"))
    return findings


def _patch_lines(doc: SpecDocument, facts: SpecFacts | None) -> list[Finding]:
    tags = list(doc.all_tags())
    if any(t.name.lower().startswith("patch") and patch_number(t.name) is None for t in tags):
        return []  # a bare or macro-numbered Patch tag: which numbers exist is rpm's business
    if doc.find_sections("%patchlist", "") or (facts is not None and facts.hidden):
        return []
    declared = {number for t in tags if (number := patch_number(t.name)) is not None}
    if facts is not None:
        declared |= set(facts.patches)
    findings = []
    for applying in patch_lines(doc):
        for number in applying.numbers:
            if number is not None and number not in declared:
                findings.append(Finding(Kind.STRUCTURE, f"%patch {number} undeclared",
                                        f"line {applying.index + 1} applies patch {number} "
                                        f"({doc.line(applying.index).strip()!r}), but no Patch{number} is declared"))
    return findings


def _missing_files(files: set[str], verified: set[str], facts: SpecFacts) -> list[Finding]:
    findings = []
    for family, table in (("Source", facts.sources), ("Patch", facts.patches)):
        for number, value in sorted(table.items()):
            value = value.strip()
            name = value.rsplit("/", 1)[-1]
            if not name or unexpanded(value) or name in verified:
                continue
            if name in files or ("://" not in value and value.lstrip("/") in files):
                continue
            findings.append(Finding(Kind.STRUCTURE, f"{family}{number} missing {name}",
                                    f"{family}{number} names {name!r}, which is neither in the rendered directory "
                                    f"nor among the verified sources (the sources file, source-files)"))
    return findings


def lost_macro_findings(original: str, text: str) -> list[Finding]:
    """Macros ``original`` defined on lines of their own, ``text`` defines nowhere, yet uses."""
    before = {d.name for d in macro_definitions(parse(original))}
    doc = parse(text)
    after = {d.name for d in macro_definitions(doc)}
    findings = []
    for name in sorted(before - after):
        pattern = use_pattern(name)
        use = next((i for i, line in enumerate(doc.lines) if "%" in line and pattern.search(line)), None)
        if use is not None:
            findings.append(Finding(Kind.MACROS, f"lost %{name}",
                                    f"%{name} is no longer defined, but line {use + 1} still uses it "
                                    f"({doc.line(use).strip()!r}); render.keep-used-macros = true keeps the "
                                    f"definitions a section removal takes", fatal=False))
    return findings


def rpm_findings(tree: Path, spec_name: str, macro_files: Sequence[Path]) -> list[Finding]:
    """rpm's errors parsing the spec, each judged or not (see the module docstring)."""
    from tributary.rpmspec import rpm_session

    spec = tree / spec_name
    lines = spec.read_text(encoding="utf-8", errors="surrogateescape").split("\n")
    findings = []
    directories = sorted({str(tree), str(tree.resolve())}, key=len, reverse=True)
    with rpm_session(spec, macro_files) as session:
        version = tuple(int(part) for part in re.findall(r"\d+", session.rpm.__version__)[:2])
        for logged in session.errors():
            error = logged
            for directory in directories:  # the same finding in another scratch directory has the same key
                error = error.replace(directory + "/", "")
            line = _LINE.match(error)
            context = error + (" " + lines[int(line.group(1)) - 1] if line and int(line.group(1)) <= len(lines) else "")
            key = _LINE.sub("", error)
            unknown = session.undefined_macros(context)
            tag = _UNKNOWN_TAG.search(error)
            needs = NEWER_TAGS.get(tag.group(1).lower()) if tag else None
            if unknown:
                findings.append(Finding(Kind.RPM, key, f"rpm: {error} (it uses %{unknown[0]}, which no macro "
                                                       "file known here defines)", judged=False))
            elif needs is not None and version < needs:
                findings.append(Finding(Kind.RPM, key, f"rpm: {error} (this host's rpm "
                                                       f"{session.rpm.__version__} predates rpm "
                                                       f"{'.'.join(map(str, needs))}, which knows it)", judged=False))
            else:
                findings.append(Finding(Kind.RPM, key, f"rpm: {error}"))
    return findings


# --- which components, which macros -------------------------------------------------------------------


def changes_spec(component: ResolvedComponent) -> bool:
    """Whether the component's overlays or build options change its spec (then rpm parses it)."""
    config = component.config
    check = config.build.check if config.build else None
    return bool(build_macros(config)) or bool(check and check.skip) or any(
        isinstance(overlay, SpecOverlay) for overlay in config.overlays)


@functools.lru_cache(maxsize=4)
def distribution_macros(project: Project) -> tuple[Path, ...]:
    """The macro files of the project's rpm-config: the component whose name ends in ``rpm-config`` and
    whose spec provides ``system-rpm-config``, read from its local directory or its rendered one; its
    files named ``macros`` or ``macros.*``, sorted. None when the project has no such component."""
    found: list[Path] = []
    for name in project.component_names:
        if not name.endswith("rpm-config"):
            continue
        component = project.resolve(name)
        directory = component.local_spec.parent if component.local_spec is not None else component.rendered_dir
        spec = component.local_spec or directory / f"{name}.spec"
        if not spec.is_file() or not _PROVIDES_RPM_CONFIG.search(spec.read_text(errors="replace")):
            continue
        found += sorted(p for p in directory.iterdir() if p.is_file() and (p.name == "macros"
                                                                          or p.name.startswith("macros.")))
    return tuple(found)


# --- the check of one render ----------------------------------------------------------------------------

Culprit = tuple[Overlay, int | None]
"""An overlay and its index among the component's configured overlays (None: one tributary adds)."""



def verify_render(project: Project, component: ResolvedComponent, tree: Path, original: str, original_files: set[str],
                  replay: Replay, describe: Callable[[Overlay, int | None], str], *,
                  facts: SpecFacts | None = None) -> list[str]:
    """Check the rendered ``tree``; raise an OverlayError for what the overlays broke, return warnings.

    ``original`` is the spec before any overlay and ``original_files`` the files beside it then
    (``tree_files``); ``replay`` renders the sources again (for ``blame``); ``describe(overlay,
    index)`` names an overlay and its TOML line for a message; ``facts`` is the rendered spec as render's
    file filter read it (``read_spec`` with the component's macros), read again here when absent.
    """
    spec_name = f"{component.name}.spec"
    text = (tree / spec_name).read_text(encoding="utf-8", errors="surrogateescape")
    parses = changes_spec(component)
    macros = distribution_macros(project) if parses else ()
    verified = verified_sources(tree, component)
    rendered_facts = facts or _facts(text, tree, component)
    files = tree_files(tree)
    findings = structural_findings(text, files, verified, rendered_facts)
    if parses:  # without a spec overlay only the banner and release numbering edited it: no macro is lost
        findings += lost_macro_findings(original, text) + rpm_findings(tree, spec_name, macros)
    name = component.name
    warnings = [f"component {name!r}: cannot be judged here: {f.message}" for f in findings if not f.judged]
    judged = [f for f in findings if f.judged]
    if not judged:
        return warnings
    # Upstream's own structural problems need no replay: its spec and files are known already. When no
    # overlay edits the spec (only the banner and release numbering did), the rendered spec declares
    # what upstream's does, so its reading serves, with upstream's files (evaluating costs ~10 ms).
    if parses:
        upstream_own = {f.key for f in structural_findings(original, original_files, verified,
                                                           _facts(original, tree, component))}
    else:
        upstream_own = {f.key for f in findings}
        if rendered_facts is not None:
            upstream_own -= {f.key for f in _missing_files(files, verified, rendered_facts)}
            upstream_own |= {f.key for f in _missing_files(original_files, verified, rendered_facts)}
    blamed = [f for f in judged if f.key not in upstream_own]
    pristine, culprits = blame(project, component, original, blamed, replay, macros) if blamed else (set(), {})
    pristine |= upstream_own
    errors: dict[str, list[str]] = {}  # who caused it -> what
    for finding in judged:
        culprit = culprits.get(finding.key)
        if finding.key in pristine:
            warnings.append(f"component {name!r}: upstream's own spec already: {finding.message}")
            continue
        if culprit is None:
            who = f"component {name!r}: after the overlays (release numbering or the file filter): "
        else:
            who = describe(*culprit)
        if finding.fatal:
            errors.setdefault(who, []).append(finding.message)
        else:
            warnings.append(who + finding.message)
    if errors:
        raise OverlayError("; also ".join(f"{who}the rendered spec fails its check: {'; '.join(what)}"
                                          for who, what in errors.items()))
    return warnings


def _facts(text: str, tree: Path, component: ResolvedComponent) -> SpecFacts | None:
    try:
        return read_spec(text, tree, component_macros(component))
    except SpecEvaluationError:
        return None


def blame(project: Project, component: ResolvedComponent, original: str, findings: list[Finding], replay: Replay,
          macro_files: Sequence[Path]) -> tuple[set[str], dict[str, Culprit]]:
    """The findings upstream's spec has before any overlay, and for the others the overlay after which
    each first shows (absent when it shows only after every overlay applied)."""
    pending = {f.key for f in findings}
    kinds = {f.kind for f in findings}
    pristine: set[str] = set()
    culprits: dict[str, Culprit] = {}
    spec_name = f"{component.name}.spec"
    started = False

    def present(tree: Path) -> set[str]:
        text = (tree / spec_name).read_text(encoding="utf-8", errors="surrogateescape")
        found: list[Finding] = []
        if Kind.STRUCTURE in kinds:
            found += structural_findings(text, tree_files(tree), verified_sources(tree, component),
                                         _facts(text, tree, component))
        if Kind.MACROS in kinds:
            found += lost_macro_findings(original, text)
        if Kind.RPM in kinds:
            found += rpm_findings(tree, spec_name, macro_files)
        return {f.key for f in found} & pending

    def step(overlay: Overlay, index: int | None, tree: ComponentTree) -> None:
        nonlocal started
        if not started:
            started = True
            pristine.update(present(tree.root))
        apply_overlay(overlay, tree)
        if pending - pristine - culprits.keys():
            for key in present(tree.root) - pristine - culprits.keys():
                culprits[key] = (overlay, index)

    project.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{component.name}.", suffix=".blame.render", dir=project.work_dir))
    try:
        replay(scratch, step)
    except TribError:
        pass  # the render itself succeeded: a replay that cannot finish leaves the rest unnamed
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return pristine, culprits
