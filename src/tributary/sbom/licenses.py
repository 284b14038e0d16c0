"""RPM ``License:`` tags as SPDX license expressions.

Fedora has written SPDX expressions in ``License:`` since 2023, so most tags parse as they are; a
tag that does not (an old Fedora short name such as ``GPLv2+``, a typo, unbalanced parentheses) is
never dropped or guessed at: it becomes a ``LicenseRef-`` whose text is the tag, with the reason, so
the SBOM still says what the package claims and a reader sees that it is not SPDX.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from license_expression import ExpressionError, Licensing, get_spdx_licensing

_REF = re.compile(r"\bLicenseRef-[A-Za-z0-9.-]+")
_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


@dataclass(frozen=True)
class License:
    """A package's license: the tag as written, its SPDX form, and why it has none if so.

    ``expression`` is always usable in an SPDX document: the normalized expression, or a
    ``LicenseRef-`` standing for an invalid tag (``problem`` then says what is wrong), or
    ``NOASSERTION`` when the package has no tag at all. ``refs`` are the ``LicenseRef-`` ids it uses.
    """

    tag: str
    expression: str
    problem: str | None = None
    refs: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.problem is None


@lru_cache(maxsize=1)
def _licensing() -> Licensing:
    return get_spdx_licensing()


def invalid_ref(tag: str) -> str:
    """A stable ``LicenseRef-`` id for a tag that is not an SPDX expression: readable, and unique by a hash."""
    slug = _UNSAFE.sub("-", tag).strip("-.")[:40] or "empty"
    return f"LicenseRef-rpm-{slug}-{hashlib.sha256(tag.encode()).hexdigest()[:8]}"


def parse_license(tag: str | None) -> License:
    """The SPDX form of an RPM ``License:`` tag (see the module's docstring for invalid tags)."""
    text = " ".join((tag or "").split())
    if not text:
        return License("", "NOASSERTION", "the package has no License tag")
    refs = tuple(sorted(set(_REF.findall(text))))
    try:
        info = _licensing().validate(text)
    except ExpressionError as error:  # validate reports most problems itself; this is the rest
        return _invalid(text, str(error))
    except AttributeError:
        # license-expression's validate trips over some unparsable texts (a comma, a path) while
        # reporting them: they are not expressions either way.
        return _invalid(text, "not an SPDX license expression")
    if info.errors or not info.normalized_expression:
        return _invalid(text, "; ".join(info.errors) or "not an SPDX license expression")
    # The library maps some LicenseRef ids onto its own catalogue's; a LicenseRef is the packager's
    # own name and is kept exactly as written.
    expression = text if refs else str(info.normalized_expression)
    return License(text, expression, None, refs)


def _invalid(text: str, reason: str) -> License:
    ref = invalid_ref(text)
    return License(text, ref, f"License tag {text!r} is not an SPDX expression: {reason}", (ref,))
