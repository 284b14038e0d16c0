"""How every SBOM and provenance file is serialized: indented JSON, UTF-8 as is, one final newline."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def dump(document: Mapping[str, Any]) -> bytes:
    """``document`` as the bytes written to disk (and hashed for SPDX namespaces and CycloneDX serials)."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
