"""How overlays address sections and packages, and how their errors name what did not match.

azldev is inconsistent about the empty package: for tags, prepend, append and remove-section it means
the main package only; for search-replace it means every package. Each family states which rule it
uses; this module holds the exact-match rule and the wording shared by the messages.
"""

from __future__ import annotations

from tributary.errors import OverlayError
from tributary.spec import Section, SpecDocument, describe_package
from tributary.spec.sections import PACKAGE


def tag_section_name(package: str) -> str:
    """The section holding a package's tags: the preamble ``""`` for the main package."""
    return PACKAGE if package else ""


def exact_sections(doc: SpecDocument, name: str, package: str) -> list[Section]:
    """Every section named ``name`` (as written) with package exactly ``package``; an error if none."""
    found = doc.find_sections(name, package)
    if not found:
        raise OverlayError(f"no {name or 'preamble'} section for {describe_package(package)}")
    return found
