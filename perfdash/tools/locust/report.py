"""Locust's CSV statistics read back: `locust-<profile>_stats.csv` (one row per request type and
name, and the `Aggregated` row), `_failures.csv` (failures by message) and, when the run was cut
short before Locust wrote its final stats, the last row of `_stats_history.csv`.

Times are milliseconds; Locust writes `N/A` for a percentile without a sample.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from perfdash.artifacts import read_regular_text
from perfdash.tools.base import EndpointRow, LatencyRow

AGGREGATED = "Aggregated"


def _float(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if math.isfinite(value) else None  # NaN is no measurement


def _int(text: str | None) -> int:
    value = _float(text)
    return int(value) if value is not None else 0


@dataclass(frozen=True)
class StatsRow:
    """One line of `_stats.csv`: a request name (or the aggregate) with its counts and times."""

    method: str
    name: str
    requests: int
    failures: int
    avg_ms: float | None
    min_ms: float | None
    max_ms: float | None
    rps: float | None
    percentiles: dict[str, float | None] = field(default_factory=dict)  # "50%" -> ms

    def pct(self, p: str) -> float | None:
        return self.percentiles.get(p)

    @property
    def fail_ratio(self) -> float | None:
        return self.failures / self.requests if self.requests else None


@dataclass(frozen=True)
class LocustResults:
    rows: tuple[StatsRow, ...]
    total: StatsRow
    failures: tuple[tuple[str, str, int], ...]  # (name, error, occurrences)
    partial: bool = False  # from the live history: the final statistics were never written

    def latency_rows(self) -> list[LatencyRow]:
        t = self.total
        stats = {"avg": t.avg_ms, "min": t.min_ms, "med": t.pct("50%"), "p90": t.pct("90%"),
                 "p95": t.pct("95%"), "p99": t.pct("99%"), "max": t.max_ms}
        return [LatencyRow("Locust", "response_time", stats, t.requests)]

    def endpoints(self) -> list[EndpointRow]:
        return [EndpointRow("locust", r.name, url=r.name if r.name.startswith("/") else None,
                            tag="name", requests=r.requests, p50=r.pct("50%"), p95=r.pct("95%"),
                            p99=r.pct("99%"), errors=r.failures)
                for r in self.rows]


def _row(rec: dict[str, str]) -> StatsRow:
    pcts = {k: _float(v) for k, v in rec.items() if k and k.endswith("%")}
    return StatsRow(rec.get("Type") or "", rec.get("Name") or "", _int(rec.get("Request Count")),
                    _int(rec.get("Failure Count")), _float(rec.get("Average Response Time")),
                    _float(rec.get("Min Response Time")), _float(rec.get("Max Response Time")),
                    _float(rec.get("Requests/s")), pcts)


def _records(path: Path) -> list[dict[str, str]] | None:
    try:
        text = read_regular_text(path, errors="replace")
    except OSError:
        return None
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines = lines[:-1]  # half-written by a killed run
    return list(csv.DictReader(io.StringIO("".join(lines))))


def _from_history(path: Path) -> StatsRow | None:
    """The aggregate so far from the last complete history row (cumulative counts and mean;
    its percentiles cover only Locust's recent window)."""
    recs = [r for r in _records(path) or [] if r.get("Name") == AGGREGATED]
    if not recs:
        return None
    last = recs[-1]
    pcts = {k: _float(v) for k, v in last.items() if k and k.endswith("%")}
    return StatsRow("", AGGREGATED, _int(last.get("Total Request Count")),
                    _int(last.get("Total Failure Count")),
                    _float(last.get("Total Average Response Time")),
                    _float(last.get("Total Min Response Time")),
                    _float(last.get("Total Max Response Time")), _float(last.get("Requests/s")), pcts)


def read_locust(run_dir: Path, profile_name: str) -> tuple[LocustResults | None, str | None]:
    """The final statistics, else the live history so far; None with the reason when neither."""
    prefix = f"locust-{profile_name}"
    stats = _records(run_dir / f"{prefix}_stats.csv")
    failures = tuple((r.get("Name") or "", r.get("Error") or "", _int(r.get("Occurrences")))
                     for r in _records(run_dir / f"{prefix}_failures.csv") or [])
    if stats:
        rows = [_row(r) for r in stats]
        total = next((r for r in rows if r.name == AGGREGATED and not r.method), None)
        if total is not None:
            return LocustResults(tuple(r for r in rows if r is not total), total, failures), None
    history = _from_history(run_dir / f"{prefix}_stats_history.csv")
    why = f"Locust wrote no final statistics ({prefix}_stats.csv)"
    if history is not None:
        return LocustResults((), history, failures, partial=True), f"{why}; using its live history"
    return None, f"{why} and no live history: it did not start its load"
