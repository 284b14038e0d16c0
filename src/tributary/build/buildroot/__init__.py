"""Buildroots defined by repositories (mock's and Koji's model), assembled with dnf and cached.

``definition`` says what a buildroot is; ``mockcfg``/``frommock`` read one from a mock config,
``native`` from tributary's TOML form, ``choose`` picks the project's (or the default); ``repos``
pins repositories by their metadata; ``roots`` makes and caches the root trees builds run in.
"""
