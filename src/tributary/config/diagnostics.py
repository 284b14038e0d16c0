"""Turn pydantic's validation errors into ``file:line: key: what is wrong`` messages.

A maintainer reading a config error wants the line to open and a plain sentence, with a suggestion when
the mistake looks like a typo. This module knows how to say that; ``locate`` knows where the line is.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from tributary.config.locate import find_line
from tributary.errors import ConfigError, Location


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ``; did you mean 'x'?`` suffix when a close choice exists, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def dotted(keys: Sequence[str | int]) -> str:
    """``components.curl.overlays[2].regex`` from a key path."""
    text = ""
    for key in keys:
        if isinstance(key, int):
            text += f"[{key}]"
        else:
            shown = key if key.replace("-", "").replace("_", "").isalnum() else f'"{key}"'
            text += f".{shown}" if text else shown
    return text


def located(path: Path, keys: Sequence[str | int], message: str, *, hint: str | None = None) -> ConfigError:
    """A ConfigError pointing at the line that defines ``keys`` in ``path``."""
    return ConfigError(message, where=Location(path, find_line(path, keys)), hint=hint)


def from_validation(
    error: ValidationError, path: Path, root_model: type[BaseModel], prefix: Sequence[str | int] = ()
) -> ConfigError:
    """Convert every problem pydantic found in one file into one error of several one-line messages."""
    messages: list[ConfigError] = []
    problems = error.errors(include_url=False)
    # A table with an unknown key and a missing one most likely has the missing key misspelt: the
    # unknown key's message (with its suggestion) is the one to read.
    misspelt = {item["loc"][:-1] for item in problems if item["type"] == "extra_forbidden"}
    for item in problems:
        if item["type"] == "missing" and item["loc"][:-1] in misspelt:
            continue
        model_loc = tuple(k for k in item["loc"] if not _is_internal_loc(k))
        if item["type"] == "union_tag_invalid":  # the wrong value is the discriminator's: point at it
            model_loc += (str(item.get("ctx", {}).get("discriminator", "")).strip("'"),)
        loc = tuple(prefix) + _without_tags(root_model, model_loc)
        messages.append(located(path, loc, _describe(item, model_loc, root_model, loc)))
    if len(messages) == 1:
        return messages[0]
    return ConfigError("\n".join(str(m) for m in messages))  # one line per problem, each with its place


def drop_unknown_keys(
    error: ValidationError, raw: dict[str, Any], path: Path, root_model: type[BaseModel]
) -> list[ConfigError]:
    """For ``--permissive-config``: remove from ``raw`` every key pydantic found unknown, and return one
    ``file:line: unknown key ... ignored`` warning for each. Other problems are left for the caller to
    find by validating again."""
    dropped: list[ConfigError] = []
    for item in error.errors(include_url=False):
        if item["type"] != "extra_forbidden":
            continue
        model_loc = tuple(k for k in item["loc"] if not _is_internal_loc(k))
        loc = _without_tags(root_model, model_loc)
        warning = located(path, loc, f"{_describe(item, model_loc, root_model, loc)}: ignored (--permissive-config)")
        table: Any = raw
        for key in loc[:-1]:
            table = table[key] if isinstance(table, (dict, list)) else None
        if isinstance(table, dict) and table.pop(loc[-1], None) is not None:
            dropped.append(warning)
    return dropped


def _is_internal_loc(key: Any) -> bool:
    # pydantic inserts the name of a function validator or union member in some paths.
    return isinstance(key, str) and ("[" in key or key.startswith("function-"))


def _without_tags(model: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """``loc`` without the union tags pydantic puts in the path of a discriminated union's member
    (``overlays.0.spec-add-tag.tag``): the TOML has no such key."""
    kept: list[Any] = []
    current = model
    for key in loc:
        member = _union_member(current, key)
        if member is not None:
            current = member
            continue
        kept.append(key)
        current = _step(current, key) if current is not None else None
    return tuple(kept)


def _describe(item: ErrorDetails, loc: tuple[Any, ...], root_model: type[BaseModel], full: tuple[Any, ...]) -> str:
    kind = item["type"]
    where = dotted(full)
    if kind == "union_tag_invalid":  # a discriminated union's tag names no member
        choices = [part.strip(" '") for part in str(item.get("ctx", {}).get("expected_tags", "")).split(",")]
        value = str(item.get("ctx", {}).get("tag", ""))
        return f"{where}: {value!r} is not one of {', '.join(map(repr, choices))}" + did_you_mean(value, choices)
    if kind == "union_tag_not_found":
        field = str(item.get("ctx", {}).get("discriminator", "")).strip("'")
        return f"{where or 'the top level'}: missing required key {field!r}"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(root_model, loc[:-1])
        return f"unknown key {key!r} in {dotted(full[:-1]) or 'the top level'}" + did_you_mean(key, allowed)
    if kind in ("enum", "literal_error"):
        expected = item.get("ctx", {}).get("expected", "")
        choices = [part.strip(" '") for part in expected.replace(" or ", ",").split(",") if part.strip(" '")]
        value = item.get("input")
        return f"{where}: {value!r} is not one of {', '.join(map(repr, choices))}" + did_you_mean(str(value), choices)
    if kind == "missing":
        return f"{dotted(full[:-1]) or 'the top level'}: missing required key {full[-1]!r}"
    if kind == "model_type":  # pydantic would name its class ("instance of CheckConfig"): show the table
        shape = _table_shape(_model_at(root_model, loc))
        such = f" such as {shape}" if shape else ""
        return f"{where}: expected a table{such}, got {_type_name(item.get('input'))} {item.get('input')!r}"
    if kind == "value_error":
        message = str(item.get("ctx", {}).get("error", item["msg"]))
        return f"{where}: {message}" if where else message
    expected = item["msg"].removeprefix("Input should be ").removeprefix("Value error, ")
    return f"{where}: expected {expected}, got {_type_name(item.get('input'))} {item.get('input')!r}"


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}.get(
        type(value), type(value).__name__
    )


def _allowed_keys(model: Any, loc: tuple[Any, ...]) -> list[str]:
    """The keys a table at ``loc`` accepts, found by walking the model's annotations."""
    table = _model_at(model, loc)
    return [info.alias or name for name, info in table.model_fields.items()] if table else []


def _model_at(model: Any, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model of the table at ``loc``, found by walking the annotations; None when it is no table."""
    current: Any = model
    for key in loc:
        current = _step(current, key)
        if current is None:
            return None
    current = _unwrap_model(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


_SHAPE_KEYS = 4  # keys shown in an expected table's shape; more are "..."


def _table_shape(model: type[BaseModel] | None) -> str:
    """``{ skip = boolean, skip_reason = string }``: the keys a table takes and their kinds, in TOML terms."""
    if model is None or not model.model_fields:
        return ""
    items = [f"{info.alias or name} = {_kind_name(info.annotation)}" for name, info in model.model_fields.items()]
    shown = items[:_SHAPE_KEYS] + (["..."] if len(items) > _SHAPE_KEYS else [])
    return "{ " + ", ".join(shown) + " }"


def _kind_name(annotation: Any) -> str:
    annotation = _unwrap_optional(annotation)
    origin = typing.get_origin(annotation) or annotation
    if origin in (typing.Literal,):
        return " or ".join(repr(value) for value in typing.get_args(annotation))
    if isinstance(origin, type):
        if issubclass(origin, BaseModel):
            return "table"
        for kind, name in ((bool, "boolean"), (int, "integer"), (float, "float"), (str, "string"), (list, "array"),
                           (dict, "table")):
            if issubclass(origin, kind):
                return name
    return "value"


def _union_member(annotation: Any, key: Any) -> Any:
    """The model of a discriminated union that the tag ``key`` selects; None when ``annotation`` is not
    such a union or ``key`` is not one of its tags."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    union, *extras = typing.get_args(annotation)
    field = next((meta.discriminator for meta in extras if isinstance(getattr(meta, "discriminator", None), str)), None)
    if field is None:
        return None
    for member in typing.get_args(union):
        info = member.model_fields.get(field) if isinstance(member, type) and issubclass(member, BaseModel) else None
        if info is not None and key in typing.get_args(info.annotation):
            return member
    return None


def _step(annotation: Any, key: Any) -> Any:
    member = _union_member(annotation, key)
    if member is not None:
        return member
    annotation = _unwrap_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if key in (name, info.alias):
                return info.annotation
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is dict and args:
        return args[1]
    if origin is list and args:
        return args[0]
    return None


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _unwrap_model(annotation: Any) -> Any:
    return _unwrap_optional(annotation)
