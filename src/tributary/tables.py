"""The base of every typed TOML table: kebab-case keys, unknown keys rejected, immutable, one JSON form.

TOML keys are kebab-case (``rendered-specs-dir``); Python fields are snake_case and JSON output is
camelCase. The configuration models (``tributary.config.model``) and the overlay models
(``tributary.overlays``) both derive from ``Model``.
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any, cast

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


def kebab(name: str) -> str:
    return name.replace("_", "-")


class Model(BaseModel):
    """Base for every configuration table: kebab-case keys, unknown keys rejected, immutable."""

    model_config = ConfigDict(
        alias_generator=kebab,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_enum_values=True,
        defer_build=True,
    )

    def to_json(self) -> dict[str, Any]:
        """This table as JSON-ready data: camelCase field names, user-chosen keys as written, unset
        (None) fields left out."""
        return cast(dict[str, Any], json_value(self))

    def json_shows(self, name: str, value: Any) -> bool:
        """Whether field ``name`` (holding ``value``) appears in ``to_json``: every field that is not
        None, except an empty ``unset`` list."""
        return value is not None and not (name == "unset" and not value)


def json_value(value: Any) -> Any:
    """``value`` as JSON-ready data (models through ``Model.to_json``'s rules, dates as ISO text)."""
    if isinstance(value, BaseModel):
        out: dict[str, Any] = {}
        for name, info in type(value).model_fields.items():
            item = getattr(value, name)
            shown = value.json_shows(name, item) if isinstance(value, Model) else item is not None
            if shown:
                out[to_camel((info.alias or name).replace("-", "_").lstrip("$"))] = json_value(item)
        return out
    if isinstance(value, dict):
        return {key: json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value
