"""Each endpoint group's server p95 over the run's seconds, from server-latency.csv: its typical
second and its worst one, with when. The endpoint table (summary.md, the result view) shows it under
the joined rows, so "the backend was slow at 1:37" names the endpoint that was.

A run-wide p95 per endpoint (the table's `log` rows) hides a minute of trouble in an hour of calm;
the worst second alone would be noise for an endpoint called twice a second, so a second counts
as a window only with at least MIN_REQUESTS requests of that group.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from statistics import median
from typing import Any

from perfdash.analyze.findings import clock
from perfdash.analyze.report_cells import table_cell
from perfdash.artifacts import SERVER_LATENCY_CSV
from perfdash.artifacts.server_latency import load_server_latency
from perfdash.collect.endpoint_groups import OTHER

MIN_REQUESTS = 5
SHOWN = 3  # groups named in a one-line caption, worst first


def read_server_groups(run_dir: Path) -> list[dict[str, Any]]:
    """One entry per group, busiest first (OTHER last); [] without a readable server-latency.csv.

    `seconds`: seconds with requests; `p95_typical_ms`: the median of those seconds' p95;
    `p95_worst_ms` / `worst_at_s`: the highest p95 of a second with MIN_REQUESTS or more (None when
    no second had that many)."""
    per_group: dict[str, list[tuple[float, int, float]]] = {}
    for row in load_server_latency(run_dir):
        per_group.setdefault(row.group, []).append((row.t_s, row.n, row.p95_ms))
    requests = {group: sum(n for _, n, _ in seconds) for group, seconds in per_group.items()}
    out = []
    for group in sorted(per_group, key=lambda g: (g == OTHER, -requests[g], g)):
        seconds = per_group[group]
        windows = [(p95, t) for t, n, p95 in seconds if n >= MIN_REQUESTS]
        worst = max(windows, key=lambda w: (w[0], -w[1])) if windows else None
        out.append({"group": group, "requests": requests[group], "seconds": len(seconds),
                    "p95_typical_ms": round(median(p for _, _, p in seconds), 3),
                    "p95_worst_ms": worst[0] if worst else None,
                    "worst_at_s": worst[1] if worst else None})
    return out


def _fmt_ms(v: Any) -> str:
    return "–" if not isinstance(v, int | float) else f"{v:,.1f} ms" if v < 100 else f"{v:,.0f} ms"


def _clock(t: Any) -> str:
    return clock(t) if isinstance(t, int | float) and math.isfinite(t) else "–"


def _groups(endpoints: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The entries a summary.json holds, damaged ones left out (summary.json may be edited or cut)."""
    found = (endpoints or {}).get("server_groups") if isinstance(endpoints, Mapping) else None
    return [g for g in found or [] if isinstance(g, Mapping) and isinstance(g.get("group"), str)] \
        if isinstance(found, list) else []


def server_groups_markdown(endpoints: Mapping[str, Any] | None) -> list[str]:
    groups = _groups(endpoints)
    if not groups:
        return []
    lines = [f"Server request time p95 per second, by endpoint group ({SERVER_LATENCY_CSV}; a worst "
             f"second needs {MIN_REQUESTS}+ requests):", "",
             "| group | requests | seconds | typical p95 | worst p95 | at |",
             "|---|---:|---:|---:|---:|---:|"]
    for g in groups:
        cells = [table_cell(g["group"]), table_cell(g.get("requests", "–")),
                 table_cell(g.get("seconds", "–")), _fmt_ms(g.get("p95_typical_ms")),
                 _fmt_ms(g.get("p95_worst_ms")), _clock(g.get("worst_at_s"))]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def worst_seconds_line(endpoints: Mapping[str, Any] | None) -> str | None:
    """`server p95, worst second: /api/x 410 ms at 1:37 (typically 12 ms); ...`, or None."""
    ranked = sorted((g for g in _groups(endpoints) if isinstance(g.get("p95_worst_ms"), int | float)),
                    key=lambda g: -float(g["p95_worst_ms"]))[:SHOWN]
    if not ranked:
        return None
    return "server p95, worst second: " + "; ".join(
        f"{g['group']} {_fmt_ms(g['p95_worst_ms'])} at {_clock(g.get('worst_at_s'))} "
        f"(typically {_fmt_ms(g.get('p95_typical_ms'))})" for g in ranked)
