"""Errors of the repository stage."""

from __future__ import annotations

from tributary.errors import TribError


class RepoError(TribError):
    """A repository could not be published or read (unreadable RPM, clashing files, bad metadata)."""
