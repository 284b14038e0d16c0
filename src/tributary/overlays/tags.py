"""spec-add-tag, spec-insert-tag, spec-set-tag, spec-update-tag and spec-remove-tag.

Tags live in the preamble (main package) or in ``%package X`` bodies, matched by the package exactly
as the header writes it. Rewritten and new lines read ``Tag: value`` with the overlay's spelling of
the tag. None of these checks for duplicates: add-tag appends even when the tag exists, as azldev's
code (not its documentation) does.

``condition`` (a tributary extension, see ``conditions``) narrows each type to one ``%if`` branch: the
tags found, and where a new tag goes, are those of that branch only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

from tributary.errors import OverlayError
from tributary.overlays.conditions import ConditionalOverlay, Region, regions
from tributary.overlays.lines import append_lines
from tributary.overlays.targets import exact_sections, tag_section_name
from tributary.overlays.tree import ComponentTree, read_spec
from tributary.spec import SpecDocument, Tag, describe_package, format_tag, tag_family


def add_tag(doc: SpecDocument, tag: str, value: str, package: str, condition: str | None = None) -> None:
    """Append the tag at the end of the package's section(s), just before the next header (with a
    condition: at the end of that branch)."""
    if condition is None:
        append_lines(doc, [format_tag(tag, value)], tag_section_name(package), package)
        return
    for region in reversed(_tag_regions(doc, package, condition)):
        doc.insert_lines(region.end, [format_tag(tag, value)])


def _tag_regions(doc: SpecDocument, package: str, condition: str | None) -> list[Region]:
    sections = exact_sections(doc, tag_section_name(package), package)
    return regions(doc, sections, condition, what=describe_package(package))


def insert_tag(doc: SpecDocument, tag: str, value: str, package: str, condition: str | None = None) -> None:
    """Insert after the last tag of the same family, else after the last tag, else as add-tag; never
    inside a conditional: a spot within ``%if`` moves past its outermost ``%endif`` (with a condition:
    the outermost one opened inside the branch)."""
    scope = _tag_regions(doc, package, condition)
    family = tag_family(tag)
    last_of_family: int | None = None
    last_any: int | None = None
    for region in scope:
        for found in doc.tags(region.section):
            if not region.holds(found.index):
                continue
            last_any = found.index
            if tag_family(found.name) == family:
                last_of_family = found.index
    after = last_of_family if last_of_family is not None else last_any
    if after is None:
        add_tag(doc, tag, value, package, condition)
        return
    floor = None if condition is None else next(r.start for r in scope if r.holds(after))
    doc.insert_lines(_past_conditional(doc, after, scope[-1].end, floor) + 1, [format_tag(tag, value)])


def _past_conditional(doc: SpecDocument, index: int, limit: int, floor: int | None = None) -> int:
    """The ``%endif`` closing the outermost conditional around ``index`` (opened at ``floor`` or later,
    when given) when it lies before ``limit``; otherwise ``index`` itself."""
    stack = [opening for opening in doc.conditional_stack(index) if floor is None or opening >= floor]
    if stack:
        endif = doc.conditionals.pairs.get(stack[0])
        if endif is not None and endif < limit:
            return endif
    return index


def matching_tags(doc: SpecDocument, tag: str, package: str, condition: str | None = None) -> list[Tag]:
    """Every tag line named ``tag`` (any case) in the package, in all its ``%if`` branches (with a
    condition: in that branch)."""
    if condition is None:
        return [t for s in doc.package_sections(package) for t in doc.tags(s) if t.is_named(tag)]
    scope = regions(doc, doc.package_sections(package), condition, what=describe_package(package))
    return [t for r in scope for t in doc.tags(r.section) if r.holds(t.index) and t.is_named(tag)]


def update_tag(doc: SpecDocument, tag: str, value: str, package: str, condition: str | None = None) -> None:
    """Rewrite every matching tag line; an error when there is none."""
    if package and not doc.package_sections(package):
        exact_sections(doc, tag_section_name(package), package)  # raises: no such %package
    found = matching_tags(doc, tag, package, condition)
    if not found:
        raise OverlayError(f"no tag {tag!r} in {describe_package(package)}{_in_branch(condition)}")
    for match in reversed(found):
        doc.replace_line(match.index, format_tag(tag, value))


def _in_branch(condition: str | None) -> str:
    return f" in branch {condition!r}" if condition is not None else ""


def set_tag(doc: SpecDocument, tag: str, value: str, package: str, condition: str | None = None) -> None:
    """update-tag when the tag exists in the package, add-tag otherwise."""
    if package and not doc.package_sections(package):
        exact_sections(doc, tag_section_name(package), package)  # raises: no such %package
    if matching_tags(doc, tag, package, condition):
        update_tag(doc, tag, value, package, condition)
    else:
        add_tag(doc, tag, value, package, condition)


def remove_tag(doc: SpecDocument, tag: str, value: str, package: str, condition: str | None = None) -> None:
    """Delete every matching tag line; with a value, only lines whose whole trimmed value equals it
    (case-insensitively). An error when nothing was removed."""
    found = matching_tags(doc, tag, package, condition)
    if value:
        wanted = value.lower()
        found = [t for t in found if t.value.lower() == wanted]
    if not found:
        with_value = f" with value {value!r}" if value else ""
        raise OverlayError(f"no tag {tag!r}{with_value} in {describe_package(package)}{_in_branch(condition)}")
    doc.delete_indices(t.index for t in found)


TagEdit = Callable[[SpecDocument, str, str, str, "str | None"], None]


class TagOverlay(ConditionalOverlay):
    """The tag family's fields, ``Tag: value`` in ``package`` (empty: the main package); each type names
    its edit (``tag_edit``) and whether it adds a line or rewrites existing ones (``rewrites``)."""

    tag: str
    value: str
    package: str = ""
    tag_edit: ClassVar[TagEdit]
    rewrites: ClassVar[bool] = False
    succeeds_anyway: ClassVar[bool] = True

    def edit(self, doc: SpecDocument) -> None:
        type(self).tag_edit(doc, self.tag, self.value, self.package, self.condition)

    def already_upstream(self, tree: ComponentTree) -> str | None:
        if not self.aim_met(tree):
            return None
        doc = read_spec(tree)
        found = [t for t in matching_tags(doc, self.tag, self.package, self.condition)
                 if t.value.strip() == self.value.strip()]
        lines = ", ".join(str(t.index + 1) for t in found)
        return f"{tree.spec_name}:{lines} already reads {doc.line(found[0].index).strip()!r}"

    def aim_met(self, tree: ComponentTree) -> bool:
        """An added tag is there with its value already; rewritten tags all have it already (so the
        overlay would only re-space them)."""
        wanted = self.value.strip()
        found = matching_tags(read_spec(tree), self.tag, self.package, self.condition)
        if self.rewrites:
            return bool(found) and all(tag.value.strip() == wanted for tag in found)
        return any(tag.value.strip() == wanted for tag in found)


class SpecAddTag(TagOverlay):
    """Append ``Tag: value`` at the end of the package's section(s), even when the tag exists."""

    type: Literal["spec-add-tag"]
    tag_edit: ClassVar[TagEdit] = add_tag


class SpecInsertTag(TagOverlay):
    """Insert ``Tag: value`` after the last tag of its family (see ``insert_tag``)."""

    type: Literal["spec-insert-tag"]
    tag_edit: ClassVar[TagEdit] = insert_tag


class SpecSetTag(TagOverlay):
    """Rewrite the tag where it exists, else add it."""

    type: Literal["spec-set-tag"]
    tag_edit: ClassVar[TagEdit] = set_tag
    rewrites: ClassVar[bool] = True


class SpecUpdateTag(TagOverlay):
    """Rewrite every matching tag; an error when there is none."""

    type: Literal["spec-update-tag"]
    tag_edit: ClassVar[TagEdit] = update_tag
    rewrites: ClassVar[bool] = True


class SpecRemoveTag(ConditionalOverlay):
    """Delete every matching tag line; with a ``value``, only those whose value equals it."""

    type: Literal["spec-remove-tag"]
    tag: str
    value: str = ""
    package: str = ""

    def edit(self, doc: SpecDocument) -> None:
        remove_tag(doc, self.tag, self.value, self.package, self.condition)

    def aim_met(self, tree: ComponentTree) -> bool:
        found = matching_tags(read_spec(tree), self.tag, self.package, self.condition)
        if self.value:
            found = [tag for tag in found if tag.value.lower() == self.value.lower()]
        return not found
