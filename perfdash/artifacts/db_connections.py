"""The one reader of db-connections.csv, the database sampler's once-a-second count of connections
against max_connections (perfdash.collect.database writes it; the connections check reads it)."""

from __future__ import annotations

import csv
from pathlib import Path

from perfdash.artifacts.errors import UnreadableArtifact
from perfdash.artifacts.files import open_regular
from perfdash.artifacts.paths import RunPaths, run_paths


class DbConnectionsError(UnreadableArtifact):
    """db-connections.csv is missing or cannot be read as csv."""


def load_db_connections(run: RunPaths | Path, path: Path | None = None) -> list[tuple[int, int]]:
    """(connections in use, max_connections) of every whole sample, in order; a row cut short by a
    kill is left out. Raises DbConnectionsError when the file is missing or not csv text."""
    path = path or run_paths(run).db_connections
    try:
        with open_regular(path, newline="", errors="replace") as f:
            return [(int(r["total"]), int(r["max_connections"])) for r in csv.DictReader(f)
                    if str(r.get("total") or "").isdigit()
                    and str(r.get("max_connections") or "").isdigit()]
    except FileNotFoundError:
        raise DbConnectionsError(path, f"{path.name} is missing", "", missing=True) from None
    except OSError as exc:
        raise DbConnectionsError(path, f"{path.name} cannot be read: {exc.strerror}", "") from None
    except csv.Error as exc:
        raise DbConnectionsError(path, f"{path.name} is damaged ({exc})") from None
