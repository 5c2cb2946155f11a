"""The one reader of a finished run's events.ndjson, the recording of every event the run
published (perfdash.timeline/run write it; `show --replay` and the UI tests play it back).

Records come back as decoded JSON objects; turning them into events is the follower's business
(perfdash.follow.records), so this package stays below everything that knows the vocabulary.
A live run's growing file is tailed by perfdash.follow, not read here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from perfdash.artifacts.errors import UnreadableArtifact
from perfdash.artifacts.files import open_regular
from perfdash.artifacts.paths import RunPaths, run_paths


class EventsError(UnreadableArtifact):
    """events.ndjson is missing or cannot be read."""


def events_file(location: RunPaths | Path) -> Path:
    """A run directory (or its RunPaths) or an events.ndjson file, as the events file."""
    if isinstance(location, Path) and not location.is_dir():
        return location
    return run_paths(location).events


def load_event_records(location: RunPaths | Path) -> list[dict[str, Any]]:
    """Every whole record, in order; a line cut short by a kill is skipped. Raises EventsError."""
    path = events_file(location)
    out: list[dict[str, Any]] = []
    try:
        with open_regular(path) as f:
            for line in f:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    out.append(record)
    except FileNotFoundError:
        raise EventsError(path, f"{path.name} is missing",
                          "pass the directory of a run recorded by this perfdash", missing=True) from None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else f"not UTF-8 text (byte {exc.start})"
        raise EventsError(path, f"{path.name} cannot be read: {why}", "") from None
    return out
