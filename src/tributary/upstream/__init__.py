"""Upstream: where a component's unmodified spec and files come from (local directory or dist-git)."""
