"""spec-add-tag, spec-insert-tag, spec-set-tag, spec-update-tag and spec-remove-tag.

Tags live in the preamble (main package) or in ``%package X`` bodies, matched by the package exactly
as the header writes it. Rewritten and new lines read ``Tag: value`` with the overlay's spelling of
the tag. None of these checks for duplicates: add-tag appends even when the tag exists, as azldev's
code (not its documentation) does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

from tributary.errors import OverlayError
from tributary.overlays.base import SpecOverlay
from tributary.overlays.lines import append_lines
from tributary.overlays.targets import exact_sections, tag_section_name
from tributary.overlays.tree import ComponentTree, read_spec
from tributary.spec import SpecDocument, Tag, describe_package, format_tag, tag_family


def add_tag(doc: SpecDocument, tag: str, value: str, package: str) -> None:
    """Append the tag at the end of the package's section(s), just before the next header."""
    append_lines(doc, [format_tag(tag, value)], tag_section_name(package), package)


def insert_tag(doc: SpecDocument, tag: str, value: str, package: str) -> None:
    """Insert after the last tag of the same family, else after the last tag, else as add-tag; never
    inside a conditional: a spot within ``%if`` moves past its outermost ``%endif``."""
    sections = exact_sections(doc, tag_section_name(package), package)
    family = tag_family(tag)
    last_of_family: int | None = None
    last_any: int | None = None
    for section in sections:
        for found in doc.tags(section):
            last_any = found.index
            if tag_family(found.name) == family:
                last_of_family = found.index
    after = last_of_family if last_of_family is not None else last_any
    if after is None:
        add_tag(doc, tag, value, package)
        return
    doc.insert_lines(_past_conditional(doc, after, sections[-1].end) + 1, [format_tag(tag, value)])


def _past_conditional(doc: SpecDocument, index: int, limit: int) -> int:
    """The ``%endif`` closing the outermost conditional around ``index`` when it lies before
    ``limit``; otherwise ``index`` itself."""
    stack = doc.conditional_stack(index)
    if stack:
        endif = doc.conditionals.pairs.get(stack[0])
        if endif is not None and endif < limit:
            return endif
    return index


def matching_tags(doc: SpecDocument, tag: str, package: str) -> list[Tag]:
    """Every tag line named ``tag`` (any case) in the package, in all its ``%if`` branches."""
    return [t for s in doc.package_sections(package) for t in doc.tags(s) if t.is_named(tag)]


def update_tag(doc: SpecDocument, tag: str, value: str, package: str) -> None:
    """Rewrite every matching tag line; an error when there is none."""
    found = matching_tags(doc, tag, package)
    if not found:
        if package and not doc.package_sections(package):
            exact_sections(doc, tag_section_name(package), package)  # raises: no such %package
        raise OverlayError(f"no tag {tag!r} in {describe_package(package)}")
    for match in reversed(found):
        doc.replace_line(match.index, format_tag(tag, value))


def set_tag(doc: SpecDocument, tag: str, value: str, package: str) -> None:
    """update-tag when the tag exists in the package, add-tag otherwise."""
    if matching_tags(doc, tag, package):
        update_tag(doc, tag, value, package)
    else:
        add_tag(doc, tag, value, package)


def remove_tag(doc: SpecDocument, tag: str, value: str, package: str) -> None:
    """Delete every matching tag line; with a value, only lines whose whole trimmed value equals it
    (case-insensitively). An error when nothing was removed."""
    found = matching_tags(doc, tag, package)
    if value:
        wanted = value.lower()
        found = [t for t in found if t.value.lower() == wanted]
    if not found:
        with_value = f" with value {value!r}" if value else ""
        raise OverlayError(f"no tag {tag!r}{with_value} in {describe_package(package)}")
    doc.delete_indices(t.index for t in found)


TagEdit = Callable[[SpecDocument, str, str, str], None]


class TagOverlay(SpecOverlay):
    """The tag family's fields, ``Tag: value`` in ``package`` (empty: the main package); each type names
    its edit (``tag_edit``) and whether it adds a line or rewrites existing ones (``rewrites``)."""

    tag: str
    value: str
    package: str = ""
    tag_edit: ClassVar[TagEdit]
    rewrites: ClassVar[bool] = False
    succeeds_anyway: ClassVar[bool] = True

    def edit(self, doc: SpecDocument) -> None:
        type(self).tag_edit(doc, self.tag, self.value, self.package)

    def aim_met(self, tree: ComponentTree) -> bool:
        """An added tag is there with its value already; rewritten tags all have it already (so the
        overlay would only re-space them)."""
        wanted = self.value.strip()
        found = matching_tags(read_spec(tree), self.tag, self.package)
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


class SpecRemoveTag(SpecOverlay):
    """Delete every matching tag line; with a ``value``, only those whose value equals it."""

    type: Literal["spec-remove-tag"]
    tag: str
    value: str = ""
    package: str = ""

    def edit(self, doc: SpecDocument) -> None:
        remove_tag(doc, self.tag, self.value, self.package)

    def aim_met(self, tree: ComponentTree) -> bool:
        found = matching_tags(read_spec(tree), self.tag, self.package)
        if self.value:
            found = [tag for tag in found if tag.value.lower() == self.value.lower()]
        return not found
