"""The tables load tools read themselves (`[profiles.P.<tool>]`): each tool registers its reader
here, so settings learns no tool's keys and a new tool needs no change in this package.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from perfdash.settings.errors import ToolTableError
from perfdash.settings.toml_reader import TomlReader


@dataclass(frozen=True)
class ToolTable:
    """A load tool's own table of a profile (`[profiles.P.<tool>]`) as the tool read it: settings
    keeps the script and the planned length, which the run needs of every tool, and hands the rest
    (`options`, the tool's own typed object) back to the tool that wrote it."""

    script: Path
    planned_s: float
    options: object = None
    # the table as written, kept in summary.json so `show` reads it again with the tool's reader
    raw: Mapping[str, Any] = field(default_factory=dict)


# (the table's contents, the project directory) -> the table read, or ToolTableError
ToolTableReader = Callable[[Mapping[str, Any], Path], ToolTable]
TOOL_TABLE_READERS: dict[str, ToolTableReader] = {}


def register_tool_table(name: str, reader: ToolTableReader) -> None:
    """Let a load tool read and validate `[profiles.P.<name>]` itself: the tool registry calls this
    for every tool that has a table of its own, so a new tool needs no key here."""
    TOOL_TABLE_READERS[name] = reader


def register_tools() -> None:
    """Import the tool registry, which registers each tool's table. Named at run time because the
    tools are built on this package's types: a static import would be a cycle."""
    importlib.import_module("perfdash.tools")


def read_profile_tool_tables(r: TomlReader, project: Path, table: str, data: Mapping[str, Any],
                             ) -> dict[str, ToolTable]:
    """The profile's tables of tools that read their own, each read by its tool."""
    out: dict[str, ToolTable] = {}
    for tool, reader in TOOL_TABLE_READERS.items():
        if tool not in data:
            continue
        sub = f"{table}.{tool}"
        raw = r.table(data, table, tool)
        try:
            out[tool] = replace(reader(raw, project), raw=dict(raw))
        except ToolTableError as exc:
            raise r.fail(sub, exc.key, exc.problem, exc.fix) from None
    return out


def read_tool_tables(raw: Mapping[str, Any], project: Path) -> dict[str, ToolTable]:
    """Tool tables kept in a run's summary, read again by their tools; a table its tool no longer
    reads (written by another perfdash version, or a tool not installed here) is left out."""
    register_tools()
    out: dict[str, ToolTable] = {}
    for tool, table in raw.items():
        reader = TOOL_TABLE_READERS.get(tool)
        if reader is None or not isinstance(table, Mapping):
            continue
        try:
            out[tool] = replace(reader(table, project), raw=dict(table))
        except ToolTableError:
            continue
    return out
