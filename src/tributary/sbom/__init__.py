"""SBOMs and build provenance, made from what the build itself knows.

One model (``model``) of what was built is gathered from the project, its locks, the rendered
components and the build outputs (``collect``); SPDX 2.3 (``spdx``) and CycloneDX 1.6 (``cyclonedx``)
documents are two renderings of that one model, so they cannot disagree. ``provenance`` makes and
checks the signed in-toto/SLSA statement of each build; ``write`` puts everything under
``<output-dir>/sbom/`` and gives images the files they carry inside. docs/SBOM.md is the reader's
guide to every field.

This is a late stage: it reads config, upstream, render, build, repo and image; only the audit (the
other late stage, which compares an image's rpmdb with its SBOM) and the CLI read it.
"""

EMBED_DIR = "/usr/share/tributary/sbom"
"""Where an image carries its own SBOM: ``<EMBED_DIR>/<image>.spdx.json`` and ``<image>.cdx.json``.

A contract: the audit reads the SPDX file there and compares its RPM purls with the image's rpmdb.
"""
