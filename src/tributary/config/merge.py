"""How tables from several files and inheritance layers combine, reproducing azldev's rules.

Two merge flavours exist in azldev and both are kept:

* **override** (``project``, ``distros``, ``tools``, ``default-package-config``): tables merge key by key,
  a later non-empty value wins, an empty one never clears, and arrays are *replaced*.
* **component** (every ComponentConfig layer): like override for scalars, but arrays are *appended*
  (``overlays``, ``source-files``, ``build.with``...) except ``overlay-files``, which is replaced.

Because "empty never overrides", azldev cannot turn an inherited ``true`` off or drop an inherited list
item. tributary adds ``unset = ["dotted.key", ...]`` to any ComponentConfig layer: the named inherited
values are removed before that layer's own values apply (so ``unset = ["overlays"]`` followed by new
``overlays`` replaces the list).
"""

from __future__ import annotations

import copy
from typing import Any

_REPLACED_LISTS = frozenset({"overlay-files"})

# merged key path -> (layer index, the same key path inside that layer)
Trace = dict[tuple[Any, ...], tuple[int, tuple[Any, ...]]]


def is_empty(value: Any) -> bool:
    """azldev's "zero value": it never overrides an earlier one."""
    return value is None or value is False or value == "" or (value == 0 and not isinstance(value, bool))


def merge_override(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    """Field-level override: non-empty later values win, tables recurse, arrays are replaced."""
    result = dict(base)
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge_override(result[key], value)
        elif isinstance(value, list):
            if value:
                result[key] = list(value)
        elif not is_empty(value) or key not in result:
            result[key] = value
    return result


def merge_component(
    base: dict[str, Any], layer: dict[str, Any], *, trace: Trace | None = None, layer_index: int = 0
) -> dict[str, Any]:
    """Apply one inheritance layer on top of ``base`` (neither is modified).

    With ``trace``, record for each key path which layer set it (list items by their position), so
    ``comp query -v`` can say where a value came from.
    """
    result = copy.copy(base)
    for dotted in layer.get("unset", []):
        _remove(result, dotted.split("."), trace)
    _merge_into(result, layer, (), (), trace, layer_index)
    return result


def _merge_into(
    target: dict[str, Any],
    layer: dict[str, Any],
    path: tuple[Any, ...],
    local: tuple[Any, ...],
    trace: Trace | None,
    index: int,
) -> None:
    for key, value in layer.items():
        if key == "unset":
            continue
        here = (*path, key)
        here_local = (*local, key)
        current = target.get(key)
        if isinstance(value, dict):
            merged = dict(current) if isinstance(current, dict) else {}
            _merge_into(merged, value, here, here_local, trace, index)
            target[key] = merged
            if trace is not None and not value:
                trace.setdefault(here, (index, here_local))
        elif isinstance(value, list):
            if key in _REPLACED_LISTS or not isinstance(current, list):
                target[key] = list(value)
                offset = 0
                if trace is not None:
                    _forget(trace, here)
            else:
                offset = len(current)
                target[key] = current + list(value)
            if trace is not None:
                trace[here] = (index, here_local)
                for position, item in enumerate(value):
                    _trace_tree(trace, (*here, offset + position), (*here_local, position), item, index)
        elif not is_empty(value) or key not in target:
            target[key] = value
            if trace is not None:
                trace[here] = (index, here_local)


def _trace_tree(trace: Trace, path: tuple[Any, ...], local: tuple[Any, ...], value: Any, index: int) -> None:
    trace[path] = (index, local)
    if isinstance(value, dict):
        for key, inner in value.items():
            _trace_tree(trace, (*path, key), (*local, key), inner, index)


def _forget(trace: Trace, prefix: tuple[Any, ...]) -> None:
    for key in [k for k in trace if k[: len(prefix)] == prefix]:
        del trace[key]


def _remove(table: dict[str, Any], parts: list[str], trace: Trace | None) -> None:
    """Drop ``parts`` from ``table``, copying each nested table on the way so shared layers stay intact."""
    node = table
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            return
        node[part] = dict(child)
        node = node[part]
    node.pop(parts[-1], None)
    if trace is not None:
        _forget(trace, tuple(parts))
