"""Render: upstream spec + overlays -> the rendered spec and its sidecar files, and what changed."""
