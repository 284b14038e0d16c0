"""Physical lines of a spec, each with its own line ending, so that a parse always prints back exactly.

rpm reads a spec line by line on ``\\n``; a ``\\r`` before it is part of a CRLF ending. A lone ``\\r``
elsewhere is ordinary content: it ends no line for rpm, so it ends none here. Contents and endings are
kept in two parallel lists because every edit works on contents while the bytes between lines must
survive untouched; the last line may have no ending at all.
"""

from __future__ import annotations

from collections.abc import Sequence

LF = "\n"
CRLF = "\r\n"


def split_lines(text: str) -> tuple[list[str], list[str]]:
    """Split ``text`` into line contents and their endings (``"\\n"``, ``"\\r\\n"`` or ``""`` for a
    last line without one)."""
    carriage_returns = text.count("\r")
    if carriage_returns == 0:
        return _split_uniform(text, LF)
    if carriage_returns == text.count(CRLF) == text.count(LF):
        return _split_uniform(text, CRLF)
    return _split_mixed(text)


def _split_uniform(text: str, ending: str) -> tuple[list[str], list[str]]:
    contents = text.split(ending)
    tail = contents.pop()
    endings = [ending] * len(contents)
    if tail:
        contents.append(tail)
        endings.append("")
    return contents, endings


def _terminated(parts: Sequence[str]) -> tuple[list[str], list[str]]:
    """Lines that each ended with LF, read back as content plus ending (a trailing CR makes CRLF)."""
    contents: list[str] = []
    endings: list[str] = []
    for part in parts:
        if part.endswith("\r"):
            contents.append(part[:-1])
            endings.append(CRLF)
        else:
            contents.append(part)
            endings.append(LF)
    return contents, endings


def _split_mixed(text: str) -> tuple[list[str], list[str]]:
    parts = text.split(LF)
    tail = parts.pop()
    contents, endings = _terminated(parts)
    if tail:
        contents.append(tail)
        endings.append("")
    return contents, endings


def join_lines(contents: Sequence[str], endings: Sequence[str]) -> str:
    """The exact inverse of :func:`split_lines`."""
    interleaved: list[str] = [""] * (2 * len(contents))
    interleaved[::2] = contents
    interleaved[1::2] = endings
    return "".join(interleaved)


def dominant_newline(text: str) -> str:
    """The ending new lines should get: CRLF only when most lines of the file already use it."""
    if "\r" not in text:
        return LF
    crlf = text.count(CRLF)
    return CRLF if crlf * 2 > text.count(LF) else LF


def split_text(text: str, last_ending: str) -> tuple[list[str], list[str]]:
    """Physical lines for text written into a document: every newline inside ``text`` is kept
    verbatim and starts a further line, and the last piece ends with ``last_ending``."""
    parts = text.split(LF)
    contents, endings = _terminated(parts[:-1])
    last = parts[-1]
    if last_ending == LF and last.endswith("\r"):
        last, last_ending = last[:-1], CRLF  # the same bytes, read the way split_lines reads them
    contents.append(last)
    endings.append(last_ending)
    return contents, endings
