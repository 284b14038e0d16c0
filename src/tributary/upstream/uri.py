"""The distro URL templates: ``dist-git-base-uri`` and ``lookaside-base-uri`` with ``$pkg`` and friends.

azldev substitutes ``$pkg``, ``$filename``, ``$hashtype`` and ``$hash`` with URL-path-escaped values.
Each value is one path segment, so it is escaped as one (Go's ``url.PathEscape``: a ``/`` in a value is
escaped, ``+`` in ``libxml++`` is not). A template without a scheme is a local path; its values are
used as written, but may not contain a ``/`` or be ``..``, which would step out of the intended place.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

from tributary.upstream.errors import UpstreamError

PLACEHOLDERS = ("hashtype", "filename", "hash", "pkg")  # longest first: $hashtype is not $hash + "type"
_PLACEHOLDER = re.compile(r"\$(" + "|".join(PLACEHOLDERS) + ")")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# What Go's url.PathEscape leaves alone besides letters, digits and "-._~".
_SEGMENT_SAFE = "$&+:=@"


def has_scheme(location: str) -> bool:
    return bool(_SCHEME.match(location))


def expand(template: str, **values: str) -> str:
    """``template`` with each ``$name`` replaced by ``values[name]`` (escaped when it is a URL).

    A placeholder the caller gives no value for is an error rather than a literal ``$pkg`` in a URL.
    """
    url = has_scheme(template)

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise UpstreamError(f"template {template!r} uses ${name}, which has no value here")
        value = values[name]
        if url:
            return quote(value, safe=_SEGMENT_SAFE)
        if "/" in value or value in ("", ".", ".."):
            raise UpstreamError(f"${name} value {value!r} cannot be used in the path template {template!r}")
        return value

    return _PLACEHOLDER.sub(replace, template)


def local_path(location: str) -> str | None:
    """The file-system path a ``file://`` URL or plain path names; None for a network URL."""
    if not has_scheme(location):
        return location
    parts = urlsplit(location)
    if parts.scheme == "file" and parts.netloc in ("", "localhost"):
        return unquote(parts.path)
    return None


def redact(url: str) -> str:
    """``url`` without a password, for messages (``https://user:secret@host`` -> ``https://user@host``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}@{netloc}").geturl()
