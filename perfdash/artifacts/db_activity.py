"""The one reader of db-activity.ndjson, the database sampler's once-a-second record of who holds
the connections and what the busy sessions wait on (perfdash.collect.db_activity writes it; the
diagnosis reads it back).

A line is one sample; a torn last line (a crash) or a line of another shape is skipped, so a
damaged file gives fewer samples, never an error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from perfdash.artifacts.files import read_regular_text
from perfdash.artifacts.paths import RunPaths, run_paths
from perfdash.shape import NUMBER, ListOf, MapOf, Obj, mistyped

# One sample as the diagnosis reads it.
SAMPLE = Obj({"at": NUMBER, "apps": MapOf(MapOf((object,)), nullable=True),
              "waits": MapOf((object,), nullable=True),
              "lock_waits": ListOf((object,), nullable=True)}, required=("at",))


def read_samples(path: Path) -> list[dict[str, Any]]:
    """Every whole sample of the db-activity.ndjson at `path`; [] when it cannot be read."""
    out: list[dict[str, Any]] = []
    try:
        text = read_regular_text(path, errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and mistyped(item, SAMPLE) is None:
            out.append(item)
    return out


def load_db_activity(run: RunPaths | Path) -> list[dict[str, Any]]:
    """Every whole sample of the run's db-activity.ndjson ([] without one: no database sampled)."""
    return read_samples(run_paths(run).db_activity)
