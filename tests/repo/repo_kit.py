"""Helpers of the repository tests that are not fixtures."""

from __future__ import annotations

from pathlib import Path


def tamper(path: Path, *, offset_from_end: int = 40) -> None:
    """Flip one byte near the end of ``path`` (in an RPM: inside the compressed payload)."""
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[-offset_from_end] ^= 0xFF
    path.write_bytes(bytes(data))
