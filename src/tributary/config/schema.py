"""The JSON Schema of the whole configuration format, for editors and for ``trib config schema``.

Generated from the typed models, so it cannot drift from what the loader accepts.
"""

from __future__ import annotations

from typing import Any

from tributary.config.model import ConfigFile, OverlayFile

SCHEMA_ID = "https://tributary.invalid/schemas/azldev.schema.json"


def config_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one project TOML file; every table rejects unknown keys."""
    schema = ConfigFile.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "azldev / tributary project configuration"
    return schema


def overlay_file_schema() -> dict[str, Any]:
    """JSON Schema of a per-file overlay document (``*.overlay.toml``)."""
    schema = OverlayFile.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "tributary overlay file"
    return schema
