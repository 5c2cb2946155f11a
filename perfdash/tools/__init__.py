"""The load tools perfdash can drive, each behind the `LoadTool` seam (`perfdash.tools.base`).

A tool is its package plus one line in the `perfdash.tools` entry-point group of pyproject.toml
(`name = "module:Class"`); this registry reads that group, so nothing else names a tool. Where the
installed metadata has no such group (a source checkout run without installing it, or an install
made before the group existed) the checkout's own pyproject.toml is read instead, and failing that
the two tools perfdash has always shipped, so a run never finds itself without k6.

A tool with a table of its own in profiles.toml (`read_table`) registers it with the settings here,
so settings validate `[profiles.P.<tool>]` through the tool itself.
"""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from perfdash.events import register_former_name
from perfdash.settings import Profile, register_tool_table
from perfdash.tools.base import LoadTool
from perfdash.tools.live import (
    DEFAULT_SPEC,
    ChartLine,
    LiveLimit,
    LiveSpec,
    chart_lines,
    field_columns,
    spec_of,
)

GROUP = "perfdash.tools"
# The order a sequential profile runs its tools in when the group holds them (the others follow by
# name): k6 then Artillery, as before the registry, whatever order the metadata lists them in.
_FIRST = ("k6", "artillery")
_BUILT_IN = (("k6", "perfdash.tools.k6:K6Tool"), ("artillery", "perfdash.tools.artillery:ArtilleryTool"))
_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


@dataclass(frozen=True)
class Entry:
    """One registry line: the tool's name and where its class is (`module:Class`)."""

    name: str
    value: str

    def load(self) -> Any:
        module, _, attr = self.value.partition(":")
        obj: Any = importlib.import_module(module)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
        return obj


# Registry lines that could not be loaded, with why: preflight and `doctor` can say so.
LOAD_PROBLEMS: list[str] = []


def installed_entries() -> list[Entry]:
    """The group as the installed metadata declares it (empty when it does not)."""
    try:
        found = metadata.entry_points(group=GROUP)
    except Exception:  # broken metadata of some unrelated distribution must not stop a run
        return []
    return [Entry(ep.name, ep.value) for ep in found]


def checkout_entries(pyproject: Path = _PYPROJECT) -> list[Entry]:
    """The group as the source checkout's pyproject.toml declares it (empty when this is not a
    perfdash checkout or it declares none)."""
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    project = data.get("project") or {}
    if not isinstance(project, dict) or project.get("name") != "perfdash":
        return []
    group = (project.get("entry-points") or {}).get(GROUP) or {}
    return [Entry(str(k), str(v)) for k, v in group.items()] if isinstance(group, dict) else []


def load_tools(entries: Iterable[Entry | metadata.EntryPoint] | None = None) -> tuple[LoadTool, ...]:
    """One instance per registry line, k6 and Artillery first, one per name (the first line wins).

    `entries` None: the installed group, else the checkout's, else the built-ins. A line whose
    class cannot be imported or built is left out and said in LOAD_PROBLEMS."""
    if entries is None:
        listed: Sequence[Entry | metadata.EntryPoint] = (
            installed_entries() or checkout_entries() or [Entry(n, v) for n, v in _BUILT_IN])
    else:
        listed = list(entries)
    tools: dict[str, LoadTool] = {}
    for entry in listed:
        if entry.name in tools:
            continue
        try:
            made = entry.load()()
        except Exception as exc:  # a broken plugin costs its tool, never the run
            LOAD_PROBLEMS.append(f"the load tool {entry.name!r} ({entry.value}) could not be "
                                 f"loaded: {exc}")
            continue
        if getattr(made, "name", None) != entry.name:
            LOAD_PROBLEMS.append(f"the load tool {entry.name!r} ({entry.value}) calls itself "
                                 f"{getattr(made, 'name', None)!r}; the registry line and the "
                                 "tool's name must agree")
            continue
        tools[entry.name] = made
    order = {name: i for i, name in enumerate(_FIRST)}
    return tuple(sorted(tools.values(), key=lambda t: (order.get(t.name, len(order)), t.name)))


def _register_tables(tools: Iterable[LoadTool]) -> None:
    """Each tool's profile table with the settings, and the name its progress event had before
    ToolProgressed with the events' reader of old recordings."""
    for t in tools:
        reader = getattr(t, "read_table", None)
        if callable(reader):
            register_tool_table(t.name, reader)
        legacy = spec_of(t).legacy
        if legacy is not None:
            register_former_name(*legacy)


TOOLS: tuple[LoadTool, ...] = load_tools()
TOOL_NAMES: tuple[str, ...] = tuple(t.name for t in TOOLS)
_register_tables(TOOLS)


def tools_for(profile: Profile) -> list[LoadTool]:
    return [t for t in TOOLS if t.configured(profile)]


def tool(name: str) -> LoadTool:
    return next(t for t in TOOLS if t.name == name)


def label_of(name: str) -> str:
    """How screens and reports name a tool: its label, or its name when it is not installed here."""
    found = next((t for t in TOOLS if t.name == name), None)
    return found.label if found is not None else name


def live_spec(name: str) -> LiveSpec:
    """How a tool's progress is shown: its own LiveSpec, the default for a tool that declares none
    or one this installation does not have (a recording from elsewhere)."""
    found = next((t for t in TOOLS if t.name == name), None)
    return spec_of(found) if found is not None else DEFAULT_SPEC


def live_limits(names: Iterable[str] | None = None) -> list[LiveLimit]:
    """Where the live p95 limit line comes from, for these tools (every registered one if None)."""
    specs = (live_spec(n) for n in (TOOL_NAMES if names is None else names))
    return [spec.limit for spec in specs if spec.limit is not None]


def progress_columns(tools: Iterable[LoadTool] | None = None) -> dict[str, dict[str, str]]:
    """Per tool, the timeline column each ToolProgressed field fills (the recorder's map)."""
    return {t.name: field_columns(t.name, spec_of(t), t.timeline_columns)
            for t in (TOOLS if tools is None else tools)}


def tool_charts(tools: Iterable[LoadTool] | None = None
                ) -> list[tuple[LoadTool, tuple[ChartLine, ...]]]:
    """Per tool, in registry order, the lines it adds to the result view's charts."""
    return [(t, chart_lines(t.name, t.label, spec_of(t), t.timeline_columns))
            for t in (TOOLS if tools is None else tools)]
