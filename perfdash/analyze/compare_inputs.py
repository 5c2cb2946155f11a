"""One side of a comparison read from its run directory: the summary, the raw figures each source
offers (the load tools' reports, metrics.csv, the access log, the database report), why a figure
could not be read, and the timeline windows and counts the verdicts are tested on.

Apart from the decision rule (perfdash.analyze.compare) because reading a run must survive any
damaged or missing file with a reason, while the rule may assume clean numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfdash.analyze.compare_result import CompareError
from perfdash.analyze.host import percentile, read_metrics
from perfdash.analyze.host_groups import backend_series, with_backend_host_columns
from perfdash.analyze.judge import Better, RunSeries, pool
from perfdash.artifacts import (
    METRICS_CSV,
    QUERY_ANALYSIS_JSON,
    RunPaths,
    SummaryError,
    artifact_path,
    load_summary,
    read_applog_endpoints,
    read_query_analysis,
)
from perfdash.artifacts.timeline import read_timeline
from perfdash.collect.latency_buckets import percentile as access_percentile
from perfdash.tools import TOOLS
from perfdash.tools.base import LoadTool

# Raw figures compared besides the checks: (key, label, unit, which direction is better).
METRICS: tuple[tuple[str, str, str, Better], ...] = (
    *((f.key, f.label, f.unit, f.better) for tool in TOOLS for f in tool.figure_specs
      if f.same_as_check != f.key),
    ("host.cpu.p95", "Host CPU p95", "%", "lower"),
    ("host.memory.peak", "Host memory peak", "%", "lower"),
    ("server.p95", "Server request time p95 (access log)", "ms", "lower"),
    ("db.slow_queries", "Database slow queries", "", "lower"),
    ("db.seq_scanned_tables", "Database seq-scanned tables", "", "lower"),
)


@dataclass
class RunSide:
    """What one side offers: its summary (or why not), raw figures, and why some are unreadable."""

    run_id: str
    summary: dict[str, Any] | None
    summary_problem: str
    values: dict[str, float]
    unreadable: dict[str, str]
    series: RunSeries = field(default_factory=RunSeries)


def load_side(run_dir: Path) -> RunSide:
    if not run_dir.is_dir():
        raise CompareError(f"{run_dir} is not a run directory; pass two results/perf/<timestamp> "
                           "directories of finished runs.")
    try:
        data = load_summary(run_dir).data
    except SummaryError as exc:
        if str(exc) == exc.reason:  # the reason says the fix (another version, a damaged field)
            raise CompareError(f"{run_dir} cannot be compared: {exc.reason}.") from None
        why = "the directory is empty" if exc.missing and not any(run_dir.iterdir()) else exc.reason
        raise CompareError(f"{run_dir} cannot be compared: {why}; pass two results/perf/<timestamp> "
                           "directories of finished runs.") from None
    summary: dict[str, Any] | None = data
    run = RunSide(str(data.get("run_id") or run_dir.name), summary, "", {}, {})
    readers: list[tuple[str, Callable[[Path, dict[str, Any] | None], _Reading]]] = [
        (tool.name, _tool_reader(tool)) for tool in TOOLS]
    for source, reader in (*readers, ("host", _host), ("db", _db), ("server", _server)):
        values, reason = reader(run_dir, summary)
        if reason is not None:
            run.unreadable.update({k: reason for k, *_ in METRICS if k.startswith(source + ".")})
        for key, value in values.items():
            if isinstance(value, str):
                run.unreadable[key] = value
            else:
                run.values[key] = value
    counts = dict(run.values)
    for c in data.get("checks") or []:
        number = as_number(c.get("value")) if isinstance(c, dict) else None
        if number is not None:
            counts[str(c["id"])] = number
    timeline, no_timeline = read_timeline(run_dir)
    if timeline is not None:
        timeline = with_backend_host_columns(timeline, run_dir)
    run.series = RunSeries.of(timeline, no_timeline, _exposure_s(data), counts)
    return run


def _exposure_s(summary: dict[str, Any]) -> float:
    """The seconds a count is counted over: the profile's planned load (the same for every run of
    it, where a run's own duration also holds its start-up and wind-down, which vary with the
    machine), else the run's duration; 0 lets the timeline's length decide."""
    profile = ((summary.get("configuration") or {}).get("profile") or {})
    planned = as_number(profile.get("planned_seconds")) if isinstance(profile, dict) else None
    return planned or as_number(summary.get("duration_s")) or 0.0


def pooled_side(runs: Sequence[RunSide]) -> RunSide:
    """A baseline of several runs: the newest one's summary and checks, each figure the median of
    the runs' values (checks too), and their windows and counts pooled for the tests."""
    import statistics

    newest = runs[-1]
    if len(runs) == 1:
        return newest
    values = {k: statistics.median(r.values[k] for r in runs if k in r.values)
              for k in {k for r in runs for k in r.values}}
    summary = dict(newest.summary or {})
    checks = []
    for c in summary.get("checks") or []:
        found = [as_number(x.get("value")) for r in runs for x in (r.summary or {}).get("checks") or []
                 if isinstance(x, dict) and isinstance(c, dict) and x.get("id") == c.get("id")]
        numbers = [v for v in found if v is not None]
        checks.append({**c, "value": statistics.median(numbers)} if numbers and isinstance(c, dict)
                      else c)
    summary["checks"] = checks
    return RunSide(f"{runs[0].run_id}…{newest.run_id} ({len(runs)} runs)", summary,
                newest.summary_problem, values, dict(newest.unreadable),
                pool([r.series for r in runs]))


# (figures, or for a figure the reason it is missing; the reason none can be read at all).
_Reading = tuple[dict[str, float | str], str | None]


def _tool_reader(tool: LoadTool) -> Callable[[Path, dict[str, Any] | None], _Reading]:
    """A load tool's headline figures, read by the tool's own artifact reader."""

    def read(run_dir: Path, summary: dict[str, Any] | None) -> _Reading:
        ran = (summary or {}).get("tools")
        if isinstance(ran, dict) and ran and tool.name not in ran:
            return {}, None  # not part of this run: nothing to read, nothing to say
        profile = str((summary or {}).get("profile") or "")
        if not profile:
            found = sorted(p.name for p in run_dir.glob(f"{tool.name}-*.json")
                           if p.name != f"{tool.name}-config.json")
            profile = (found[0].removeprefix(f"{tool.name}-").removesuffix(".json")
                       if len(found) == 1 else "<profile>")
        figures, problem = tool.figures(run_dir, profile)
        return dict(figures), (problem if not figures else None)

    return read


def _host(run_dir: Path, summary: dict[str, Any] | None) -> _Reading:
    metrics = artifact_path(run_dir, summary, "metrics_csv", METRICS_CSV)
    cpu, mem = backend_series(metrics, "cpu_pct"), backend_series(metrics, "mem_pct")
    if cpu is not None and mem is not None:  # the run measured hosts: the busiest backend host
        if not cpu or not mem:
            return {}, f"no backend host answered in {metrics.name}"
        return {"host.cpu.p95": round(percentile(cpu, 95), 1), "host.memory.peak": max(mem)}, None
    series = read_metrics(metrics)
    if series.error:
        return {}, series.error
    return {"host.cpu.p95": round(percentile(series.cpu, 95), 1),
            "host.memory.peak": max(series.mem)}, None


def _server(run_dir: Path, summary: dict[str, Any] | None) -> _Reading:
    """The backend's own p95 over every route of its access log: a run without k6's
    per-second percentiles still has one judged by windows (timeline `srv_p95_ms`)."""
    if not RunPaths(run_dir).applog_endpoints.exists():
        return {}, None  # no access log followed: nothing to say
    data, problem = read_applog_endpoints(run_dir)
    if data is None:
        return {}, problem
    pooled: Counter[int] = Counter()
    for route in (data.get("routes") or {}).values():
        pooled.update({int(b): int(n) for b, n in (route.get("buckets") or {}).items()})
    p95 = access_percentile(pooled, 95)
    return ({"server.p95": p95}, None) if p95 is not None else ({}, "no request time in the access log")


def _db(run_dir: Path, summary: dict[str, Any] | None) -> _Reading:
    path = artifact_path(run_dir, summary, "query_analysis", QUERY_ANALYSIS_JSON)
    data, problem = read_query_analysis(path)
    if data is None:
        return {}, problem
    out: dict[str, float | str] = {
        "db.seq_scanned_tables": float(len(data.get("sequential_scans") or []))}
    slow = data.get("slow_queries")
    if (data.get("database") or {}).get("pg_stat_statements") and isinstance(slow, list):
        out["db.slow_queries"] = float(len(slow))
    else:
        gaps = [g.get("reason") for g in data.get("not_measured") or [] if isinstance(g, dict)]
        out["db.slow_queries"] = next((str(g) for g in gaps if g), "pg_stat_statements was not available")
    return out, None


def as_number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
