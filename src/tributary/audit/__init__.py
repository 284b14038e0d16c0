"""The release audit: hardening of every ELF file in the built RPMs, and security settings of images.

``elf`` judges one file, ``rpms`` walks RPM payloads, ``image`` reads a built image artifact,
``policy`` applies the project's ``[audit]`` table (required checks, waivers) and ``report`` renders
and compares the results. See docs/AUDIT.md.
"""
