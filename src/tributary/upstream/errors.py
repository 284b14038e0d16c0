"""Errors of the upstream stage: a dist-git repository, commit or lookaside file we could not use."""

from __future__ import annotations

from tributary.errors import TribError


class UpstreamError(TribError):
    """Upstream could not give what the configuration asks for (repository, branch, commit, file)."""


class CommitNotFound(UpstreamError):
    """A pinned or locked commit is not on the branch (mistyped, or upstream rewrote its history)."""


class DownloadError(UpstreamError):
    """A lookaside or origin download failed or did not match its hash; nothing of it was kept."""
