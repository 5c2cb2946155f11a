"""The one reader of server-latency.csv, the backend's request time per second per endpoint group
(perfdash.timeline.server_latency writes it; the endpoint tables' per-group windows read it)."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from perfdash.artifacts.files import open_regular
from perfdash.artifacts.paths import RunPaths, run_paths

HEADER = ("t_s", "group", "n", "p50_ms", "p95_ms", "p99_ms")


@dataclass(frozen=True)
class GroupSecond:
    """One second of one endpoint group: its requests with a time and their p95."""

    t_s: float
    group: str
    n: int
    p95_ms: float


def _number(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def load_server_latency(run: RunPaths | Path) -> list[GroupSecond]:
    """Every whole row, in file order; [] when the file is missing or unreadable (a run whose logs
    gave no request times has none). A half-written last line or a damaged row is left out."""
    rows: list[GroupSecond] = []
    try:
        with open_regular(run_paths(run).server_latency, newline="", errors="replace") as f:
            for row in csv.DictReader(f):
                t, n, p95 = _number(row.get("t_s")), _number(row.get("n")), _number(row.get("p95_ms"))
                group = row.get("group")
                if t is None or n is None or p95 is None or not group:
                    continue
                rows.append(GroupSecond(t, group, int(n), p95))
    except (OSError, csv.Error):
        return []
    return rows
