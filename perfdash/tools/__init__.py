"""The load tools perfdash can drive, each behind the `LoadTool` seam (`perfdash.tools.base`).

A new tool is one package beside `k6/` and `artillery/` and one entry in `TOOLS`; the config schema
and the UI panes are the only other places that name a tool.
"""

from __future__ import annotations

from perfdash.settings import Profile
from perfdash.tools.artillery import ArtilleryTool
from perfdash.tools.base import LoadTool
from perfdash.tools.k6 import K6Tool

TOOLS: tuple[LoadTool, ...] = (K6Tool(), ArtilleryTool())
TOOL_NAMES: tuple[str, ...] = tuple(t.name for t in TOOLS)


def tools_for(profile: Profile) -> list[LoadTool]:
    return [t for t in TOOLS if t.configured(profile)]


def tool(name: str) -> LoadTool:
    return next(t for t in TOOLS if t.name == name)
