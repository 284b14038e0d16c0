"""Stands first on sys.path when .ci/pure-tests runs: the pure tests must not load rpm's bindings.

Under a Python other than the one Debian's python3-rpm is built for, PyPI's `rpm` shim would load that
C extension into an interpreter of another ABI; a pure test that imports rpm fails here instead.
"""

raise ImportError("rpm: the pure tests run without rpm's Python bindings (.ci/pure-tests)")
