"""spec-set-macro (a tributary extension): define or change a macro wherever the spec defines it.

A spec's knobs are mostly ``%global`` lines (``%global with_docs 1``, ``%global commit 1a2b...``), and
changing one with a regex is fragile: the value, the spacing and the number of definitions all vary
(azldev users proposed a ``spec-set-macros`` overlay for this). ``spec-set-macro`` rewrites the body of
every ``%global``/``%define`` of the macro (in every ``%if`` branch, keeping the keyword, a parametric
macro's options and the spacing; a definition continued over several lines becomes one line), and when
the spec defines it nowhere adds ``%global NAME VALUE`` at the top of the spec. A value that is already
there everywhere changes nothing and is not an error (like spec-set-tag).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from tributary.overlays.base import SpecOverlay
from tributary.overlays.tree import ComponentTree, read_spec
from tributary.spec import SpecDocument
from tributary.spec.definitions import NAME, MacroDefinition, macro_definitions


def set_macro(doc: SpecDocument, name: str, value: str) -> None:
    """Give every definition of ``name`` the body ``value``; define it at the top when there is none."""
    found = definitions_of(doc, name)
    if not found:
        doc.insert_lines(0, [f"%global {name} {value}"])
        return
    for definition in reversed(found):
        if definition.end - definition.start > 1:
            doc.delete_lines(definition.start + 1, definition.end)
        doc.replace_line(definition.start, definition.rewritten(doc.line(definition.start), value))


def definitions_of(doc: SpecDocument, name: str) -> list[MacroDefinition]:
    return [definition for definition in macro_definitions(doc) if definition.name == name]


class SpecSetMacro(SpecOverlay):
    """Define or change the macro ``macro`` (written without ``%``) to ``value``."""

    type: Literal["spec-set-macro"]
    macro: str = Field(description="tributary extension: the macro's name, without '%'.")
    value: str = Field(description="tributary extension: the macro's new body (one line).")
    succeeds_anyway: ClassVar[bool] = True

    def check(self) -> None:
        if not NAME.match(self.macro):
            hint = " (write it without '%')" if self.macro.startswith("%") else ""
            raise ValueError(f"macro {self.macro!r} is not a macro name{hint}")
        if not self.value.strip():
            raise ValueError("value must not be empty (rpm refuses an empty macro body; write '%{nil}')")
        if "\n" in self.value or self.value.rstrip().endswith("\\"):
            raise ValueError("value must be one line (no newline, no trailing backslash)")

    def edit(self, doc: SpecDocument) -> None:
        set_macro(doc, self.macro, self.value)

    def aim_met(self, tree: ComponentTree) -> bool:
        """Every definition already has the value (a single-line body equal to it)."""
        found = definitions_of(read_spec(tree), self.macro)
        return bool(found) and all(d.end - d.start == 1 and d.body.strip() == self.value.strip() for d in found)
