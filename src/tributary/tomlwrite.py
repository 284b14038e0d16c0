"""TOML text from plain data (dicts, lists, strings, numbers, booleans): what ``tomllib`` reads back as
the same data. Used where tributary writes configuration for people to read (``config dump -f toml``,
``comp add``, ``project new``), so it favours tables over inline tables. ``None`` values are left out
(TOML has no null).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def dumps(data: Mapping[str, Any]) -> str:
    """The document: plain keys first, then each table (``[a.b]``) and array of tables (``[[a.b]]``)."""
    lines: list[str] = []
    _table(data, (), lines)
    return "\n".join(lines).lstrip("\n") + ("\n" if lines else "")


def key(name: str) -> str:
    """A key as TOML writes it: bare when it can be, else quoted."""
    return name if _BARE_KEY.match(name) else _string(name)


def value(item: Any) -> str:
    """One value as inline TOML (strings quoted, tables inline)."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, float):
        if math.isnan(item):
            return "nan"
        if math.isinf(item):
            return "inf" if item > 0 else "-inf"
        return repr(item)
    if isinstance(item, str):
        return _string(item)
    if isinstance(item, (datetime, date, time)):
        return item.isoformat()
    if isinstance(item, Mapping):
        inner = ", ".join(f"{key(k)} = {value(v)}" for k, v in item.items() if v is not None)
        return f"{{ {inner} }}" if inner else "{}"
    if isinstance(item, Sequence):
        return "[" + ", ".join(value(v) for v in item if v is not None) + "]"
    raise TypeError(f"cannot write {type(item).__name__} as TOML")


def _string(text: str) -> str:
    # A JSON string is a TOML basic string: the same escapes (\" \\ \n \t \uXXXX).
    return json.dumps(text, ensure_ascii=False)


def _is_table_array(item: Any) -> bool:
    return isinstance(item, Sequence) and not isinstance(item, str) and bool(item) \
        and all(isinstance(v, Mapping) for v in item)


def _table(data: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    nested = []
    for name, item in data.items():
        if item is None:
            continue
        if (isinstance(item, Mapping) and item) or _is_table_array(item):
            nested.append((name, item))
        else:
            lines.append(f"{key(name)} = {value(item)}")
    for name, item in nested:
        here = (*path, key(name))
        if isinstance(item, Mapping):
            if any(not (isinstance(v, Mapping) and v) for v in item.values() if v is not None):
                lines += ["", f"[{'.'.join(here)}]"]
            _table(item, here, lines)
        else:
            for entry in item:
                lines += ["", f"[[{'.'.join(here)}]]"]
                _table(entry, here, lines)
