"""Finding a tool's binary: an explicit override first, then the places a user's project would
keep it, then PATH. Each tool package lists its own places; this module holds what they share
(Node.js, which Artillery runs on, and the location result).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from perfdash.tools.base import ToolLocation, version_of


def find_node() -> ToolLocation:
    path = shutil.which("node")
    fix = "install Node.js 20 or newer (`apt-get install nodejs npm`)"
    if path is None:
        return ToolLocation("node", None, None, "node is not installed", fix)
    version, err = version_of([path, "--version"])
    if err:
        return ToolLocation("node", Path(path), None, f"node does not run: {err}", fix)
    return ToolLocation("node", Path(path), version, None, None, "PATH")


def first_existing(candidates: list[tuple[Path | None, str]]) -> tuple[Path, str] | None:
    """The first candidate path that exists, with the words for where it came from."""
    for path, how in candidates:
        if path is not None and path.exists():
            return path, how
    return None
