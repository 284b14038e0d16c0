"""spec-remove-section and spec-remove-subpackage: delete whole sections without unbalancing ``%if``.

A section runs from its header to the next header, so a conditional may straddle its edges. The
rules, from azldev: a conditional entirely inside the section goes with it; a straddling ``%if`` or
``%endif`` is kept (so a wrapped section leaves an empty ``%if``/``%endif`` wrapper behind), but only
when nothing but blank lines, comments and other ``%if``/``%endif`` lines would be left with it; an
``%else``/``%elif`` of a conditional reaching outside the section is an error; and so is any unmatched
``%if``/``%endif`` in the spec, since no safe range can be computed then.

Two consequences of those rules build but are rarely wanted, so a project may turn them off (tributary
extensions in the component's ``render`` table, off by default because rendered bytes stay azldev's):
``keep-used-macros`` keeps the ``%global``/``%define`` lines a removed section held when the rest of the
spec still uses the macro (azldev issue 203; with the conditionals around them), and
``drop-empty-conditionals`` deletes the ``%if``...``%endif`` a removal leaves with nothing inside.
``removal_effects`` tells ``trib lint`` where a removal does either.

``condition`` (see ``conditions``) removes only the matching sections whose header lies in that branch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Self

from pydantic import PrivateAttr

from tributary.errors import OverlayError
from tributary.overlays.base import check_section
from tributary.overlays.conditions import ConditionalOverlay, regions
from tributary.overlays.targets import exact_sections
from tributary.overlays.tree import ComponentTree, read_spec
from tributary.spec import Conditionals, Directive, Section, SpecDocument, directive_of
from tributary.spec.definitions import macro_definitions, used_outside

_ADVICE = "adjust the conditionals first (for example with spec-search-replace)"


@dataclass(frozen=True)
class RemovalOptions:
    """The project's choices for what a removal leaves (``render.keep-used-macros`` and
    ``render.drop-empty-conditionals``); both off gives azldev's bytes."""

    keep_used_macros: bool = False
    drop_empty_conditionals: bool = False


@dataclass(frozen=True)
class LostMacro:
    """A macro definition a removal takes away although the rest of the spec uses the macro."""

    name: str
    definition: int  # line index of the definition
    use: int  # line index of the first use that remains


@dataclass(frozen=True)
class RemovalEffects:
    """What a removal does that the options change: macros it takes although they are still used, and
    the conditionals it leaves empty (``(%if line, %endif line)``); line indices of the spec before it."""

    lost_macros: tuple[LostMacro, ...] = ()
    empty_conditionals: tuple[tuple[int, int], ...] = ()


def remove_sections(doc: SpecDocument, sections: list[Section], options: RemovalOptions = RemovalOptions()) -> None:
    """Delete each section's balanced line range, all in one edit (see the module docstring for what
    ``options`` change)."""
    doomed, effects = plan_removal(doc, sections)
    if options.keep_used_macros:
        doomed -= _kept_definition_lines(doc, effects.lost_macros, doomed)
    if options.drop_empty_conditionals:
        doomed |= _empty_conditional_lines(doc, doomed)
    doc.delete_indices(doomed)


def removal_effects(doc: SpecDocument, sections: list[Section]) -> RemovalEffects:
    """What removing ``sections`` with azldev's rules does that the removal options would change."""
    return plan_removal(doc, sections)[1]


def plan_removal(doc: SpecDocument, sections: list[Section]) -> tuple[set[int], RemovalEffects]:
    """The lines azldev's rules delete for ``sections``, and the effects ``RemovalEffects`` describes."""
    conditionals = doc.conditionals
    problem = conditionals.problem()
    if problem:
        raise OverlayError(f"cannot remove {sections[0].describe()}: {problem}")
    doomed: set[int] = set()
    for section in sections:
        start, end = _balanced_range(doc, conditionals, section)
        doomed.update(range(start, end))
    return doomed, RemovalEffects(_lost_macros(doc, doomed), _empty_conditionals(doc, doomed))


def _lost_macros(doc: SpecDocument, doomed: set[int]) -> tuple[LostMacro, ...]:
    definitions = macro_definitions(doc)
    surviving = {d.name for d in definitions if d.start not in doomed}
    lost: list[LostMacro] = []
    for definition in definitions:
        if definition.start not in doomed or definition.name in surviving:
            continue
        use = used_outside(doc, definition.name, doomed)
        if use is not None and all(lost_one.name != definition.name for lost_one in lost):
            lost.append(LostMacro(definition.name, definition.start, use))
    return tuple(lost)


def _kept_definition_lines(doc: SpecDocument, lost: tuple[LostMacro, ...], doomed: set[int]) -> set[int]:
    """The lines that keep the lost definitions: each definition of those names in the removed range,
    with the directive lines of the conditionals around it that the removal would take too."""
    names = {macro.name for macro in lost}
    conditionals = doc.conditionals
    kept: set[int] = set()
    for definition in macro_definitions(doc):
        if definition.name not in names or definition.start not in doomed:
            continue
        kept.update(range(definition.start, definition.end))
        for opening in conditionals.stacks[definition.start]:
            directives = [opening, *conditionals.branches_of(opening), conditionals.pairs[opening]]
            kept.update(line for line in directives if line in doomed)
    return kept & doomed


def _empty_conditionals(doc: SpecDocument, doomed: set[int]) -> tuple[tuple[int, int], ...]:
    """Conditionals the removal reaches into and leaves with nothing but blank lines and the directives
    of conditionals emptied with them (innermost first)."""
    conditionals = doc.conditionals
    emptied: list[tuple[int, int]] = []
    gone = set(doomed)
    for opening in sorted(conditionals.pairs, reverse=True):
        closing = conditionals.pairs[opening]
        if opening in gone or closing in gone or not any(i in doomed for i in range(opening + 1, closing)):
            continue
        own = set(conditionals.branches_of(opening))
        rest = [i for i in range(opening + 1, closing) if i not in gone and i not in own]
        if all(not doc.line(i).strip() for i in rest):
            emptied.append((opening, closing))
            gone.update(range(opening, closing + 1))
    return tuple(emptied)


def _empty_conditional_lines(doc: SpecDocument, doomed: set[int]) -> set[int]:
    return {line for opening, closing in _empty_conditionals(doc, doomed) for line in range(opening, closing + 1)}


def _balanced_range(doc: SpecDocument, conditionals: Conditionals, section: Section) -> tuple[int, int]:
    start, end = section.start, section.end
    where = f"{section.describe()} (lines {start + 1}-{end})"
    keep_from = end
    for opening, closing in conditionals.pairs.items():
        opening_inside = start <= opening < end
        if opening_inside == (start <= closing < end):
            continue  # wholly inside (removed with the section) or wholly outside (untouched)
        keep_from = min(keep_from, opening if opening_inside else closing)
        if opening_inside and _has_content(doc, opening + 1, end):
            raise OverlayError(f"{where}: a conditional opened in it runs into the next section; {_ADVICE}")
    for branch in conditionals.branches:
        enclosing = conditionals.stacks[branch]
        if start <= branch < end and enclosing:
            innermost = enclosing[-1]
            if not (innermost >= start and conditionals.pairs[innermost] < end):
                raise OverlayError(
                    f"{where}: line {branch + 1} is an %else/%elif of a conditional reaching outside the section; "
                    f"{_ADVICE}"
                )
    if keep_from < end and _has_content(doc, keep_from, end):
        raise OverlayError(f"{where}: a conditional straddling its end encloses section content; {_ADVICE}")
    return start, keep_from


def _has_content(doc: SpecDocument, start: int, end: int) -> bool:
    """Whether lines ``start``..``end`` hold anything but blanks, comments, ``%if`` and ``%endif``."""
    for index in range(start, end):
        line = doc.line(index)
        stripped = line.strip()
        if not stripped or stripped[0] == "#":
            continue
        if directive_of(line) in (Directive.OPEN, Directive.CLOSE):
            continue
        return True
    return False


class SectionRemoval(ConditionalOverlay):
    """The types that delete whole sections; render hands them the project's ``RemovalOptions``."""

    _options: RemovalOptions = PrivateAttr(default_factory=RemovalOptions)

    @property
    def options(self) -> RemovalOptions:
        return self._options

    def with_options(self, options: RemovalOptions) -> Self:
        """A copy that removes with ``options``."""
        copy = self.model_copy()
        copy._options = options
        return copy

    def doomed_sections(self, doc: SpecDocument) -> list[Section]:
        """The sections this overlay deletes; an error when there are none."""
        raise NotImplementedError

    def edit(self, doc: SpecDocument) -> None:
        remove_sections(doc, self.doomed_sections(doc), self._options)

    def in_branch(self, doc: SpecDocument, found: list[Section], what: str) -> list[Section]:
        """``found`` narrowed to the sections whose header lies in the ``condition`` branch, if any."""
        if self.condition is None:
            return found
        chosen = [r.section for r in regions(doc, found, self.condition, what=what) if r.whole]
        if not chosen:
            raise OverlayError(f"no {what} has its header in branch {self.condition!r}")
        return chosen

    def already_upstream(self, tree: ComponentTree) -> str | None:
        return f"{tree.spec_name} has no such section any more" if self.aim_met(tree) else None

    def aim_met(self, tree: ComponentTree) -> bool:
        """The sections are gone already (with a condition, in doubt: upstream may have moved them
        between branches)."""
        if self.condition is not None:
            return False
        try:
            self.doomed_sections(read_spec(tree))
        except OverlayError:
            return True
        return False


class SpecRemoveSection(SectionRemoval):
    """Delete every section named ``section`` of ``package`` (empty: the main package)."""

    type: Literal["spec-remove-section"]
    package: str = ""
    section: str

    def check(self) -> None:
        super().check()
        if not self.section:
            raise ValueError("overlay type 'spec-remove-section': section must not be empty")
        check_section(self.section)

    def doomed_sections(self, doc: SpecDocument) -> list[Section]:
        return self.in_branch(doc, exact_sections(doc, self.section, self.package), f"{self.section} section")


class SpecRemoveSubpackage(SectionRemoval):
    """Delete every section of the ``%package`` named ``package`` (its header's spelling)."""

    type: Literal["spec-remove-subpackage"]
    package: str

    def doomed_sections(self, doc: SpecDocument) -> list[Section]:
        found = [s for s in doc.sections if s.has_header and s.package == self.package]
        if not found:
            raise OverlayError(f"no section belongs to package {self.package!r}")
        return self.in_branch(doc, found, f"section of package {self.package!r}")
