"""The one reader of db-activity.ndjson, the database sampler's once-a-second record of who holds
the connections and what the busy sessions wait on (perfdash.collect.db_activity writes it; the
diagnosis reads it back).

A line is one sample; a torn last line (a crash) or a line of another shape is skipped, so a
damaged file gives fewer samples, never an error. Each sample comes back typed and normalised (a
count that is not an integer, a lock waiter that is not an object, are left out here), so what
reads it never checks a type again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict

from perfdash.artifacts.files import read_regular_text
from perfdash.artifacts.paths import RunPaths, run_paths
from perfdash.shape import NUMBER, ListOf, MapOf, Obj, mistyped

# One sample as the diagnosis reads it.
SAMPLE = Obj({"at": NUMBER, "apps": MapOf(MapOf((object,)), nullable=True),
              "waits": MapOf((object,), nullable=True),
              "lock_waits": ListOf((object,), nullable=True)}, required=("at",))


class ActivitySample(TypedDict):
    """One second of the database: `apps` connections per owner by state, `waits` busy sessions
    per wait event, `lock_waits` each session waiting on a lock (its query, app, relation and
    blockers, as perfdash.collect.db_activity writes them)."""

    at: float
    apps: dict[str, dict[str, int]]
    waits: dict[str, int]
    lock_waits: list[dict[str, Any]]


def _counts(value: object) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {str(k): int(v) for k, v in value.items() if isinstance(v, int)}


def _sample(item: dict[str, Any]) -> ActivitySample:
    apps = item.get("apps")
    return ActivitySample(
        at=float(item["at"]),
        apps={str(g): _counts(states) for g, states in (apps if isinstance(apps, dict) else {}).items()
              if isinstance(states, dict)},
        waits=_counts(item.get("waits")),
        lock_waits=[w for w in item.get("lock_waits") or [] if isinstance(w, dict)])


def read_samples(path: Path) -> list[ActivitySample]:
    """Every whole sample of the db-activity.ndjson at `path`; [] when it cannot be read."""
    out: list[ActivitySample] = []
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
            out.append(_sample(item))
    return out


def load_db_activity(run: RunPaths | Path) -> list[ActivitySample]:
    """Every whole sample of the run's db-activity.ndjson ([] without one: no database sampled)."""
    return read_samples(run_paths(run).db_activity)
