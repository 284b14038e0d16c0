"""The lossless spec model every spec overlay edits: lines, sections, tags and conditionals.

``str(parse(text)) == text`` holds for any text. There is no macro expansion and no handling of ``\\``
continuations: the model reproduces azldev's line-oriented view of a spec, which is what overlays are
written against. What a spec *means* once rpm expands it (its version, the files it names) is read by
:mod:`tributary.spec.evaluate`, tributary's own reading of rpm's macro language.
"""

from tributary.spec.conditionals import Conditionals, Directive, directive_of
from tributary.spec.document import SpecDocument, parse
from tributary.spec.sections import (
    SECTION_NAMES,
    Section,
    describe_package,
    package_of,
    parse_header,
)
from tributary.spec.tags import Tag, format_tag, parse_tag, patch_number, tag_family

__all__ = [
    "SECTION_NAMES",
    "Conditionals",
    "Directive",
    "Section",
    "SpecDocument",
    "Tag",
    "describe_package",
    "directive_of",
    "format_tag",
    "package_of",
    "parse",
    "parse_header",
    "parse_tag",
    "patch_number",
    "tag_family",
]
