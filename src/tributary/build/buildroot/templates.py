"""Jinja2 templates in buildroot definitions, rendered as mock renders its config values.

One renderer serves mock configs and tributary's TOML form alike. Some names are expensive to compute
(``tributary_stage0`` makes this host's stage-0 repository on first use), so they are computed only
when a template refers to them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jinja2
import jinja2.meta

Variables = Mapping[str, Callable[[], Any]]


class Templates:
    """Renders strings against ``context``; ``variables`` are computed (once) when first referred to.

    Undefined names are errors (jinja2.UndefinedError), never silently empty.
    """

    def __init__(self, context: Mapping[str, Any], variables: Variables | None = None):
        self.context = dict(context)
        self.pending = dict(variables or {})
        self.used: set[str] = set()  # every name a template referred to
        self.environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                                              autoescape=False)

    def render(self, text: str) -> str:
        """``text`` rendered once; raises jinja2.TemplateError."""
        if "{{" not in text and "{%" not in text:
            return text
        names = jinja2.meta.find_undeclared_variables(self.environment.parse(text))
        self.used |= names
        for name in names & self.pending.keys():
            self.context[name] = self.pending.pop(name)()
        return self.environment.from_string(text).render(self.context)
