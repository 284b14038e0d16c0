"""Errors of the upstream stage: a dist-git repository, commit or lookaside file we could not use."""

from __future__ import annotations

from tributary.errors import TribError


class UpstreamError(TribError):
    """Upstream could not give what the configuration asks for (repository, branch, commit, file)."""


class CommitNotFound(UpstreamError):
    """A pinned or locked commit is not on the branch (mistyped, or upstream rewrote its history)."""


class DownloadError(UpstreamError):
    """A lookaside or origin download failed or did not match its hash; nothing of it was kept."""


class NetworkError(UpstreamError):
    """A server could not be reached, stalled or failed on its side (refused, time-out, reset, 5xx).

    Such a failure may pass: it is reported and tried again by the next run, and it never replaces
    output that was rendered before (``render``) or a lock that was written before (``comp update``).
    """

    temporary = True


class HistoryRewritten(CommitNotFound):
    """A locked commit is no longer on its branch upstream: the branch was force-pushed.

    That is a supply-chain signal, not bad input, so it fails a check (exit status 1); moving the lock
    to the rewritten branch takes an explicit ``--accept-rewritten-history``.
    """

    exit_code = 1
