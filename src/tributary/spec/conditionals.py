"""Nesting of ``%if``/``%else``/``%endif`` over the physical lines of a spec.

Overlays need it for two things: keeping an inserted tag out of a conditional, and removing a section
without leaving an unbalanced ``%if`` behind. Directive names compare case-insensitively, as in azldev.
Lines inside the continued body of a ``%define``/``%global`` (``\\``-terminated lines) are macro text,
not directives of the spec, so a conditional written inside a macro body never counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum


class Directive(Enum):
    OPEN = "open"
    BRANCH = "branch"
    CLOSE = "close"


DIRECTIVES: dict[str, Directive] = {
    "%if": Directive.OPEN,
    "%ifarch": Directive.OPEN,
    "%ifnarch": Directive.OPEN,
    "%ifos": Directive.OPEN,
    "%ifnos": Directive.OPEN,
    "%else": Directive.BRANCH,
    "%elif": Directive.BRANCH,
    "%elifarch": Directive.BRANCH,
    "%elifnarch": Directive.BRANCH,
    "%elifos": Directive.BRANCH,
    "%elifnos": Directive.BRANCH,
    "%endif": Directive.CLOSE,
}

MACRO_DEFINITIONS = frozenset({"%define", "%global"})


def directive_of(line: str) -> Directive | None:
    """The conditional directive ``line`` is, if any."""
    tokens = line.split(None, 1)
    return DIRECTIVES.get(tokens[0].lower()) if tokens else None


@dataclass(frozen=True)
class Conditionals:
    """Matched ``%if``/``%endif`` pairs, what failed to match, and the open conditionals at each line.

    ``stacks[i]`` holds the ``%if`` line indices of every block containing line ``i``, outermost
    first; a block spans its ``%if`` through its ``%endif`` inclusive. An unclosed ``%if`` runs to the
    end of the file.
    """

    pairs: dict[int, int]  # %if index -> %endif index
    branches: tuple[int, ...]  # %else/%elif lines that are real directives
    unclosed: tuple[int, ...]
    unmatched_endifs: tuple[int, ...]
    stacks: tuple[tuple[int, ...], ...]

    def problem(self) -> str | None:
        """Why the conditionals do not balance, naming 1-based lines, or None when they do."""
        if self.unmatched_endifs:
            return f"unmatched %endif at line {self.unmatched_endifs[0] + 1}"
        if self.unclosed:
            return f"unmatched %if at line {self.unclosed[0] + 1}"
        return None

    def depth(self, index: int) -> int:
        return len(self.stacks[index])

    def branches_of(self, opening: int) -> list[int]:
        """The ``%elif``/``%else`` lines of the conditional opened at line ``opening``, in order."""
        closing = self.pairs.get(opening)
        return [b for b in self.branches if opening < b and (closing is None or b < closing)
                and self.stacks[b] and self.stacks[b][-1] == opening]

    def branch_ranges(self, opening: int) -> list[tuple[int, int]]:
        """Each branch of the conditional opened at ``opening`` as ``(directive line, end)``: its first
        line is the ``%if``/``%elif``/``%else`` that opens it, ``end`` the next branch's directive or the
        ``%endif`` (exclusive)."""
        closing = self.pairs.get(opening, len(self.stacks))
        starts = [opening, *self.branches_of(opening)]
        return [(start, end) for start, end in zip(starts, [*starts[1:], closing], strict=True)]

    def path(self, index: int) -> tuple[tuple[int, int], ...]:
        """Which branch of each enclosing conditional line ``index`` is in: ``(%if line, branch
        number)`` pairs, outermost first (branch 0 is the ``%if``'s own)."""
        found = []
        for opening in self.stacks[index]:
            number = sum(1 for b in self.branches_of(opening) if b <= index)
            found.append((opening, number))
        return tuple(found)

    def exclusive(self, first: int, second: int) -> bool:
        """Whether lines ``first`` and ``second`` are in different branches of one conditional, so that
        rpm never reads both."""
        branches = dict(self.path(first))
        return any(opening in branches and branches[opening] != number for opening, number in self.path(second))


def analyse(contents: Sequence[str], structural: Sequence[tuple[int, str]]) -> Conditionals:
    """Conditional structure of ``contents``; ``structural`` lists ``(index, first token)`` of at
    least every directive and macro-definition line, in order (see
    :func:`tributary.spec.scan.structural_lines`)."""
    pairs: dict[int, int] = {}
    branches: list[int] = []
    unmatched: list[int] = []
    stack: list[int] = []
    stacks: list[tuple[int, ...]] = []
    current: tuple[int, ...] = ()
    macro_body_end = 0  # lines before this index belong to a continued macro definition
    for index, token in structural:
        if index < macro_body_end:
            continue
        lower = token.lower()
        if lower in MACRO_DEFINITIONS:
            macro_body_end = continuation_end(contents, index)
            continue
        kind = DIRECTIVES.get(lower)
        if kind is None:
            continue
        if kind is Directive.OPEN:
            stacks.extend([current] * (index - len(stacks)))
            stack.append(index)
            current = tuple(stack)
        elif kind is Directive.CLOSE:
            if not stack:
                unmatched.append(index)
                continue
            stacks.extend([current] * (index + 1 - len(stacks)))
            pairs[stack.pop()] = index
            current = tuple(stack)
        else:
            branches.append(index)
    stacks.extend([current] * (len(contents) - len(stacks)))
    return Conditionals(pairs, tuple(branches), tuple(stack), tuple(unmatched), tuple(stacks))


def continuation_end(contents: Sequence[str], index: int) -> int:
    """One past the last line of the macro definition starting at ``index`` (``\\`` continues it)."""
    end = index
    while end < len(contents) and contents[end].endswith("\\"):
        end += 1
    return end + 1
