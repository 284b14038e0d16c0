"""The last stage: a static website of the distribution, from what every other stage recorded.

Home (the distribution, its counts, its changes from upstream as charts, build health), a sortable and
filterable table of every component, a page per component (upstream, each overlay with the diff it
causes, the build and its log, packages, SBOMs, provenance and the ELF audit), images (formats, test,
audit) and the change and audit reports, plus ``index.json`` for scripts. It may import every other
stage; none imports it.
"""

from tributary.site.writer import SiteResult, write_site

__all__ = ["SiteResult", "write_site"]
