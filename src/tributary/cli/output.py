"""Rendering of command results: a table on a terminal, JSON (camelCase) or CSV for scripts, or Markdown.

Commands hand over plain data (rows of dicts with camelCase keys, or one dict) and a column list; this
module is the only place that knows the output formats. rich is imported only to draw a table: a
command that prints JSON does not pay for it.
"""

from __future__ import annotations

import csv
import html
import io
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from tributary.config import Project


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"
    html = "html"
    csv = "csv"


@dataclass(frozen=True)
class Column:
    key: str
    title: str


@dataclass
class Settings:
    """Global flags, shared by every command through typer's context."""

    project_dir: Any = None
    config_files: tuple[Any, ...] = ()
    output: OutputFormat = OutputFormat.table
    quiet: bool = False
    verbose: bool = False
    color: str = "auto"
    dry_run: bool = False
    """``-n``: commands that support it report what they would do and write nothing (see cli.conventions)."""
    permissive_config: bool = False
    """``--permissive-config``: unknown keys in the project's TOML files are warnings, not errors."""
    default_config: bool = True
    """False with ``--no-default-config``: tributary's built-in defaults (azldev's) are left out."""
    strict: bool = False
    """Configuration warnings are errors (``--strict``)."""
    project: Project | None = None
    """The project, once a command has loaded it (``common.project``)."""

    @property
    def console(self) -> Console:
        from rich.console import Console

        return Console(no_color=self.color == "never", force_terminal=self.color == "always" or None, highlight=False)

    @property
    def err_console(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, no_color=self.color == "never", highlight=False)


def emit_rows(
    settings: Settings,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    *,
    title: str | None = None,
    empty: str = "nothing to show",
) -> None:
    """Print a list of records; JSON gets every key of every row, tables and Markdown the columns.

    An empty table prints ``empty`` (to stderr) instead of a frame with no rows.
    """
    if settings.output == OutputFormat.json:
        _print_json_rows(rows)
        return
    if settings.output == OutputFormat.markdown:
        print(markdown_table(rows, columns))
        return
    if settings.output == OutputFormat.html:
        print(html_table(rows, columns, title=title))
        return
    if settings.output == OutputFormat.csv:
        sys.stdout.write(csv_table(rows, columns))
        return
    if not rows:
        settings.err_console.print(empty, markup=False)
        return
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column.title, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(column.key)) for column in columns))
    settings.console.print(table)


def emit_object(settings: Settings, data: dict[str, Any]) -> None:
    """Print one record: JSON as is, otherwise as key/value lines."""
    if settings.output == OutputFormat.json:
        _print_json(data)
        return
    rows = [{"key": key, "value": value} for key, value in _flatten(data)]
    emit_rows(settings, rows, [Column("key", "Key"), Column("value", "Value")])


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> str:
    header = "| " + " | ".join(c.title for c in columns) + " |"
    rule = "| " + " | ".join("---" for _ in columns) + " |"
    body = [
        "| " + " | ".join(_cell(row.get(c.key)).replace("|", "\\|").replace("\n", " ") for c in columns) + " |"
        for row in rows
    ]
    return "\n".join([header, rule, *body])


def csv_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> str:
    """The table as CSV (RFC 4180): a header of the column titles, then one line per row, as azldev's ``-O csv``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.title for c in columns])
    writer.writerows([_cell(row.get(c.key)) for c in columns] for row in rows)
    return buffer.getvalue()


def html_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], *, title: str | None = None) -> str:
    """A standalone HTML page holding one table, every cell escaped."""
    head = "".join(f"<th>{html.escape(c.title)}</th>" for c in columns)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(row.get(c.key)))}</td>" for c in columns) + "</tr>" for row in rows
    )
    caption = f"<caption>{html.escape(title)}</caption>" if title else ""
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title or 'trib')}</title></head><body>\n"
        f"<table>{caption}\n<tr>{head}</tr>\n{body}\n</table></body></html>"
    )


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def _print_json_rows(rows: Sequence[dict[str, Any]]) -> None:
    """A JSON array with one record per line: as readable to a person scanning it and to ``jq`` as the
    indented form, and written by json's C encoder, which thousands of rows need (it cannot indent)."""
    if not rows:
        sys.stdout.write("[]\n")
        return
    encode = json.JSONEncoder(default=str).encode
    sys.stdout.write("[\n" + ",\n".join(encode(row) for row in rows) + "\n]\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(data, dict) and data:
        out: list[tuple[str, str]] = []
        for key, value in data.items():
            out.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(data, list) and data and any(isinstance(v, (dict, list)) for v in data):
        out = []
        for index, value in enumerate(data):
            out.extend(_flatten(value, f"{prefix}[{index}]"))
        return out
    return [
        (
            prefix,
            _cell(data) if not isinstance(data, (dict, list)) or data else "[]" if isinstance(data, list) else "{}",
        )
    ]
