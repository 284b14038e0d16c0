"""Thin wrappers around external programs: one module per program.

Each module builds argument lists and turns the program's failures into ``TribError`` subclasses with a
readable message. Policy (what to fetch, which commit, where to cache) lives in the stages, not here.
"""
