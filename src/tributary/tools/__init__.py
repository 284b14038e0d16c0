"""Thin wrappers around external programs: one module per program.

Each module builds argument lists and reads the program's output; ``tools.process`` starts, waits for
and stops every program (clean environment, time limit, nothing left running) and is the only module
that imports ``subprocess``. Every failure is a ``process.ToolError`` (or a subclass of it) quoting the
program's last complaint. Policy (what to fetch, which commit, where to cache) lives in the stages, not here.
"""
